"""Caps with clear answers (hardening): live sessions, messages per payload."""
from __future__ import annotations

import logging
from typing import Any, Callable

import gevent

from socketio_gevent.protocol.framing import encode_message

from .helpers import exchange, handshake, poll_frames, post, ts


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


def counting(serve, **options):  # type: ignore[no-untyped-def]
    """An app that records every message it gets, with the sender's id."""
    served = serve(origins="*:*", **options)
    got: list = []
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: got.append((c.session_id, m))))
    return served, got


def test_a_websocket_client_over_inbound_rate_is_slowed_loses_nothing_and_others_pass(serve, caplog):
    from .wsclient import RawWS

    served, got = counting(serve, inbound_rate=200)
    flooder = RawWS(served.port, "/socket.io/websocket", "rfc6455-13")
    flooder.next_message()  # the session id
    flooder.send_raw(b"".join(flooder.text_frame(encode_message(str(i))) for i in range(600)))
    conn = served.http()
    bystander = handshake(conn)
    with caplog.at_level(logging.WARNING):
        wait_for(lambda: len(got) >= 250)  # the first second's 200 passed, the pace has begun
        assert post(conn, bystander, encode_message("me too")).status == 200
        wait_for(lambda: len(got) == 601, timeout=10)
    from_flooder = [m for sid, m in got if sid != bystander]
    assert from_flooder == [str(i) for i in range(600)]  # all of them, in order
    mine = [i for i, (sid, _) in enumerate(got) if sid == bystander]
    assert len(mine) == 1 and mine[0] < 600  # the bystander was not queued behind the flood
    assert any("inbound_rate (200" in r.getMessage() for r in caplog.records)


def test_posts_over_inbound_rate_are_answered_late_not_refused(serve):
    served, got = counting(serve, inbound_rate=200)
    conn = served.http()
    sid = handshake(conn)
    batch = "".join(encode_message("m") for _ in range(200))
    started = gevent.get_hub().loop.now()
    assert post(conn, sid, batch).status == 200  # one second's worth: at once
    assert post(conn, sid, batch).status == 200  # 200 more: answered once the bucket refilled
    waited = gevent.get_hub().loop.now() - started
    assert len(got) == 400 and waited >= 0.9  # the pace is a floor on time; nothing was dropped


def test_a_listener_that_polls_late_survives_a_flood_bigger_than_any_message_count(serve):
    served = broadcasting(serve, inbound_rate=None)
    conn = served.http()
    late = handshake(conn)
    attacker = handshake(conn)
    burst = "".join(encode_message("x") for _ in range(1000))
    for _ in range(12):  # 12,000 tiny messages: past the 10,000-message count this server used to cut at
        assert post(conn, attacker, burst).status == 200
    gevent.sleep(0.1)
    assert served.sessions.find(late) is not None  # ~1 MB queued for it: inside max_queue_bytes
    frames = poll_frames(conn, late)
    assert len(frames) == 12000 and {f.data for f in frames} == {":x"}  # no annotations, then "x"


def test_past_max_connections_a_new_connection_gets_503_unread_and_websockets_count_until_closed(serve, caplog):
    from gevent import socket

    from .wsclient import RawWS

    served = serve(origins="*:*", max_connections=3)
    gate = served.server.application.gate
    idle = socket.create_connection(("127.0.0.1", served.port))  # connected, says nothing
    ws1 = RawWS(served.port, "/socket.io/websocket", "rfc6455-13")
    ws2 = RawWS(served.port, "/socket.io/websocket", "rfc6455-13")
    ws1.next_message(), ws2.next_message()
    wait_for(lambda: gate.count == 3)
    request = b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with caplog.at_level(logging.WARNING):
        refused = [exchange(served.port, request) for _ in range(3)]
    assert all(r.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 5" in r for r in refused)
    assert refused[0].endswith(b"too many connections: try again later\n")
    assert len([r for r in caplog.records if "max_connections (3)" in r.getMessage()]) == 1  # once a minute
    assert len(served.sessions) == 2  # nothing of the refused requests was read
    ws1.close()  # a taken-over WebSocket gives its place back when its socket closes
    wait_for(lambda: gate.count == 2)
    assert exchange(served.port, request).startswith(b"HTTP/1.1 200 ")
    idle.close()
    ws2.close()
    wait_for(lambda: gate.count == 0)


def test_connections_are_counted_at_accept_before_any_handler_runs(serve):
    """In a burst gevent accepts faster than handler greenlets first run; the
    count must not wait for them, or descriptors run out before a refusal."""
    from gevent import socket

    served = serve(origins="*:*", max_connections=3)
    started = []
    served.server._spawn = lambda *args: started.append(args)  # a hub too busy to start any handler
    held = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(3)]
    wait_for(lambda: len(started) == 3)
    for _ in range(3):  # answered and closed in the accept loop, before anything is sent
        assert exchange(served.port, b"").startswith(b"HTTP/1.1 503 ")
    assert len(started) == 3 and served.server.application.gate.count == 3
    for sock in held:
        sock.close()


def test_max_connections_defaults_below_the_descriptor_limit():
    import resource

    from socketio_gevent import Listener, SocketIOMiddleware

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    limit = SocketIOMiddleware(None, Listener()).gate.limit
    assert limit < soft and limit >= soft - max(128, soft // 100)


def test_a_broadcast_to_many_lets_the_loop_serve_others_between_slices():
    """A broadcast to 19,000 clients held the loop 1.4 s: every other round
    trip waited. It now turns the loop every BROADCAST_SLICE recipients, and
    its caller still goes on only when everyone has the message."""
    from socketio_gevent import Listener, SocketIOMiddleware, TestClient
    from socketio_gevent.api.listener import BROADCAST_SLICE

    listener = Listener()
    SocketIOMiddleware(None, listener)  # the edge: it lends broadcasts the gevent loop
    clients = [TestClient(listener) for _ in range(3 * BROADCAST_SLICE)]
    got = {id(c): [] for c in clients}
    seen = []

    def take() -> int:  # what each client has received so far, counted once
        had = 0
        for c in clients:
            new = c.messages()
            got[id(c)] += new
            had += bool(got[id(c)])
        return had

    def chat() -> None:
        gevent.spawn(lambda: seen.append(take()))  # another connection's work, ready when the broadcast starts
        listener.broadcast("tick")
        seen.append(take())

    gevent.spawn(chat).join(10)
    assert seen == [BROADCAST_SLICE, 3 * BROADCAST_SLICE]  # served after the first slice; then all had it
    assert all([m[0] for m in messages] == ["tick"] for messages in got.values())  # each once
