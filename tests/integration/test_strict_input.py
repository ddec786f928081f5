"""Input that could never be sent on is refused where it enters (hardening).

Lone surrogates spelled in JSON, numbers JSON has but no peer can take
back (``1e999``), control characters in headers we echo, and ambiguous
HTTP framing: each gets a clear error (400, a 1007 close, an exception
in the application's own call) and nothing else is lost.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, List

import gevent
import pytest

from socketio_gevent.client import SocketClient
from socketio_gevent.protocol.framing import encode_frame, encode_message
from socketio_gevent.websocket import events as ev

from .helpers import exchange, handshake, post
from .wsclient import RawWS

LONE = encode_frame("1", 'j\n:"\\ud800"')   # a j message whose JSON spells U+D800 alone
HUGE = encode_frame("1", "j\n:1e999")        # JSON, but infinity in Python


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not condition():
            gevent.sleep(0.01)


def collecting(serve):  # type: ignore[no-untyped-def]
    served = serve(origins="*:*")
    got: List[Any] = []
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: got.append(m)))
    return served, got


@pytest.mark.parametrize("bad", [LONE, HUGE])
def test_a_post_with_unsendable_json_is_refused_whole_and_the_session_goes_on(serve, bad):
    served, got = collecting(serve)
    conn = served.http()
    sid = handshake(conn)
    answer = post(conn, sid, encode_message("before") + bad)
    assert answer.status == 400 and b"invalid text under 'j'" in answer.body
    assert got == []  # an HTTP payload is refused whole (§1)
    assert post(conn, sid, encode_message("after")).status == 200
    assert got == ["after"]


@pytest.mark.parametrize("bad", [LONE, HUGE])
def test_a_websocket_message_with_unsendable_json_gets_1007(serve, bad):
    served, got = collecting(serve)
    ws = RawWS(served.port, "/socket.io/websocket", "rfc6455-13")
    ws.next_message()
    ws.send_text(encode_message("before"))
    ws.send_text(bad)
    closes = [e for e in ws.wait_eof() if isinstance(e, ev.Close)]
    assert closes and closes[0].code == 1007
    assert got == ["before"]


def test_jsonp_d_field_with_a_lone_surrogate_is_400(serve):
    served, got = collecting(serve)
    conn = served.http()
    sid = handshake(conn, "jsonp-polling")
    answer = post(conn, sid, '"\\ud800"', transport="jsonp-polling", field="d")
    assert answer.status == 400 and b"lone surrogate" in answer.body
    assert got == []


def test_the_application_cannot_send_a_lone_surrogate_and_a_broadcast_is_all_or_nothing(serve):
    served = serve(origins="*:*")
    clients = [SocketClient(served.url, transport=t).connect() for t in ("websocket", "xhr-polling")]
    wait_for(lambda: len(served.listener.clients) == 2)
    with pytest.raises(ValueError, match="lone surrogate"):
        served.listener.broadcast("bad \ud800")  # refused before anyone is written to
    with pytest.raises(ValueError, match="lone surrogate"):
        served.listener.broadcast({"nested": ["\udfff"]})
    served.listener.broadcast("fine é")
    for c in clients:
        assert c.receive(timeout=5) == ("fine é", {})
        c.disconnect()


@pytest.mark.parametrize("header", ["Origin", "Access-Control-Request-Headers"])
def test_a_bare_cr_in_an_echoed_header_is_400_not_a_crash(serve, caplog, header):
    served = serve(origins="*:*")
    request = ("OPTIONS /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\n%s: http://a\rb\r\n"
               "Connection: close\r\n\r\n" % header).encode("latin-1")
    with caplog.at_level(logging.WARNING):
        answer = exchange(served.port, request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("value", ["http://a\x01b", "http://a\x7fb"])
def test_other_control_characters_in_origin_are_400(serve, value):
    served = serve(origins="*:*")
    answer = served.http().request("GET", "/socket.io/xhr-polling//1", headers=[("Origin", value)])
    assert answer.status == 400 and b"control character in the Origin header" in answer.body


@pytest.mark.parametrize("headers,reason", [
    ("Content-Length: 5\r\nContent-Length: 6\r\n", b"Conflicting Content-Length"),
    ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"Both Content-Length and Transfer-Encoding"),
    ("Content-Length: +5\r\n", b"Content-Length is not a decimal"),
])
def test_ambiguous_framing_is_400_and_the_leftover_is_never_a_second_request(serve, headers, reason):
    served, got = collecting(serve)
    sid = handshake(served.http())
    body = "data=" + encode_message("smuggled?")
    smuggled = "GET /socket.io/xhr-polling//2 HTTP/1.1\r\nHost: x\r\n\r\n"
    request = ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n%s\r\n%s%s"
               % (sid, headers, body, smuggled)).encode("ascii")
    answer = exchange(served.port, request)
    assert answer.startswith(b"HTTP/1.1 400") and b"Connection: close" in answer, (reason, answer)
    assert answer.count(b"HTTP/1.1") == 1  # the connection closed: nothing after it was served
    assert got == []


def test_bad_requests_are_logged_once_a_minute_with_a_count():
    """An attacker opens bad requests faster than a log should grow."""
    from gevent.pywsgi import WSGIServer

    import socketio_gevent

    class Lines(list):
        def write(self, text: str) -> None:
            self.append(text)

        def flush(self) -> None:
            pass

    lines = Lines()
    server = WSGIServer(("127.0.0.1", 0), None, log=None, error_log=lines)
    listener = socketio_gevent.listen(server, origins="*:*", flash_policy_server=False)
    server.start()
    try:
        bad = b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
        for _ in range(5):
            assert exchange(server.server_port, bad).startswith(b"HTTP/1.1 400")
    finally:
        listener.close()
        server.stop(timeout=1)
    said = [line for line in lines if "Conflicting Content-Length" in line]
    assert len(said) == 1 and "(1 bad request(s) since the last such line)" in said[0]
    assert "socket object" in said[0] or "<gevent" in said[0]  # the peer's socket, not a wrapper's repr
