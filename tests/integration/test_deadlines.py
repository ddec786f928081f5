"""Deadlines on what a peer controls (hardening): the whole request head and
the whole body, not each read. A peer that sends one byte every 0.2 s under
a 0.5 s deadline must be cut at about 0.5 s, with a clear answer."""
from __future__ import annotations

import logging
import time
from typing import Tuple

import gevent
import pytest
from gevent import socket

from socketio_gevent.protocol.framing import encode_message

from .helpers import handshake


def trickle(port: int, head: bytes, drip: bytes, every: float = 0.2, limit: float = 5.0) -> Tuple[bytes, float]:
    """Send ``head``, then ``drip`` a byte at a time; what came back and after how long."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(head)
    started = time.monotonic()
    answer = b""

    def drip_bytes() -> None:
        for i in range(len(drip)):
            gevent.sleep(every)
            try:
                sock.sendall(drip[i:i + 1])
            except OSError:
                return

    dripper = gevent.spawn(drip_bytes)
    sock.settimeout(limit)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    except (socket.timeout, OSError):
        pass
    took = time.monotonic() - started
    dripper.kill()
    sock.close()
    return answer, took


@pytest.mark.parametrize("head,drip", [
    (b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\n", b"X-Slow: " + b"a" * 40),         # headers trickle
    (b"GET /socket.io/xhr-polling//", b"1" * 40),                                    # the request line trickles
])
def test_a_head_that_trickles_in_is_cut_at_the_deadline(serve, head, drip):
    served = serve(handshake_timeout=0.5)
    answer, took = trickle(served.port, head, drip)
    assert took < 2.0, "held %.1f s: the deadline is per read, not for the whole head" % took
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 ")
    assert served.http().request("GET", "/plain").status == 200  # a prompt client is served


def test_a_body_that_stops_half_way_gets_408_at_the_deadline_and_one_log_line_a_minute(serve, caplog):
    served = serve(handshake_timeout=0.5, origins="*:*")
    sid = handshake(served.http())
    body = b"data=" + encode_message("x" * 50).encode()
    head = ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n" % (sid, len(body))).encode()
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            answer, took = trickle(served.port, head + body[:10], body[10:], every=0.3)
            assert took < 2.0
            assert answer.startswith(b"HTTP/1.1 408 ") and b"request body not complete in time" in answer
    assert len([r for r in caplog.records if "POST body for session" in r.getMessage()]) == 1


def test_a_prompt_keep_alive_client_is_never_cut(serve):
    served = serve(handshake_timeout=0.5, origins="*:*")
    conn = served.http()
    for _ in range(3):  # idle between requests for less than the deadline, many times over
        handshake(conn)
        gevent.sleep(0.3)
    assert handshake(conn)


def open_stream(port: int, rcvbuf: int = 0):  # type: ignore[no-untyped-def]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /socket.io/xhr-multipart HTTP/1.1\r\nHost: x\r\n\r\n")
    seen = b""
    with gevent.Timeout(5):  # the sid frame in the body (a Date header may hold "03:24:" too)
        while b"\r\n\r\n" not in seen or b"3:24:" not in seen.split(b"\r\n\r\n", 1)[1]:
            seen += sock.recv(4096)
    body = seen.split(b"\r\n\r\n", 1)[1]
    sid = body.split(b"3:24:", 1)[1][:24].decode()
    return sock, sid


def test_a_stream_whose_client_closed_is_noticed_at_once(serve):
    served = serve(origins="*:*")
    sock, sid = open_stream(served.port)
    session = served.sessions.find(sid)
    assert session is not None and session.machine.connection is not None
    sock.close()
    started = time.monotonic()
    with gevent.Timeout(3):  # the heartbeat comes after 10 s: this is the peer watch
        while session.machine.connection is not None:
            gevent.sleep(0.01)
    assert time.monotonic() - started < 1.0
    assert served.sessions.find(sid) is not None  # the session waits for its client, as after any cut


def test_a_stream_reader_that_stops_reading_is_cut_at_the_write_deadline(serve):
    served = serve(origins="*:*", write_timeout=0.5, stream_limit=1 << 30, max_queue_bytes=1 << 30)
    sock, sid = open_stream(served.port, rcvbuf=4096)  # and never read again
    session = served.sessions.find(sid)
    client = served.listener.clients[sid]
    started = time.monotonic()
    with gevent.Timeout(10):
        while session.machine.connection is not None:
            client.send("x" * 65536)  # fills the socket buffers, then a write blocks
            gevent.sleep(0.05)
    assert time.monotonic() - started < 5.0
    other = served.http()  # the server kept serving everyone else meanwhile
    assert handshake(other)
    sock.close()
