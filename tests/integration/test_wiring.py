"""Explicit wiring: the handler follows its listener whatever wraps the middleware.

The handler class is bound to a listener (``SocketIOMiddleware.handler_class``);
it never looks for one through ``server.application``, so a WSGI wrapper
around the middleware (a logging middleware here) changes nothing: the
handshake deadline and the inline Flash policy still follow the options.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref

import gevent
from gevent import socket
from gevent.pywsgi import WSGIServer

from socketio_gevent import Listener, SocketIOHandler, SocketIOMiddleware
from socketio_gevent.edge import loop, reactor
from socketio_gevent.protocol.flash_policy import POLICY_REQUEST

from ..conftest import plain_app
from .helpers import exchange, read_all


class LoggingMiddleware:
    """What users put around their app: it must not hide the listener."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app
        self.seen = []

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        self.seen.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


def wrapped_server(**options):  # type: ignore[no-untyped-def]
    listener = Listener(flash_policy_server=False, **options)
    middleware = SocketIOMiddleware(plain_app, listener)
    outer = LoggingMiddleware(middleware)
    server = WSGIServer(("127.0.0.1", 0), outer, handler_class=middleware.handler_class, log=None)
    server.start()
    return server, listener, outer


def test_the_handshake_deadline_follows_the_listener_through_a_wrapper():
    server, listener, outer = wrapped_server(handshake_timeout=0.5)
    sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
    sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")  # the rest of the headers never comes
    started = time.monotonic()
    answer = read_all(sock)
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 400")
    assert waited < 3, "the 10 s default applied instead of the listener's 0.5 s (%.1f s)" % waited
    sock.close()
    # and the wrapper still sees the requests that do complete
    assert exchange(server.server_port, b"GET /ok HTTP/1.0\r\n\r\n").endswith(b"app:/ok")
    assert outer.seen == ["/ok"]
    listener.close()
    server.stop()


def test_the_inline_policy_follows_the_listener_through_a_wrapper():
    server, listener, _ = wrapped_server(origins=["chat.example.com:*"])
    reply = exchange(server.server_port, POLICY_REQUEST)
    assert b'domain="chat.example.com"' in reply and b'domain="*"' not in reply
    assert b'to-ports="%d"' % server.server_port in reply
    listener.close()
    server.stop()


def test_an_unbound_handler_refuses_the_policy_and_says_how_to_bind_it(caplog):
    from socketio_gevent.edge import handler

    handler._warned_unbound = False
    listener = Listener(flash_policy_server=False)
    server = WSGIServer(("127.0.0.1", 0), SocketIOMiddleware(plain_app, listener),
                        handler_class=SocketIOHandler, log=None)
    server.start()
    with caplog.at_level(logging.WARNING, logger="socketio_gevent"):
        assert exchange(server.server_port, POLICY_REQUEST) == b""  # no "*" on "*" by default
        exchange(server.server_port, POLICY_REQUEST)
    warnings = [r.getMessage() for r in caplog.records if "not bound to a listener" in r.getMessage()]
    assert len(warnings) == 1 and "handler_class" in warnings[0]
    listener.close()
    server.stop()


def test_loop_helpers_do_not_keep_a_hub_alive():
    """Each thread's hub gets its own helpers; a finished thread's hub is freed."""
    refs = []

    def in_thread() -> None:
        hub = gevent.get_hub()
        refs.append(weakref.ref(hub))
        assert reactor.dispatcher() is reactor.dispatcher()
        assert loop.load_gate() is loop.load_gate()
        assert reactor.dispatcher() is not main_dispatcher
        hub.destroy(destroy_loop=True)

    main_dispatcher = reactor.dispatcher()
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    import gc

    for _ in range(3):
        gc.collect()
    assert refs and refs[0]() is None, "a destroyed hub is still referenced"
    assert reactor.dispatcher() is main_dispatcher
