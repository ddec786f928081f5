"""The lean path: a keep-alive poll or send served without pywsgi's WSGI machinery.

Why: a long-polling client makes one HTTP request per delivery at an
ordinary load, so the per-request work is the per-delivery cost. pywsgi
builds a full WSGI environ for every request (a copy of the server's base
environ, thirty-odd keys, an ``Input`` object), checks and encodes each
response header in ``start_response``, formats a ``Date`` header, and
writes the head and the body in two ``sendall`` calls; a profile of the
long-poll benchmark put about a quarter of the server's time there.

What takes this path: a ``GET`` (poll) or ``POST`` (send) over HTTP/1.1 for
an existing session of an enabled polling transport, on a server whose
application is the middleware itself (a user's WSGI wrapper around it
still sees every request, through pywsgi). The request line and headers
are still read and checked by pywsgi and
:mod:`~socketio_gevent.protocol.request_headers` (every limit of the
handler holds); the request then gets an environ of the few keys our
routes read, the middleware's own :meth:`serve_route` answers it, and the
answer goes out as one buffer with a ``Date`` formatted once a second.
Anything else (the handshake, which hands the application a full environ;
``OPTIONS``; HTTP/1.0; a percent-encoded path; a chunked or ``Expect:``
body) takes pywsgi's path, with the same answers.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple

from gevent.pywsgi import format_date_time

from ..protocol import routing
from ..protocol.options import POLLING_TRANSPORTS
from .gate import TICKET_KEY
from .peer import READ_WATCHER_KEY, SOCKET_KEY
from .responses import TIMED_INPUT_KEY, BodyTimeout, error

if TYPE_CHECKING:  # pragma: no cover
    from .handler import SocketIOHandler
    from .middleware import SocketIOMiddleware


class LeanRequest(NamedTuple):
    route: routing.Route
    path: str
    query: str


class _Date:
    """The ``Date`` header line, formatted once a second (RFC 9110 §6.6.1)."""

    __slots__ = ("second", "line")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def now(self) -> bytes:
        t = time.time()
        second = int(t)
        if second != self.second:
            self.second, self.line = second, b"Date: " + _as_bytes(format_date_time(t)) + b"\r\n"
        return self.line


_date = _Date()


def _as_bytes(text: Any) -> bytes:
    return text if isinstance(text, bytes) else str(text).encode("latin-1")


class LeanBody:
    """``wsgi.input`` of a lean ``POST``: its ``Content-Length`` bytes, read
    within ``handshake_timeout`` on the connection's one timer (no timer of
    its own)."""

    __slots__ = ("_handler", "left")

    def __init__(self, handler: "SocketIOHandler", length: int) -> None:
        self._handler = handler
        #: Bytes of the body not read yet.
        self.left = length

    def read(self, size: Optional[int] = -1) -> bytes:
        n = self.left if size is None or size < 0 else min(size, self.left)
        if n <= 0:
            return b""
        try:
            data = self._handler.read_body(n)
        except BodyTimeout:
            self.left = -1  # where the body stands is unknown: the connection must close
            raise
        self.left -= len(data)
        if len(data) < n:
            self.left = -1  # the client ended the connection inside the body
        return data


class LeanPath:
    """Which parsed requests a middleware serves lean, and how."""

    def __init__(self, middleware: "SocketIOMiddleware") -> None:
        self.middleware = middleware
        options = middleware.listener.options
        self.resource = options.resource
        self.prefix = "/" + options.resource + "/"
        self.transports = frozenset(t for t in options.transports if t in POLLING_TRANSPORTS)

    def request_for(self, handler: "SocketIOHandler") -> Optional[LeanRequest]:
        """The lean request ``handler`` has just read, or None: pywsgi's path."""
        if (handler.server.application is not self.middleware or handler.request_version != "HTTP/1.1"
                or handler.close_connection):
            return None  # (``Connection: close``: pywsgi's path says so in its answer, and closes)
        command = handler.command
        if command != "GET" and command != "POST":
            return None
        path, _, query = handler.path.partition("?")
        if not path.startswith(self.prefix) or "%" in path or "EIO=" in query:
            return None
        route = routing.parse(path, self.resource)
        if route is None or not route.sid or route.transport not in self.transports:
            return None
        if self.middleware.relay is not None and route.sid not in self.middleware.sessions.sessions:
            return None  # another process's session, maybe: relayed from pywsgi's path
        headers = handler.headers
        if command == "POST":
            if (handler.content_length is None or headers.get("transfer-encoding") is not None
                    or headers.get("expect") is not None):
                return None
        elif handler.content_length or headers.get("transfer-encoding") is not None:
            return None  # a GET with a body: pywsgi reads it out before the next request
        return LeanRequest(route, path, query)

    def environ(self, handler: "SocketIOHandler", request: LeanRequest) -> Dict[str, Any]:
        """The keys our routes read (the origin check, the query, the body, the socket)."""
        environ: Dict[str, Any] = {
            "REQUEST_METHOD": handler.command,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": handler.server.environ.get("wsgi.url_scheme", "http"),
            SOCKET_KEY: handler.raw_socket,
            TICKET_KEY: handler.ticket,
            READ_WATCHER_KEY: handler.read_watcher,
        }
        environ.update(handler.headers.environ_items())
        if handler.command == "POST":
            environ["CONTENT_LENGTH"] = str(handler.content_length)
            content_type = handler.headers.get("content-type")
            if content_type is not None:
                environ["CONTENT_TYPE"] = content_type
            environ["wsgi.input"] = LeanBody(handler, handler.content_length or 0)
            environ[TIMED_INPUT_KEY] = True
        return environ

    def respond(self, handler: "SocketIOHandler", request: LeanRequest, environ: Dict[str, Any]) -> None:
        """Serve the request and write the answer as one buffer."""
        started: List[Any] = []

        def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = (status, headers)
            return None

        try:
            body = b"".join(self.middleware.serve_route(request.route, environ, start_response))
        except Exception:  # a bug of ours: the client gets a 500, the log the traceback
            self.middleware.listener.log.exception("lean %s %s failed", handler.command, request.path)
            handler.close_connection = True
            started.clear()
            body = b"".join(error(start_response, 500, "internal error", [("Connection", "close")]))
        status, headers = started
        line = ["HTTP/1.1 ", status, "\r\n"]
        said_close = False
        for name, value in headers:
            if len(name) == 10 and name.lower() == "connection" and value.lower() == "close":
                said_close = True
            line += (name, ": ", value, "\r\n")
        body_input = environ.get("wsgi.input")
        if isinstance(body_input, LeanBody) and body_input.left != 0 and not said_close:
            line.append("Connection: close\r\n")  # the next request would start inside the unread body
            said_close = True
        if said_close:
            handler.close_connection = True
        head = "".join(line).encode("latin-1")
        data = head + _date.now() + b"\r\n" + body
        try:
            handler.socket.sendall(data)
        except OSError:
            handler.close_connection = True
            return
        handler.log_written(status, len(data))

