"""A raw-socket WebSocket test client for every dialect (docs/protocol.rst §4.3).

Frames we send are built by hand here, byte by byte, so the server's codecs
are checked against an independent encoder. Frames we receive are parsed
with the client side of our codecs, which their unit tests pin to the
drafts' vectors.
"""
from __future__ import annotations

import base64
import os
import struct
from typing import Any, List, Optional, Tuple

import gevent
from gevent import socket

from socketio_gevent.websocket import events as ev
from socketio_gevent.websocket.handshake import accept_key
from socketio_gevent.websocket.hixie75 import Hixie75Codec
from socketio_gevent.websocket.hixie76 import Hixie76Codec
from socketio_gevent.websocket.hybi03 import Hybi03Codec
from socketio_gevent.websocket.rfc6455 import RFC6455Codec

DIALECTS = ["hixie75", "hixie76", "hybi03", "rfc6455-8", "rfc6455-13"]
BINARY_DIALECTS = ["hybi03", "rfc6455-8", "rfc6455-13"]

# docs/protocol.rst §4.3 vector
KEY1, KEY2, KEY3, ANSWER = "4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", b"^n:ds[4U", b"8jKS'y:G*Co,Wxa-"


def mask_frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
    """An RFC 6455 client frame (masked), built by hand."""
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def hybi03_frame(opcode: int, payload: bytes, more: bool = False) -> bytes:
    n = len(payload)
    first = bytes([(0x80 if more else 0) | opcode])
    if n < 126:
        return first + bytes([n]) + payload
    if n < 65536:
        return first + bytes([126]) + struct.pack("!H", n) + payload
    return first + bytes([127]) + struct.pack("!Q", n) + payload


class RawWS:
    def __init__(
        self,
        port: int,
        path: str = "/socket.io/websocket",
        dialect: str = "rfc6455-13",
        origin: Optional[str] = None,
        extra: Optional[List[Tuple[str, str]]] = None,
        send_key3: bool = True,
    ) -> None:
        self.dialect = dialect
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rfile = self.sock.makefile("rb")
        upgrade = "websocket" if dialect.startswith("rfc") else "WebSocket"
        headers = [("Host", "127.0.0.1:%d" % port), ("Upgrade", upgrade), ("Connection", "Upgrade")]
        if origin:
            headers.append(("Origin" if dialect != "rfc6455-8" else "Sec-WebSocket-Origin", origin))
        key = base64.b64encode(os.urandom(16)).decode()
        if dialect.startswith("rfc6455"):
            headers += [("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", dialect.split("-")[1])]
        elif dialect in ("hixie76", "hybi03"):
            headers += [("Sec-WebSocket-Key1", KEY1), ("Sec-WebSocket-Key2", KEY2)]
            if dialect == "hybi03":
                headers.append(("Sec-WebSocket-Draft", "3"))
        headers += list(extra or [])
        request = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % h for h in headers))
        self.sock.sendall(request.encode("latin-1"))
        self.status_line = self.rfile.readline().decode("latin-1").strip()
        self.status = int(self.status_line.split(" ")[1])
        self.headers = {}
        while True:
            line = self.rfile.readline().decode("latin-1")
            if line in ("\r\n", ""):
                break
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.body = b""
        if self.status != 101:
            length = int(self.headers.get("content-length", "0"))
            self.body = self.rfile.read(length)
            return
        if dialect.startswith("rfc6455"):
            assert self.headers["sec-websocket-accept"] == accept_key(key)
            self.codec: Any = RFC6455Codec(max_message_size=1 << 26, client=True)
        elif dialect in ("hixie76", "hybi03"):
            if send_key3:
                self.sock.sendall(KEY3)
                assert self.rfile.read(16) == ANSWER
            self.codec = Hybi03Codec(1 << 26) if dialect == "hybi03" else Hixie76Codec(1 << 26)
        else:
            self.codec = Hixie75Codec(1 << 26)
        self.pending: List[Any] = []

    # -- sending -----------------------------------------------------------
    def text_frame(self, text: str) -> bytes:
        data = text.encode("utf-8")
        if self.dialect.startswith("rfc6455"):
            return mask_frame(1, data)
        if self.dialect == "hybi03":
            return hybi03_frame(4, data)
        return b"\x00" + data + b"\xff"

    def binary_frame(self, data: bytes) -> bytes:
        if self.dialect.startswith("rfc6455"):
            return mask_frame(2, data)
        assert self.dialect == "hybi03"
        return hybi03_frame(5, data)

    def send_text(self, text: str) -> None:
        self.sock.sendall(self.text_frame(text))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    # -- receiving ---------------------------------------------------------
    def next_event(self, timeout: float = 5.0) -> Any:
        """The next codec event, or ``"eof"`` when the server closed TCP."""
        with gevent.Timeout(timeout):
            while not self.pending:
                data = self.rfile.read1(65536)
                if not data:
                    return "eof"
                self.codec.receive_data(data)
                self.pending.extend(self.codec.events())
            return self.pending.pop(0)

    def next_message(self, timeout: float = 5.0) -> Any:
        """The next Text/Binary payload, skipping pings."""
        while True:
            event = self.next_event(timeout)
            if isinstance(event, (ev.Text, ev.Binary)):
                return event.data
            if not isinstance(event, (ev.Ping, ev.Pong)):
                return event

    def wait_eof(self, timeout: float = 5.0) -> List[Any]:
        seen = []
        while True:
            event = self.next_event(timeout)
            if event == "eof":
                return seen
            seen.append(event)

    def close(self) -> None:
        """Drop TCP without a closing handshake (a network cut)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.rfile.close()  # the makefile holds the fd open otherwise
        self.sock.close()
