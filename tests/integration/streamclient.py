"""A raw-socket reader for streaming HTTP responses (chunked or not)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import gevent
from gevent import socket


class Stream:
    def __init__(self, port: int, path: str, headers: Optional[List[Tuple[str, str]]] = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rfile = self.sock.makefile("rb")
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port]
        lines += ["%s: %s" % h for h in headers or []]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status = self.rfile.readline().decode("latin-1")
        self.status = int(status.split()[1])
        self.headers: Dict[str, str] = {}
        while True:
            line = self.rfile.readline().decode("latin-1")
            if line in ("\r\n", ""):
                break
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        self.ended = False
        self.buffer = b""

    def read_chunk(self, timeout: float = 5.0) -> Optional[bytes]:
        """The next chunk as the server wrote it; ``None`` at the end of the response."""
        with gevent.Timeout(timeout):
            if not self.chunked:
                data = self.rfile.read1(65536)
                if not data:
                    self.ended = True
                    return None
                return data
            size_line = self.rfile.readline()
            if not size_line:
                self.ended = True
                return None
            size = int(size_line.split(b";")[0].strip(), 16)
            data = self.rfile.read(size)
            self.rfile.readline()
            if size == 0:
                self.ended = True
                return None
            return data

    def read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        while marker not in self.buffer:
            chunk = self.read_chunk(timeout)
            if chunk is None:
                raise EOFError("stream ended before %r; got %r" % (marker, self.buffer[-300:]))
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(marker)
        return head + marker

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.rfile.close()
        self.sock.close()
