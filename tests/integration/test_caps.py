"""Caps with clear answers (hardening): live sessions, messages per payload."""
from __future__ import annotations

import logging
from typing import Any, Callable

import gevent

from socketio_gevent.protocol.framing import encode_message

from .helpers import exchange, handshake, post, ts


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not condition():
            gevent.sleep(0.01)


def test_past_max_sessions_a_new_session_gets_503_with_retry_after_on_every_transport(serve, caplog):
    served = serve(origins="*:*", max_sessions=2)
    conn = served.http()
    first, second = handshake(conn), handshake(conn)
    with caplog.at_level(logging.WARNING):
        refused = conn.request("GET", "/socket.io/xhr-polling//%d" % ts())
        upgrade = exchange(served.port, (
            "GET /socket.io/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode("ascii"),
            until=b"\r\n\r\n")
        stream = exchange(served.port, b"GET /socket.io/htmlfile HTTP/1.1\r\nHost: x\r\n\r\n", until=b"\r\n\r\n")
    assert refused.status == 503 and refused.headers["retry-after"] == "5"
    assert refused.body == b"too many sessions: try again later\n"
    assert upgrade.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in upgrade  # never a 101
    assert stream.startswith(b"HTTP/1.1 503")
    lines = [r for r in caplog.records if "max_sessions" in r.getMessage()]
    assert len(lines) == 1  # once a minute, not once a request
    # the live ones are untouched, and an ended one makes room
    assert post(conn, first, encode_message("still here")).status == 200
    assert post(conn, second, "0:0:,").status == 200
    wait_for(lambda: len(served.sessions) < 2)
    assert handshake(conn)


def broadcasting(serve, **options):  # type: ignore[no-untyped-def]
    """An app like the example chat: every message is broadcast to everyone."""
    served = serve(origins="*:*", **options)
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: served.listener.broadcast(m)))
    return served


def test_a_burst_of_tiny_messages_is_refused_at_its_sender_not_at_everyone_elses_queue(serve):
    served = broadcasting(serve)
    conn = served.http()
    listeners = [handshake(conn) for _ in range(3)]
    attacker = handshake(conn)
    burst = "".join(encode_message(str(i % 10)) for i in range(1001))  # 7 KB, 1,001 messages
    answer = post(conn, attacker, burst)
    assert answer.status == 413 and b"at most 1000 messages" in answer.body
    assert post(conn, attacker, "".join(encode_message("x") for _ in range(1000))).status == 200
    gevent.sleep(0.1)
    # 1,000 broadcast messages queued for each listener: well inside the bounds, nobody cut
    assert all(served.sessions.find(sid) is not None for sid in listeners + [attacker])


def test_a_websocket_message_of_too_many_frames_gets_1009(serve):
    from socketio_gevent.websocket import events as ev

    from .wsclient import RawWS

    served = broadcasting(serve, max_payload_messages=10)
    ws = RawWS(served.port, "/socket.io/websocket", "rfc6455-13")
    ws.next_message()
    ws.send_text("".join(encode_message("m") for _ in range(11)))
    closes = [e for e in ws.wait_eof() if isinstance(e, ev.Close)]
    assert closes and closes[0].code == 1009 and "at most 10 messages" in closes[0].reason
