"""A minimal keep-alive HTTP/1.1 client on gevent sockets.

Why not ``http.client``: it uses the stdlib socket, which blocks the whole
process unless gevent's monkey-patching is on, and a library must not
require that of the program using it. This client does only what the
polling transports need: one request at a time per connection, bodies by
``Content-Length`` or chunked.

A kept-alive socket may have been closed by the server meanwhile. An
idempotent request (GET, HEAD, OPTIONS) that fails on such a socket is sent
again on a new one. A POST is never sent twice (the server may have acted
on the first, and a message would arrive twice): it is sent only on a
socket checked to be still open, and a failure is the caller's to handle.
"""
from __future__ import annotations

import socket as _stdsocket
from typing import Dict, List, NamedTuple, Optional, Tuple

from gevent import socket


class Response(NamedTuple):
    status: int
    headers: Dict[str, str]
    body: bytes


class HTTPError(OSError):
    """The server's answer was not HTTP, or was cut short."""


#: Methods a client may send again after a failure (RFC 9110 §9.2.2).
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS"))


class HTTPConnection:
    def __init__(self, host: str, port: int, timeout: Optional[float] = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._file = None

    def _connect(self) -> None:
        self.close()
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        self._sock = sock
        self._file = sock.makefile("rb")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Optional[List[Tuple[str, str]]] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """Send one request and read its response.

        An idempotent request that fails on a reused socket is retried once
        on a new one; any other failure raises ``OSError``.
        """
        head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\n" % (method, path, self.host, self.port)
        for name, value in headers or []:
            head += "%s: %s\r\n" % (name, value)
        if body or method in ("POST", "PUT"):
            head += "Content-Length: %d\r\n" % len(body)
        data = (head + "\r\n").encode("latin-1") + body
        if method not in IDEMPOTENT and self._sock is not None and self._dropped():
            self.close()
        reused = self._sock is not None
        try:
            return self._exchange(data, timeout)
        except OSError:
            self.close()
            if not reused or method not in IDEMPOTENT:
                raise
        return self._exchange(data, timeout)

    def _dropped(self) -> bool:
        """Has the server closed the kept-alive socket? (A non-blocking peek.)"""
        assert self._sock is not None
        previous = self._sock.gettimeout()
        self._sock.settimeout(0.0)
        try:
            return not self._sock.recv(1, _stdsocket.MSG_PEEK)  # EOF, or bytes nobody asked for
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            self._sock.settimeout(previous)

    def _exchange(self, data: bytes, timeout: Optional[float]) -> Response:
        if self._sock is None:
            self._connect()
        assert self._sock is not None and self._file is not None
        self._sock.settimeout(timeout if timeout is not None else self.timeout)
        self._sock.sendall(data)
        line = self._file.readline(65537)
        if not line:
            raise HTTPError("connection closed before the response")
        parts = line.decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise HTTPError("bad status line %r" % line)
        status = int(parts[1])
        headers: Dict[str, str] = {}
        while True:
            hline = self._file.readline(65537)
            if hline in (b"\r\n", b"\n", b""):
                break
            name, _, value = hline.decode("latin-1").partition(":")
            key = name.strip().lower()
            headers[key] = (headers[key] + ", " if key in headers else "") + value.strip()
        body = self._read_body(headers)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def _read_body(self, headers: Dict[str, str]) -> bytes:
        assert self._file is not None
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self._file.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self._file.readline()
                    return b"".join(chunks)
                chunks.append(self._file.read(size))
                self._file.readline()
        length = int(headers.get("content-length", "0") or 0)
        body = self._file.read(length) if length else b""
        if len(body) < length:
            raise HTTPError("connection closed inside the response body")
        return body
