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
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

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
        """Close the connection; safe while another greenlet reads from it
        (it then sees the end of the stream and lets go itself)."""
        sock, self._sock = self._sock, None
        rfile, self._file = self._file, None
        if sock is not None:
            try:
                sock.shutdown(_stdsocket.SHUT_RDWR)
            except OSError:
                pass
        if rfile is not None:
            try:
                rfile.close()
            except RuntimeError:
                pass  # a read in progress in another greenlet: it ends on the shutdown
        if sock is not None:
            sock.close()

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
        sock, rfile = self._sock, self._file
        assert sock is not None and rfile is not None
        sock.settimeout(timeout if timeout is not None else self.timeout)
        sock.sendall(data)
        status, headers = read_head(rfile)
        body = _read_body(rfile, headers)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def stream(self, method: str, path: str, headers: Optional[List[Tuple[str, str]]] = None,
               timeout: Optional[float] = None) -> "Stream":
        """Send a request on a new socket and return its response as it arrives."""
        self._connect()
        sock, rfile = self._sock, self._file
        assert sock is not None and rfile is not None
        head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\n" % (method, path, self.host, self.port)
        for name, value in headers or []:
            head += "%s: %s\r\n" % (name, value)
        sock.settimeout(timeout if timeout is not None else self.timeout)
        sock.sendall((head + "\r\n").encode("latin-1"))
        status, response_headers = read_head(rfile)
        return Stream(self, rfile, status, response_headers)



def _read(read: Any, *args: Any) -> bytes:
    """A read on our own buffered reader; closed meanwhile (by ``close``
    from another greenlet) reads as the connection's end."""
    try:
        data: bytes = read(*args)
    except ValueError:  # I/O on the file that close() just closed
        raise HTTPError("connection closed") from None
    return data


def read_head(rfile: Any) -> Tuple[int, Dict[str, str]]:
    line = _read(rfile.readline, 65537)
    if not line:
        raise HTTPError("connection closed before the response")
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise HTTPError("bad status line %r" % line)
    headers: Dict[str, str] = {}
    while True:
        hline = _read(rfile.readline, 65537)
        if not hline:
            raise HTTPError("connection closed inside the response headers")
        if hline in (b"\r\n", b"\n"):
            break
        name, _, value = hline.decode("latin-1").partition(":")
        key = name.strip().lower()
        headers[key] = (headers[key] + ", " if key in headers else "") + value.strip()
    return int(parts[1]), headers


def _read_exactly(rfile: Any, size: int) -> bytes:
    data = _read(rfile.read, size)
    if len(data) < size:
        raise HTTPError("connection closed inside the response body")
    return data


def _chunk_size(rfile: Any) -> int:
    line = _read(rfile.readline, 1024)
    if not line:
        raise HTTPError("connection closed inside the response body")
    try:
        return int(line.split(b";")[0].strip(), 16)
    except ValueError:
        raise HTTPError("bad chunk size %r" % line[:40]) from None


def _read_body(rfile: Any, headers: Dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: List[bytes] = []
        while True:
            size = _chunk_size(rfile)
            if size == 0:
                _read_exactly(rfile, 2)
                return b"".join(chunks)
            chunks.append(_read_exactly(rfile, size))
            _read_exactly(rfile, 2)
    length = int(headers.get("content-length", "0") or 0)
    return _read_exactly(rfile, length) if length else b""


class Stream:
    """A response read as it arrives (a streaming transport); ``read`` gives
    the next piece of the body, ``b""`` at its end. Socket errors raise."""

    def __init__(self, connection: HTTPConnection, rfile: Any, status: int, headers: Dict[str, str]) -> None:
        self.connection = connection
        self.rfile = rfile
        self.status = status
        self.headers = headers
        self._chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        length = headers.get("content-length")
        self._left: Optional[int] = int(length) if length and not self._chunked else None
        self._done = False

    def read(self) -> bytes:
        if self._done:
            return b""
        rfile = self.rfile
        if self._chunked:
            size = _chunk_size(rfile)
            if size == 0:
                self._done = True
                return b""
            data = _read_exactly(rfile, size)
            _read_exactly(rfile, 2)
            return data
        if self._left is not None:
            if not self._left:
                self._done = True
                return b""
            data = _read_exactly(rfile, min(self._left, 65536))
            self._left -= len(data)
            return data
        data = _read(rfile.read1, 65536)  # until the server closes
        if not data:
            self._done = True
        return data

    def close(self) -> None:
        self.connection.close()
