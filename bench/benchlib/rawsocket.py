"""Raw HTTP on a socket for the attack and soak scripts: they need requests
no client library would send, and no buffering between them and the wire."""
from __future__ import annotations

import base64
import os
from typing import Any

__all__ = ["read_head", "websocket_upgrade"]


def read_head(sock: Any) -> bytes:
    """Read until the end of an answer's head; returns the head and whatever
    of the body came with it. ``OSError`` if the peer closes first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed before the end of the head")
        data += chunk
    return data


def websocket_upgrade(sock: Any, path: str = "/socket.io/websocket") -> bytes:
    """An RFC 6455 upgrade on ``sock``; returns the bytes that came after the
    ``101``. ``OSError`` naming the status (``503 Service Unavailable``) when
    the server answers otherwise."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    head, _, rest = read_head(sock).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise OSError(head.split(b"\r\n", 1)[0].decode("latin-1")[len("HTTP/1.1 "):])
    return rest
