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
from ..transports.common import preflight_headers
from . import client_script, plain_websocket, polling, responses, streaming, websocket
from .handler import SocketIOHandler
from .sessions import SessionTable

if TYPE_CHECKING:  # pragma: no cover
    from ..api.listener import Listener

WSGIApp = Callable[[Dict[str, Any], responses.StartResponse], Iterable[bytes]]

__all__ = ["SocketIOMiddleware"]


def _not_found(environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
    return responses.error(start_response, 404, "not found")


class SocketIOMiddleware:
    def __init__(self, app: Optional[WSGIApp], listener: "Listener") -> None:
        self.app: WSGIApp = app if app is not None else _not_found
        self.listener = listener
        #: The live sessions of ``listener`` served through this middleware.
        self.sessions = SessionTable(listener, listener.options, listener.log)
        listener.on("close", self.sessions.close)
        #: The pywsgi handler class to serve this middleware with.
        self.handler_class: Type[SocketIOHandler] = SocketIOHandler.bound(listener)

    def __call__(self, environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
        listener = self.listener
        route = routing.parse(environ.get("PATH_INFO", ""), listener.options.resource)
        if route is None:
            if plain_websocket.is_upgrade(environ):
                return self._plain_websocket(environ, start_response)
            return self.app(environ, start_response)
        if route.transport == "static":
            return client_script.serve(environ, start_response)
        if route.transport not in listener.options.transports:
            return responses.error(start_response, 404, "transport %s is not enabled" % route.transport)
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
                verdict.origin, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            )
            return responses.respond(start_response, 204, headers)
        if route.transport in POLLING_TRANSPORTS:
            return polling.handle(self.sessions, route, environ, start_response, verdict.origin)
        if route.transport in WEBSOCKET_TRANSPORTS:
            return websocket.handle(self.sessions, route, environ, start_response)
        return streaming.handle(self.sessions, route, environ, start_response, verdict.origin)

    def _plain_websocket(self, environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
        """An upgrade outside the resource: the app gets ``environ["wsgi.websocket"]``."""
        listener = self.listener
        if not listener.origin_policy.check(environ).allowed:
            listener.log.warning("refused websocket %s from origin %r",
                                 environ.get("PATH_INFO"), environ.get("HTTP_ORIGIN"))
            return responses.error(start_response, 403, "origin not allowed")
        return plain_websocket.serve_plain(self.app, environ, start_response, listener.options, listener.log)
