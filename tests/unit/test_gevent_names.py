"""Every gevent name we rely on that gevent does not promise to keep.

setup.cfg pins gevent to the range this suite has run on; these checks
fail loudly, naming the name, if a gevent release inside or outside that
range drops or stops calling one of them (our override would otherwise be
silently ignored, or an upgrade would break at the first request).
"""
from __future__ import annotations

import inspect
import io

import gevent
import gevent.pool
from gevent import pywsgi, socket
from gevent.monkey import get_original

from socketio_gevent.edge.handler import SocketIOHandler


def _source(fn: object) -> str:
    return inspect.getsource(fn)  # type: ignore[arg-type]


def test_pywsgi_still_calls_the_handler_hooks_we_override():
    handler = pywsgi.WSGIHandler
    # read_requestline: the inline Flash policy peek and the header deadline
    assert "self.read_requestline()" in _source(handler.handle_one_request)
    # read_request: the header deadline's end; MessageClass: our header reader
    assert "self.read_request(" in _source(handler.handle_one_request)
    assert "self.MessageClass(" in _source(handler.read_request)
    # _check_http_version: our fast answer for HTTP/1.1 and 1.0
    assert "self._check_http_version()" in _source(handler.read_request)
    # get_environ, then handle_one_response: where the lean path takes over a polling request
    one = _source(handler.handle_one_request)
    assert one.index("self.get_environ()") < one.index("self.handle_one_response()")
    # _headers: how get_environ turns the header object into HTTP_* keys
    assert "self._headers()" in _source(handler.get_environ)
    assert "self.log_request()" in _source(handler.handle_one_response)
    for name in ("read_requestline", "read_request", "MessageClass", "_headers", "get_environ", "log_request",
                 "_check_http_version", "handle_one_response"):
        assert name in vars(SocketIOHandler), name  # still overridden by us
        assert hasattr(handler, name), "pywsgi.WSGIHandler.%s is gone" % name


def test_pywsgi_still_runs_the_app_and_discards_bodies_as_we_expect():
    handler = pywsgi.WSGIHandler
    # run_application: where we stop pywsgi reading a body nobody will read
    assert "self.run_application()" in _source(handler.handle_one_response)
    assert "self.wsgi_input._discard()" in _source(handler.handle_one_response)
    for name in ("content_length", "chunked_input", "position"):
        assert name in pywsgi.Input.__slots__, "pywsgi.Input.%s is gone" % name
    assert "self.position < (self.content_length or 0) or self.chunked_input" in _source(pywsgi.Input._discard)
    for name in ("run_application", "handle_one_request", "close_connection"):
        assert hasattr(handler, name) or name == "close_connection", name
    assert "close_connection" in _source(handler.read_request)


def test_pywsgi_noop_log_class():
    assert isinstance(pywsgi._NoopLog, type), "pywsgi._NoopLog is gone: log_request would format every line"


def test_an_upgrade_gets_the_raw_reader_as_wsgi_input():
    # edge.connection reads the bytes past the handshake from it, then closes it
    assert "env['wsgi.input'] = self.wsgi_input if handling_reads else self.rfile" in _source(
        pywsgi.WSGIHandler.get_environ)


def test_the_socket_under_a_plain_pywsgi_reader():
    # edge.peer.socket_of finds the request's socket there under pywsgi's own handler
    sock = socket.socket()
    try:
        reader = sock.makefile("rb")
        assert reader.raw._sock is sock
        reader.close()
    finally:
        sock.close()


def test_gevent_sockets_detach_and_the_originals_are_reachable():
    sock = socket.socket()
    fd = sock.detach()
    assert fd >= 0
    import os

    os.close(fd)
    assert get_original("_thread", "_local") is not None
    assert callable(gevent.get_hub().loop.now)
    assert isinstance(io.BufferedReader, type)


def test_a_gevent_socket_holds_a_nonblocking_socket_as_sock():
    # edge.peer.PeerWatch.gone peeks on it with MSG_DONTWAIT: one syscall, no timeout juggling
    a, b = socket.socketpair()
    try:
        raw = a._sock
        assert raw.gettimeout() == 0.0, "gevent's inner socket is no longer non-blocking"
        try:
            raw.recv(1, 0)
            raise AssertionError("an empty non-blocking socket returned from recv")
        except BlockingIOError:
            pass
    finally:
        a.close()
        b.close()


def test_taken_over_sockets_are_c_level_even_under_monkey_patching():
    """gunicorn's workers (and redis-py users) patch ``socket`` before importing
    us; an upgraded socket's writes must still be the C socket's, not gevent's
    Python wrapper around it."""
    import subprocess
    import sys

    code = ("from gevent import monkey; monkey.patch_all()\n"
            "import gevent.socket, socket\n"
            "from socketio_gevent.edge.gate import CountedSocket\n"
            "assert socket.socket is gevent.socket.socket\n"
            "assert not issubclass(CountedSocket, gevent.socket.socket), CountedSocket.__mro__\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_servers_still_spawn_their_handlers_through_spawn():
    # a connection the loop gives back to pywsgi gets its handler greenlet
    # from the server's own spawn (its pool, if it has one)
    assert callable(pywsgi.WSGIServer(("127.0.0.1", 0), None)._spawn)
    pool = gevent.pool.Pool(2)
    assert pywsgi.WSGIServer(("127.0.0.1", 0), None, spawn=pool)._spawn == pool.spawn
