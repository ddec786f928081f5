"""The WSGI middleware: our paths to the transports, the rest to the app.

Modelled on a dispatcher middleware: one class, ``__call__`` either handles
the request or falls through to the wrapped application untouched, so a
Flask or Django app keeps every route of its own. The middleware owns the
live sessions of its listener (:class:`~socketio_gevent.edge.sessions.SessionTable`)
and names the handler class to serve it with.

Example::

    listener = Listener(origins="*:*")
    app = SocketIOMiddleware(flask_app, listener)
    WSGIServer(("127.0.0.1", 8080), app, handler_class=app.handler_class).serve_forever()
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Optional, Type

from ..protocol import routing
from ..protocol.options import POLLING_TRANSPORTS, WEBSOCKET_TRANSPORTS
from ..transports.common import control_character_in, preflight_headers
from . import client_script, plain_websocket, polling, responses, streaming, websocket
from .handler import SocketIOHandler
from .gate import ConnectionGate, default_max_connections
from .lean import LeanPath
from .loop import let_others_run
from .peer import SOCKET_KEY, socket_of
from .redis_backend import RedisBackend
from .relay import Relay
from .sessions import SessionTable
from .throttle import Throttled

if TYPE_CHECKING:  # pragma: no cover
    from ..api.listener import Listener

WSGIApp = Callable[[Dict[str, Any], responses.StartResponse], Iterable[bytes]]

__all__ = ["SocketIOMiddleware"]


#: The answer to an upgrade the WSGI server gives us no socket for (one line, in a 501's body).
NO_SOCKET = ("this server cannot upgrade to WebSocket: its WSGI server hands the application no socket; "
             "under gunicorn run -k socketio_gevent.gunicorn.Worker")

#: The answer to socket.io-client >= 1 (one line: it goes in a 400's body).
NEWER_CLIENT = ("this server speaks the Socket.IO protocol of 2010 (socketio_gevent), not Engine.IO: "
                "socket.io-client 1.x and later cannot connect; use /%s/socket.io.js")


def _not_found(environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
    return responses.error(start_response, 404, "not found")


class SocketIOMiddleware:
    def __init__(self, app: Optional[WSGIApp], listener: "Listener") -> None:
        self.app: WSGIApp = app if app is not None else _not_found
        self.listener = listener
        listener.let_others_run = let_others_run  # broadcasts turn the loop every few hundred sends
        #: The live sessions of ``listener`` served through this middleware.
        self.sessions = SessionTable(listener, listener.options, listener.log)
        listener.on("close", self.sessions.close)
        #: The pywsgi handler class to serve this middleware with.
        #: Open connections against ``max_connections`` (``gate.count``).
        self.gate = ConnectionGate(listener.options.max_connections or default_max_connections(), listener.log)
        self.handler_class: Type[SocketIOHandler] = SocketIOHandler.bound(listener, self.gate, LeanPath(self))
        self._newer_clients = Throttled()
        self._no_socket = Throttled()
        #: Requests for the sessions of other processes go to them (a Redis bus only).
        self.relay: Optional[Relay] = None
        if isinstance(listener.backend, RedisBackend):
            self.relay = Relay(self, listener.backend)

    def __call__(self, environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
        listener = self.listener
        path = environ.get("PATH_INFO", "")
        if "EIO=" in environ.get("QUERY_STRING", "") and routing.under(path, listener.options.resource):
            return self._newer_client(environ, start_response)
        route = routing.parse(path, listener.options.resource)
        if route is None:
            if plain_websocket.is_upgrade(environ):
                return self._plain_websocket(environ, start_response)
            return self.app(environ, start_response)
        if route.transport == "static":
            return client_script.serve(environ, start_response)
        return self.serve_route(route, environ, start_response)

    def serve_route(self, route: routing.Route, environ: Dict[str, Any],
                    start_response: responses.StartResponse) -> Iterable[bytes]:
        """A request for one of our transports (the lean path enters here too)."""
        listener = self.listener
        if route.sid and self.relay is not None and route.sid not in self.sessions.sessions:
            forward = self.relay.route(route.sid)
            if forward is not None:  # another process's session: it answers, through the bus
                if environ.get(SOCKET_KEY) is None:
                    return responses.error(start_response, 503, "this server cannot relay requests "
                                           "(serve it with SocketIOMiddleware's handler_class)")
                return forward
        if route.transport not in listener.options.transports:
            return responses.error(start_response, 404, "transport %s is not enabled" % route.transport)
        bad = control_character_in(environ)
        if bad is not None:
            listener.log.warning("refused %s request: control character in its %s header", route.transport, bad)
            return responses.error(start_response, 400, "control character in the %s header" % bad)
        verdict = listener.origin_policy.check(environ)
        if not verdict.allowed:
            listener.log.warning(
                "refused %s request from origin %r",
                route.transport,
                environ.get("HTTP_ORIGIN") or environ.get("HTTP_REFERER"),
            )
            return responses.error(start_response, 403, "origin not allowed")
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            headers = preflight_headers(
                verdict.origin, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""), verdict.credentials
            )
            return responses.respond(start_response, 204, headers)
        if route.transport in POLLING_TRANSPORTS:
            return polling.handle(self.sessions, route, environ, start_response, verdict)
        if route.transport in WEBSOCKET_TRANSPORTS:
            if socket_of(environ) is None and plain_websocket.is_upgrade(environ):
                return self._cannot_upgrade(environ, start_response)
            return websocket.handle(self.sessions, route, environ, start_response)
        return streaming.handle(self.sessions, route, environ, start_response, verdict)

    def _newer_client(self, environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
        """socket.io-client 1.x and later (Engine.IO, ``EIO=`` in the query): say
        which protocol this is, instead of a 404 page or a 101 it cannot read."""
        count = self._newer_clients.note()
        if count:
            self.listener.log.warning(
                "refused %d request(s) from a newer Socket.IO client (%s?%s): this server speaks the "
                "2010 protocol; serve /%s/socket.io.js to browsers", count,
                environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")[:80], self.listener.options.resource)
        return responses.error(start_response, 400, NEWER_CLIENT % self.listener.options.resource)

    def _cannot_upgrade(self, environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
        """An upgrade under a server that is not gevent.pywsgi (gunicorn's plain
        gevent worker): a clear 501, and the worker to use in the log, instead
        of the server's 500 traceback; the browser client falls back to polling."""
        count = self._no_socket.note()
        if count:
            self.listener.log.warning("refused %d WebSocket upgrade(s) (%s): %s", count,
                                      environ.get("PATH_INFO", ""), NO_SOCKET)
        return responses.error(start_response, 501, NO_SOCKET)

    def _plain_websocket(self, environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
        """An upgrade outside the resource: the app gets ``environ["wsgi.websocket"]``."""
        listener = self.listener
        bad = control_character_in(environ)
        if bad is not None:
            listener.log.warning("refused websocket %s: control character in its %s header",
                                 environ.get("PATH_INFO"), bad)
            return responses.error(start_response, 400, "control character in the %s header" % bad)
        if not listener.origin_policy.check(environ).allowed:
            listener.log.warning("refused websocket %s from origin %r",
                                 environ.get("PATH_INFO"), environ.get("HTTP_ORIGIN"))
            return responses.error(start_response, 403, "origin not allowed")
        if socket_of(environ) is None:
            return self._cannot_upgrade(environ, start_response)
        return plain_websocket.serve_plain(self.app, environ, start_response, listener.options, listener.log)
