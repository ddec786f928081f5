"""The lean path (socketio_gevent.edge.lean) answers polls and sends exactly
as pywsgi's path does, keeps every connection rule, and is taken only when
the middleware is the server's application.

The reference is the same server with the middleware wrapped in a
pass-through WSGI application: pywsgi's whole path, as a user's wrapper
gets it."""
from __future__ import annotations

import contextlib

from gevent import socket
from typing import Any, Callable, Dict, Iterator, List, Tuple

import gevent
import pytest
from gevent.pywsgi import WSGIServer

import socketio_gevent
from socketio_gevent.edge import lean

from ..conftest import Served, plain_app
from .helpers import handshake, read_all

pytestmark = pytest.mark.timeout(60)


class PassThrough:
    """A user's WSGI wrapper around the middleware: it sees every request."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.paths: List[str] = []

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.paths.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


@pytest.fixture
def lean_calls(monkeypatch) -> List[str]:
    """The requests the lean path answered, from pywsgi's handler or the loop
    (observed, not replaced)."""
    calls: List[str] = []
    serve = lean.LeanPath.serve

    def counted(self, request, environ, started, method):
        calls.append(request.path)
        return serve(self, request, environ, started, method)

    monkeypatch.setattr(lean.LeanPath, "serve", counted)
    return calls


def read_response(sock: socket.socket, buffered: bytes = b"") -> Tuple[str, Dict[str, str], bytes, bytes]:
    """One response (status line, headers by lower-case name, body) and what followed it."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, "connection closed inside a response head: %r" % data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, "header %s twice" % name
        headers[name.lower()] = value.strip()
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(4096)
        assert chunk
        rest += chunk
    return lines[0], headers, rest[:length], rest[length:]


def raw(served: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=10)


def poll_request(sid: str, extra: str = "") -> bytes:
    return ("GET /socket.io/xhr-polling/%s/1 HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1\r\n%s\r\n"
            % (sid, extra)).encode()


def send_request(sid: str, payload: str) -> bytes:
    body = "data=" + payload
    return ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
            % (sid, len(body), body)).encode()


def both(serve) -> Tuple[Served, Served, PassThrough]:
    lean_served = serve(origins="*:*")
    full_served = serve(origins="*:*")
    wrapper = PassThrough(full_served.server.application)
    full_served.server.application = wrapper
    return lean_served, full_served, wrapper


def test_a_poll_and_a_send_get_the_same_answers_on_both_paths(serve, lean_calls):
    lean_served, full_served, wrapper = both(serve)
    answers = []
    for served in (lean_served, full_served):
        sid = handshake(served.http())
        got: List[str] = []
        served.listener.clients[sid].on("message", lambda m, a=None, got=got: got.append(m))
        served.listener.clients[sid].send("hello")
        sock = raw(served)
        sock.sendall(poll_request(sid))
        status, headers, body, rest = read_response(sock)
        sock.sendall(send_request(sid, "1%3A6%3A%3Aworld%2C"))  # 1:6::world,
        status2, headers2, body2, _ = read_response(sock, rest)
        sock.close()
        assert got == ["world"]
        assert headers.pop("date") and headers2.pop("date")  # one each, formatted by either path
        answers.append((status, headers, body, status2, headers2, body2))
    assert answers[0] == answers[1]
    status, headers, body = answers[0][:3]
    assert status == "HTTP/1.1 200 OK" and body == b"1:6::hello,"
    assert headers["access-control-allow-origin"] == "http://127.0.0.1"
    assert answers[0][5] == b"ok"
    # the lean server answered both lean; the wrapper saw its server's (handshake, poll, send)
    assert len(lean_calls) == 2
    assert len(wrapper.paths) == 3


def test_errors_are_the_same_on_both_paths(serve, lean_calls):
    lean_served, full_served, _ = both(serve)
    answers = []
    for served in (lean_served, full_served):
        sock = raw(served)
        sock.sendall(poll_request("nosuchsession"))
        status, headers, body, _ = read_response(sock)
        headers.pop("date")
        answers.append((status, headers, body))
        sock.close()
    assert answers[0] == answers[1]
    assert answers[0][0] == "HTTP/1.1 404 Not Found"
    assert lean_calls == ["/socket.io/xhr-polling/nosuchsession/1"]


def test_pipelined_requests_are_answered_in_order_on_one_connection(serve, lean_calls):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    got: List[str] = []
    served.listener.clients[sid].on("message", lambda m, a=None: got.append(m))
    sock = raw(served)
    sock.sendall(send_request(sid, "1%3A2%3A%3Aa%2C") + send_request(sid, "1%3A2%3A%3Ab%2C"))
    _, _, first, rest = read_response(sock)
    _, _, second, _ = read_response(sock, rest)
    sock.close()
    assert (first, second) == (b"ok", b"ok")
    assert got == ["a", "b"]
    assert len(lean_calls) == 2


def test_a_send_to_an_unknown_session_closes_over_its_unread_body(serve, lean_calls):
    served = serve(origins="*:*")
    sock = raw(served)
    sock.sendall(send_request("nosuchsession", "x" * 100)[:-50])  # half the body: never read
    status, headers, _, _ = read_response(sock)
    assert status == "HTTP/1.1 404 Not Found"
    assert headers["connection"] == "close"
    sock.settimeout(5)
    assert read_all(sock) == b""  # the server closed it: the rest of the body is never taken as a request
    sock.close()
    assert len(lean_calls) == 1


def test_a_body_that_stalls_gets_408_within_handshake_timeout(serve, lean_calls):
    served = serve(origins="*:*", handshake_timeout=0.5)
    sid = handshake(served.http())
    sock = raw(served)
    sock.sendall(send_request(sid, "1%3A2%3A%3Aa%2C")[:-3])
    status, headers, _, _ = read_response(sock)
    assert status == "HTTP/1.1 408 Request Timeout"
    assert headers["connection"] == "close"
    sock.close()
    assert len(lean_calls) == 1


def test_requests_the_lean_path_leaves_to_pywsgi(serve, lean_calls):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    for request in (
        # HTTP/1.0, a percent-encoded path, a GET with a body, a chunked POST, Expect
        ("GET /socket.io/xhr-polling/%s/1 HTTP/1.0\r\n\r\n" % sid).encode(),
        ("GET /socket.io/xhr-polling/%s/%%31 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % sid).encode(),
        ("GET /socket.io/xhr-polling/%s/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab"
         % sid).encode(),
        ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Connection: close\r\n\r\n0\r\n\r\n" % sid).encode(),
        ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
         "Content-Length: 0\r\nConnection: close\r\n\r\n" % sid).encode(),
    ):
        served.listener.clients[sid].send("x")  # a GET poll is answered at once
        sock = raw(served)
        sock.sendall(request)
        assert read_all(sock)[:9] in (b"HTTP/1.1 ", b"HTTP/1.0 ")
        sock.close()
    assert lean_calls == []


def test_a_request_that_asks_to_close_is_answered_so_and_closed(serve, lean_calls):
    """``Connection: close`` takes pywsgi's path, which says so and closes (a
    client that reuses the connection would otherwise meet a reset)."""
    served = serve(origins="*:*")
    sid = handshake(served.http())
    served.listener.clients[sid].send("x")
    sock = raw(served)
    sock.sendall(poll_request(sid, "Connection: close\r\n"))
    status, headers, body, rest = read_response(sock)
    assert status == "HTTP/1.1 200 OK" and body.endswith(b"x,")
    assert headers["connection"] == "close"
    assert rest == b"" and sock.recv(10) == b""
    sock.close()
    assert lean_calls == []


@contextlib.contextmanager
def logging_server() -> Iterator[Tuple[Served, List[str]]]:
    """A server whose access log is a list of lines (the ``serve`` fixture's logs nowhere)."""
    lines: List[str] = []

    class Log:
        def write(self, text: str) -> None:
            lines.append(text)

    server = WSGIServer(("127.0.0.1", 0), plain_app, log=Log())
    listener = socketio_gevent.listen(server, flash_policy_server=False, origins="*:*")
    server.start()
    try:
        yield Served(server, listener, server.server_port), lines
    finally:
        listener.close()
        server.stop(timeout=1)


def test_the_access_log_has_a_line_for_a_lean_request():
    with logging_server() as (served, lines):
        sid = handshake(served.http())
        served.listener.clients[sid].send("x")
        sock = raw(served)
        sock.sendall(poll_request(sid))
        read_response(sock)
        sock.close()
        gevent.sleep(0.05)
        assert any('"GET /socket.io/xhr-polling/%s/1 HTTP/1.1" 200 ' % sid in line for line in lines), lines
