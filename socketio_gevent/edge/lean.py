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

After a lean answer the connection leaves pywsgi for the loop
(:mod:`~socketio_gevent.edge.keepalive`), which serves its later lean
requests through :meth:`LeanPath.route_for` and :meth:`LeanPath.serve` too.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Set, Tuple

from gevent import pywsgi
from gevent.pywsgi import format_date_time

from ..protocol import routing
from ..protocol.options import POLLING_TRANSPORTS
from ..protocol.request_headers import RequestHeaders
from .gate import TICKET_KEY
from .peer import READ_WATCHER_KEY, SOCKET_KEY
from .polling import Held
from .responses import TIMED_INPUT_KEY, BodyTimeout, error

if TYPE_CHECKING:  # pragma: no cover
    from .handler import SocketIOHandler
    from .keepalive import KeepAlive
    from .middleware import SocketIOMiddleware


#: pywsgi's stand-in when the server was given ``log=None``.
NOOP_LOG: Any = getattr(pywsgi, "_NoopLog", ())


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
        #: How long a kept-alive connection waits for its next request.
        self.idle_timeout: Optional[float] = options.handshake_timeout
        self.log = middleware.listener.log
        #: The connections the loop serves between requests (:mod:`~socketio_gevent.edge.keepalive`).
        self.parked: Set["KeepAlive"] = set()
        middleware.listener.on("close", self.close_parked)

    def close_parked(self, *args: Any) -> None:
        """The listener closed: so do the connections the loop serves (pywsgi's are the server's)."""
        for connection in list(self.parked):
            connection.close()

    def keep_alive(self, handler: "SocketIOHandler") -> bool:
        """After a lean answer: hand the connection to the loop until its next
        request (:mod:`~socketio_gevent.edge.keepalive`), if this server can."""
        if handler.socket is None or handler.rfile.closed:
            return False
        from .keepalive import park  # (it imports this module)
        park(handler, self)
        return True

    @staticmethod
    def url_scheme(server: Any) -> str:
        return server.environ.get("wsgi.url_scheme", "http")  # type: ignore[no-any-return]

    @staticmethod
    def access_log(server: Any) -> Any:
        """Where the server writes its access log, or None (``log=None``)."""
        log = server.log
        return None if isinstance(log, NOOP_LOG) else log

    def request_for(self, handler: "SocketIOHandler") -> Optional[LeanRequest]:
        """The lean request ``handler`` has just read, or None: pywsgi's path."""
        if (handler.server.application is not self.middleware or handler.request_version != "HTTP/1.1"
                or handler.close_connection):
            return None  # (``Connection: close``: pywsgi's path says so in its answer, and closes)
        return self.route_for(handler.command, handler.path, handler.headers, handler.content_length)

    def route_for(self, command: str, target: str, headers: RequestHeaders,
                  content_length: Optional[int]) -> Optional[LeanRequest]:
        """The lean request an HTTP/1.1 keep-alive request is, or None."""
        if command != "GET" and command != "POST":
            return None
        path, _, query = target.partition("?")
        if not path.startswith(self.prefix) or "%" in path or "EIO=" in query:
            return None
        route = routing.parse(path, self.resource)
        if route is None or not route.sid or route.transport not in self.transports:
            return None
        if self.middleware.relay is not None and route.sid not in self.middleware.sessions.sessions:
            return None  # another process's session, maybe: relayed from pywsgi's path
        if command == "POST":
            if (content_length is None or headers.get("transfer-encoding") is not None
                    or headers.get("expect") is not None):
                return None
        elif content_length or headers.get("transfer-encoding") is not None:
            return None  # a GET with a body: pywsgi reads it out before the next request
        return LeanRequest(route, path, query)

    def environ(self, handler: "SocketIOHandler", request: LeanRequest) -> Dict[str, Any]:
        """The keys our routes read, for a request pywsgi's handler has read."""
        body = LeanBody(handler, handler.content_length or 0) if handler.command == "POST" else None
        environ = lean_environ(handler.command, request, handler.headers, self.url_scheme(handler.server),
                               handler.raw_socket, handler.ticket, body, handler.content_length or 0)
        environ[READ_WATCHER_KEY] = handler.read_watcher
        return environ

    def respond(self, handler: "SocketIOHandler", request: LeanRequest, environ: Dict[str, Any]) -> None:
        """Serve the request and write the answer as one buffer."""
        started: List[Any] = []
        body = self.serve(request, environ, started, handler.command)
        body_input = environ.get("wsgi.input")
        unread = isinstance(body_input, LeanBody) and body_input.left != 0
        data, closes = answer_bytes(started[0], started[1], body, unread)
        if closes:
            handler.close_connection = True
        try:
            handler.socket.sendall(data)
        except OSError:
            handler.close_connection = True
            return
        handler.log_written(started[0], len(data))

    def serve(self, request: LeanRequest, environ: Dict[str, Any], started: List[Any], method: str) -> Any:
        """The middleware's answer to ``request``: its body, or
        :data:`~socketio_gevent.edge.polling.HELD` for a poll the loop holds;
        its status and headers in ``started``. A bug of ours is a 500 and a
        traceback in the log."""
        try:
            result = self.middleware.serve_route(request.route, environ, collector(started))
            return result if isinstance(result, Held) else b"".join(result)
        except Exception:
            self.middleware.listener.log.exception("lean %s %s failed", method, request.path)
            return internal_error(started)


def lean_environ(method: str, request: LeanRequest, headers: RequestHeaders, url_scheme: str, sock: Any,
                 ticket: Any, body: Any, content_length: int) -> Dict[str, Any]:
    """The keys our routes read (the origin check, the query, the body, the
    socket), for pywsgi's lean path and the loop's alike; ``body``: a POST's
    ``wsgi.input``, read within the connection's deadline by its owner."""
    environ: Dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": url_scheme,
        SOCKET_KEY: sock,
        TICKET_KEY: ticket,
    }
    environ.update(headers.kept_environ_items())
    if body is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
        content_type = headers.get("content-type")
        if content_type is not None:
            environ["CONTENT_TYPE"] = content_type
        environ["wsgi.input"] = body
        environ[TIMED_INPUT_KEY] = True
    return environ


def collector(started: List[Any]) -> Any:
    """A ``start_response`` that keeps the status and headers in ``started``."""

    def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = (status, headers)
        return None

    return start_response


def internal_error(started: List[Any]) -> bytes:
    """A 500 that closes the connection, its status and headers in ``started``."""
    return b"".join(error(collector(started), 500, "internal error", [("Connection", "close")]))


def answer_bytes(status: str, headers: List[Tuple[str, str]], body: bytes, unread_body: bool) -> Tuple[bytes, bool]:
    """The whole answer as one buffer, and whether the connection closes after it.

    ``unread_body``: the request's body was not read to its end, so the next
    request would start inside it; the answer says ``Connection: close``.
    """
    line = ["HTTP/1.1 ", status, "\r\n"]
    closes = False
    for name, value in headers:
        if len(name) == 10 and name.lower() == "connection" and value.lower() == "close":
            closes = True
        line += (name, ": ", value, "\r\n")
    if unread_body and not closes:
        line.append("Connection: close\r\n")
        closes = True
    return "".join(line).encode("latin-1") + _date.now() + b"\r\n" + body, closes
