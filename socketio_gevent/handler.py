"""The pywsgi handler: TCP_NODELAY and a deadline on request headers.

Why a handler at all (pywsgi otherwise does everything we need):

- TCP_NODELAY on every accepted socket: a keep-alive poll writes a small
  response right after reading a small request, which is the exact pattern
  where Nagle's algorithm and delayed ACKs stall for ~40 ms.
- ``handshake_timeout`` (§6): a client that opens a connection and sends
  its headers one byte a minute must not hold a greenlet and a socket
  forever. The deadline covers the request line and headers (an idle
  keep-alive connection is closed after it too); the body and long polls
  are not limited by it. Late headers get ``400`` and a logged reason.
"""
from __future__ import annotations

import socket
from typing import Any, Optional

from gevent.pywsgi import WSGIHandler

DEFAULT_HANDSHAKE_TIMEOUT = 10.0


def _handshake_timeout(server: Any) -> Optional[float]:
    listener = getattr(getattr(server, "application", None), "listener", None)
    options = getattr(listener, "options", None)
    return options.handshake_timeout if options is not None else DEFAULT_HANDSHAKE_TIMEOUT


class SocketIOHandler(WSGIHandler):
    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not TCP (a UNIX socket): nothing to tune
        super().__init__(sock, address, server, rfile)

    def read_requestline(self) -> str:
        self.socket.settimeout(_handshake_timeout(self.server))
        return super().read_requestline()

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
