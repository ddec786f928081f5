"""The pywsgi handler: TCP_NODELAY and a deadline on request headers.

Why a handler at all (pywsgi otherwise does everything we need):

- The inline Flash policy answer (§4.4): the first bytes of every new
  connection are peeked before HTTP parsing; ``<`` cannot start a request
  line, so nothing HTTP is slowed down by the check.
- TCP_NODELAY on every accepted socket: a keep-alive poll writes a small
  response right after reading a small request, which is the exact pattern
  where Nagle's algorithm and delayed ACKs stall for ~40 ms.
- Request headers read by :mod:`socketio_gevent.headers` (pywsgi's
  ``email``-based parser was 15 % of a long-polling profile).
- ``handshake_timeout`` (§6): a client that opens a connection and sends
  its headers one byte a minute must not hold a greenlet and a socket
  forever. The deadline covers the request line and headers (an idle
  keep-alive connection is closed after it too); the body and long polls
  are not limited by it. Late headers get ``400`` and a logged reason.
"""
from __future__ import annotations

import socket
from typing import Any, Optional

from gevent import pywsgi
from gevent.pywsgi import WSGIHandler

from .flashpolicy import reply_for
from .headers import RequestHeaders
from .policy import POLICY_REQUEST

DEFAULT_HANDSHAKE_TIMEOUT = 10.0
#: pywsgi's stand-in when the server was given ``log=None``.
_NOOP_LOG: Any = getattr(pywsgi, "_NoopLog", ())
RFILE_BUFFER = 2048


def _handshake_timeout(server: Any) -> Optional[float]:
    listener = getattr(getattr(server, "application", None), "listener", None)
    options = getattr(listener, "options", None)
    return options.handshake_timeout if options is not None else DEFAULT_HANDSHAKE_TIMEOUT


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


class SocketIOHandler(WSGIHandler):
    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not TCP (a UNIX socket): nothing to tune
        self.raw_socket = sock
        if rfile is None:
            # Request lines and headers fit in 2 KiB reads; bodies and
            # WebSocket reads go around the buffer. pywsgi's default (8 KiB)
            # stays allocated for the connection's whole life.
            rfile = sock.makefile("rb", RFILE_BUFFER)
        super().__init__(_SendFirstSocket(sock), address, server, rfile)

    def read_requestline(self) -> str:
        self.socket.settimeout(_handshake_timeout(self.server))
        if self.rfile.peek(1)[:1] == b"<":
            return self._answer_policy_request()
        return super().read_requestline()

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
        listener = getattr(getattr(self.server, "application", None), "listener", None)
        self.socket.sendall(reply_for([listener] if listener is not None else []))
        return ""  # no request: the connection is closed

    def MessageClass(self, fp: Any, *args: Any) -> RequestHeaders:  # noqa: N802 (pywsgi's name)
        """Headers read by :mod:`socketio_gevent.headers`, not the email parser."""
        return RequestHeaders.read(fp.readline)

    def _headers(self) -> Any:
        return self.headers.environ_items()

    def get_environ(self) -> dict:
        environ = super().get_environ()
        # The upgraded WebSocket writes to the socket directly (wsconnection).
        environ["socketio_gevent.socket"] = self.raw_socket
        return environ

    def log_request(self) -> None:
        """pywsgi formats the access-log line even for a server that logs
        nowhere (5 % of a long-polling profile)."""
        if isinstance(self.server.log, _NOOP_LOG):
            return
        super().log_request()

    def read_request(self, raw_requestline: str) -> bool:
        try:
            result = super().read_request(raw_requestline)
        except socket.timeout:
            # pywsgi answers a ValueError with 400, logs this one line and closes.
            raise ValueError(
                "request headers not complete within handshake_timeout (%s s)"
                % _handshake_timeout(self.server)
            ) from None
        self.socket.settimeout(None)
        return result
