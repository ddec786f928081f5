"""The WSGI middleware: our paths to the transports, the rest to the app.

Modelled on a dispatcher middleware: one class, ``__call__`` either handles
the request or falls through to the wrapped application untouched, so a
Flask or Django app keeps every route of its own.

Example::

    listener = Listener(origins="*:*")
    app = SocketIOMiddleware(flask_app, listener)
    WSGIServer(("127.0.0.1", 8080), app, handler_class=SocketIOHandler).serve_forever()
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from . import http, polling, routing, static, streaming, wsapi, wstransport
from .listener import Listener
from .options import POLLING_TRANSPORTS, WEBSOCKET_TRANSPORTS
from .transports.common import preflight_headers

WSGIApp = Callable[[dict, http.StartResponse], Iterable[bytes]]


def _not_found(environ: dict, start_response: http.StartResponse) -> Iterable[bytes]:
    return http.error(start_response, 404, "not found")


class SocketIOMiddleware:
    def __init__(self, app: Optional[WSGIApp], listener: Listener) -> None:
        self.app: WSGIApp = app if app is not None else _not_found
        self.listener = listener

    def __call__(self, environ: dict, start_response: http.StartResponse) -> Iterable[bytes]:
        listener = self.listener
        route = routing.parse(environ.get("PATH_INFO", ""), listener.options.resource)
        if route is None:
            if wsapi.is_upgrade(environ):
                return self._plain_websocket(environ, start_response)
            return self.app(environ, start_response)
        if route.transport == "static":
            return static.serve_client(environ, start_response)
        if route.transport not in listener.options.transports:
            return http.error(start_response, 404, "transport %s is not enabled" % route.transport)
        verdict = listener.origin_policy.check(environ)
        if not verdict.allowed:
            listener.log.warning(
                "refused %s request from origin %r",
                route.transport,
                environ.get("HTTP_ORIGIN") or environ.get("HTTP_REFERER"),
            )
            return http.error(start_response, 403, "origin not allowed")
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            headers = preflight_headers(
                verdict.origin, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            )
            return http.respond(start_response, 204, headers)
        if route.transport in POLLING_TRANSPORTS:
            return polling.handle(listener, route, environ, start_response, verdict.origin)
        if route.transport in WEBSOCKET_TRANSPORTS:
            return wstransport.handle(listener, route, environ, start_response)
        return streaming.handle(listener, route, environ, start_response, verdict.origin)

    def _plain_websocket(self, environ: dict, start_response: http.StartResponse) -> Iterable[bytes]:
        """An upgrade outside the resource: the app gets ``environ["wsgi.websocket"]``."""
        listener = self.listener
        if not listener.origin_policy.check(environ).allowed:
            listener.log.warning("refused websocket %s from origin %r", environ.get("PATH_INFO"), environ.get("HTTP_ORIGIN"))
            return http.error(start_response, 403, "origin not allowed")
        return wsapi.serve_plain(self.app, environ, start_response, listener.options, listener.log)
