"""The pywsgi handler: its listener's deadlines, the inline Flash policy, leaner requests.

A handler class is bound to one listener (:meth:`SocketIOHandler.bound`,
which ``listen()`` and :class:`~socketio_gevent.edge.middleware.SocketIOMiddleware`
do), so its deadline and its policy answer follow that listener's options
whatever wraps the middleware. Why a handler at all (pywsgi otherwise does
everything we need):

- The inline Flash policy answer (docs/protocol.rst §4.4): the first bytes
  of every new connection are peeked before HTTP parsing; ``<`` cannot
  start a request line, so nothing HTTP is slowed down by the check.
- TCP_NODELAY on every accepted socket: a keep-alive poll writes a small
  response right after reading a small request, which is the exact pattern
  where Nagle's algorithm and delayed ACKs stall for ~40 ms.
- Request headers read by :mod:`socketio_gevent.protocol.request_headers`
  (pywsgi's ``email``-based parser was 15 % of a long-polling profile).
- ``handshake_timeout`` (§6): a client that opens a connection and sends
  its headers one byte a minute must not hold a greenlet and a socket
  forever. The deadline covers the request line and headers (an idle
  keep-alive connection is closed after it too); the body and long polls
  are not limited by it. Late headers get ``400`` and a logged reason.
- The request's socket in the environ (``socketio_gevent.socket``): an
  upgrade takes it over (``socketio_gevent.edge.connection``).

pywsgi names this module overrides or reads are listed in
``tests/unit/test_gevent_names.py``, which fails if gevent drops one.
"""
from __future__ import annotations

import logging
import socket
import time
from typing import TYPE_CHECKING, Any, Dict, Optional, Type

import gevent
from gevent.pywsgi import WSGIHandler

from ..protocol.flash_policy import POLICY_REQUEST
from ..protocol.request_headers import RequestHeaders
from .flash_server import reply_for
from .gate import TICKET_KEY, ConnectionGate, Ticket, refuse
from .lean import NOOP_LOG, LeanPath, LeanRequest
from .loop import Deadline, close_watcher
from .peer import READ_WATCHER_KEY, SOCKET_KEY
from .relay import Forward
from .responses import BodyTimeout
from .throttle import Throttled

if TYPE_CHECKING:  # pragma: no cover
    from ..api.listener import Listener

#: The deadline of an unbound handler (the default of the option).
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
RFILE_BUFFER = 2048
_log = logging.getLogger("socketio_gevent")
_warned_unbound = False


class _HeadDeadline(Exception):
    """A request's head did not arrive within ``handshake_timeout``."""


def _warn_unbound() -> None:
    global _warned_unbound
    if not _warned_unbound:
        _warned_unbound = True
        _log.warning(
            "SocketIOHandler is not bound to a listener: handshake_timeout is %s s and Flash "
            "policy requests are refused; use SocketIOMiddleware(app, listener).handler_class",
            DEFAULT_HANDSHAKE_TIMEOUT,
        )


class _SendFirstSocket:
    """The accepted socket, with a ``sendall`` that tries one plain ``send`` first.

    gevent's ``sendall`` asks the kernel for the socket's buffer size on every
    call; pywsgi calls it twice per response (headers, then body), and a
    profile of long-polling put 14 % of the server's time in that syscall.
    Everything else is the socket's own.
    """

    __slots__ = ("_socket",)

    def __init__(self, sock: Any) -> None:
        self._socket = sock

    def sendall(self, data: Any, flags: int = 0) -> None:
        sock = self._socket
        sent = sock.send(data, flags)
        if sent < len(data):
            sock.sendall(memoryview(data)[sent:], flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)

    def __repr__(self) -> str:  # pywsgi's error lines start with the socket
        return repr(self._socket)


class SocketIOHandler(WSGIHandler):  # type: ignore[misc]  # gevent ships no types
    #: The listener whose options this handler follows (see :meth:`bound`).
    listener: Optional["Listener"] = None

    #: Its middleware's count of open connections (``max_connections``).
    gate: Optional[ConnectionGate] = None

    #: pywsgi's connection; None once this handler has closed it itself.
    socket: Any

    #: pywsgi's error lines are all about a client's bad request: one a minute.
    client_errors = Throttled()

    #: The middleware's lean path for polling requests (see :mod:`~socketio_gevent.edge.lean`).
    lean: Optional[LeanPath] = None

    @classmethod
    def bound(cls, listener: "Listener", gate: ConnectionGate,
              lean: Optional[LeanPath] = None) -> Type["SocketIOHandler"]:
        """This handler class, following ``listener``'s options and counting at ``gate``;
        ``lean``: its middleware's lean path."""
        return type(cls.__name__, (cls,), {"listener": listener, "gate": gate, "client_errors": Throttled(),
                                           "lean": lean, "__module__": cls.__module__})

    def log_error(self, msg: str, *args: Any) -> None:
        """pywsgi's line for a bad request (late head, bad header …), at most one
        a minute with a count: an attacker opens connections faster than a log
        should grow."""
        count = self.client_errors.note()
        if count:
            try:
                text = msg % args if args else msg
            except (TypeError, ValueError):
                text = "%s %r" % (msg, args)
            super().log_error("%s (%d bad request(s) since the last such line)", text, count)

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a UNIX socket): nothing to tune
        self.raw_socket = sock
        if rfile is None:
            # Request lines and headers fit in 2 KiB reads; bodies and
            # WebSocket reads go around the buffer. pywsgi's default (8 KiB)
            # stays allocated for the connection's whole life.
            rfile = sock.makefile("rb", RFILE_BUFFER)
        self._head_deadline: Optional[Deadline] = None
        self._read_watcher: Any = None
        #: This connection's place at the gate (``max_connections``).
        self.ticket: Optional[Ticket] = None
        #: The request being served on the lean path, if it is one.
        self._lean_request: Optional[LeanRequest] = None
        super().__init__(_SendFirstSocket(sock), address, server, rfile)

    def handle(self) -> None:
        """The connection's whole life: first a place at the listener's gate
        (``max_connections``); a connection past it gets :data:`BUSY`, unread."""
        gate = self.gate
        if gate is None:
            return super().handle()  # type: ignore[no-any-return]
        gate.watch(self.server)  # a server not set up by listen(): counted at accept from now on
        ticket = self.ticket
        if ticket is None:  # (a connection the loop gives back comes with its own)
            ticket = self.ticket = gate.claim(self.raw_socket)
        if ticket is None:
            self._refuse()
            return None
        try:
            return super().handle()  # type: ignore[no-any-return]
        finally:
            if self._head_deadline is not None:
                self._head_deadline.close()
            close_watcher(self._read_watcher)
            if not ticket.moved:
                ticket.release()

    def _refuse(self) -> None:
        self.rfile.close()
        refuse(self.raw_socket)
        self.socket = None

    @property
    def handshake_timeout(self) -> Optional[float]:
        listener = self.listener
        if listener is None:
            _warn_unbound()
            return DEFAULT_HANDSHAKE_TIMEOUT
        return listener.options.handshake_timeout

    def read_requestline(self) -> str:
        # An idle keep-alive connection waits handshake_timeout for its next
        # request, on the connection's one timer: a socket timeout would
        # make gevent build a timer for every read that waits.
        self._start_head_deadline()  # cancelled by read_request, or by handle_one_request on any other way out
        try:
            first = self.rfile.peek(1)[:1]
        except _HeadDeadline:
            return ""  # idle for handshake_timeout: closed quietly
        try:
            if first == b"<":
                return self._answer_policy_request()
            self._start_head_deadline()  # from its first byte, the head has the whole handshake_timeout
            line: str = super().read_requestline()
        except _HeadDeadline:
            self.log_error("request line not complete within handshake_timeout (%s s): closed",
                           self.handshake_timeout)
            return ""  # closed: a request line that trickles in holds nothing for long
        if not line or not line.endswith("\n"):
            return ""  # the connection ended inside the request line: there is no request
        return line

    def run_application(self) -> None:
        try:
            super().run_application()
        finally:
            if self.close_connection and self.wsgi_input is not None:
                # The connection closes after this answer: pywsgi would still
                # read the rest of an unread body first, with no deadline (a
                # body that trickles in would hold the greenlet for ever).
                body = self.wsgi_input
                body.content_length, body.chunked_input = body.position, False

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        """A connection that closes after this answer says so (RFC 9112 §9.6):
        pywsgi closes after ``Connection: close`` without telling the client,
        and a client that reuses the connection meets a reset."""
        if self.close_connection and status[:3] != "101" and not any(
                name.lower() == "connection" for name, _ in headers):
            headers = list(headers) + [("Connection", "close")]
        return super().start_response(status, headers, exc_info)

    def process_result(self) -> None:
        """A request for another process's session (``edge.relay``) is tunnelled
        there: the socket is taken and nothing of pywsgi's is written."""
        result = self.result
        if type(result) is Forward:
            self.close_connection = True
            self.headers_sent = True
            self._record_status(result.run(self))
            return
        super().process_result()

    def handle_one_request(self) -> Any:
        try:
            result = super().handle_one_request()
        finally:  # every path out (a 414 skips read_request): the deadline never outlives its request
            self._cancel_head_deadline()
        if result is True and self._lean_request is not None and not self.close_connection:
            assert self.lean is not None
            close_watcher(self._read_watcher)  # the socket's watchers are the loop's from now on
            self._read_watcher = None
            if self.lean.keep_alive(self):
                self.socket = None  # taken, like an upgrade's: pywsgi's loop ends here
                return None
        return result

    def _start_head_deadline(self) -> None:
        """From a request's first byte, its whole head (line and headers) has
        ``handshake_timeout``: each read's socket timeout alone would let one
        byte every few seconds hold the connection for ever. One timer per
        connection, restarted per request."""
        deadline = self._head_deadline
        if deadline is None:
            timeout = self.handshake_timeout
            if timeout is None:
                return
            deadline = self._head_deadline = Deadline(timeout, _HeadDeadline)
        deadline.start()

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()

    def _answer_policy_request(self) -> str:
        """Flash asks ``<policy-file-request/>\\0`` on the main port too (§4.4)."""
        data = b""
        while len(data) < len(POLICY_REQUEST) and POLICY_REQUEST.startswith(data):
            chunk = self.rfile.read1(len(POLICY_REQUEST) - len(data))
            if not chunk:
                break
            data += chunk
        if data != POLICY_REQUEST:
            # not HTTP either: hand pywsgi the line, it answers 400
            if b"\n" not in data:
                data += self.rfile.readline(8192)
            return data.decode("latin-1")
        listener = self.listener
        if listener is None:
            _warn_unbound()
        else:
            port = getattr(self.server, "server_port", None)
            self.socket.sendall(reply_for([(listener.origin_policy, port)]))
        return ""  # no request: the connection is closed

    def MessageClass(self, fp: Any, *args: Any) -> RequestHeaders:  # noqa: N802 (pywsgi's name)
        """Headers read by :mod:`socketio_gevent.protocol.request_headers`, not the email parser."""
        return RequestHeaders.read(fp.readline)

    def _headers(self) -> Any:
        return self.headers.environ_items()

    def get_environ(self) -> Dict[str, Any]:
        lean = self._lean_request
        if lean is not None:
            assert self.lean is not None
            return self.lean.environ(self, lean)
        environ: Dict[str, Any] = super().get_environ()
        environ[SOCKET_KEY] = self.raw_socket
        environ[TICKET_KEY] = self.ticket
        environ[READ_WATCHER_KEY] = self.read_watcher
        return environ

    def read_watcher(self) -> Any:
        """The connection's read watcher, made at the first request that waits
        (a held poll or a stream watches its client with it)."""
        watcher = self._read_watcher
        if watcher is None:
            watcher = self._read_watcher = gevent.get_hub().loop.io(self.raw_socket.fileno(), 1)
        return watcher

    def handle_one_response(self) -> None:
        lean = self._lean_request
        try:
            if lean is None:
                super().handle_one_response()
                return
            assert self.lean is not None
            self.lean.respond(self, lean, self.environ)
        finally:
            # A session keeps the environ of the request that opened it; the
            # watcher's maker is a method of this handler, and would keep the
            # handler (its buffers, its request) alive as long as the session:
            # 4 KiB more per idle WebSocket.
            self.environ.pop(READ_WATCHER_KEY, None)

    def read_body(self, size: int) -> bytes:
        """``size`` bytes of a lean request's body (fewer at end of file), within
        ``handshake_timeout`` on the connection's one timer."""
        self._start_head_deadline()
        try:
            data: bytes = self.rfile.read(size)
        except _HeadDeadline:
            raise BodyTimeout() from None
        finally:
            self._cancel_head_deadline()
        return data

    def log_written(self, status: str, length: int) -> None:
        """The access-log line of an answer the lean path wrote itself: pywsgi's
        line, from the fields it would have set."""
        if isinstance(self.server.log, NOOP_LOG):
            return
        self._record_status(status)
        self.response_length, self.time_finish = length, time.time()
        super().log_request()

    def _record_status(self, status: str) -> None:
        """The fields pywsgi's access-log line reads, for an answer written past it."""
        self.status, self._orig_status = status.encode("latin-1"), status
        self.code = int(status[:3]) if status[:3].isdigit() else 502

    def log_request(self) -> None:
        """pywsgi formats the access-log line even for a server that logs
        nowhere (5 % of a long-polling profile)."""
        if isinstance(self.server.log, NOOP_LOG):
            return
        super().log_request()

    def _check_http_version(self) -> bool:
        """The two versions every request carries, without pywsgi's parse into a tuple of ints."""
        version = self.request_version
        if version == "HTTP/1.1" or version == "HTTP/1.0":
            return True
        return super()._check_http_version()  # type: ignore[no-any-return]

    def read_request(self, raw_requestline: str) -> bool:
        self._lean_request = None
        try:
            result = super().read_request(raw_requestline)
        except _HeadDeadline:
            # pywsgi answers a ValueError with 400, logs this one line and closes.
            raise ValueError(
                "request headers not complete within handshake_timeout (%s s)" % self.handshake_timeout
            ) from None
        finally:
            self._cancel_head_deadline()
        self._lean_request = self.lean.request_for(self) if self.lean is not None else None
        return result  # type: ignore[no-any-return]
