"""The hybi-01…03 frame codec (draft-ietf-hybi-thewebsocketprotocol-03).

docs/protocol.rst §4.3. Clients of this era (Chrome 6-era builds, some Flash and
Java clients) send the hixie-76 handshake plus ``Sec-WebSocket-Draft: 1-3``
and then speak the first length-prefixed framing:

    byte 0: MORE (0x80) | RSV1-3 (0x70) | opcode (0x0F)
    byte 1: RSV4 (0x80) | length (0x7F); 126 -> 16-bit length follows,
            127 -> 64-bit length follows (its top bit must be 0)
    payload, never masked

MORE is the inverse of RFC 6455's FIN: set means "more fragments follow".
Opcodes: 0 continuation, 1 close, 2 ping, 3 pong, 4 text, 5 binary.

Contract (the same sans-IO shape as every codec in this package):

* ``receive_data(data)`` appends bytes and never raises.
* ``events()`` yields, in wire order, every event the buffered bytes
  complete, then stops ("need more data"). It never raises; every way the
  peer can break the framing becomes one ``Failed`` whose reply is a close
  frame with an empty body (``01 00``):

  - reserved bits, an unknown opcode, a fragmented control frame, a
    continuation with no message open, a new message inside an open one, or
    a 64-bit length with its top bit set -> 1002;
  - a message (all its fragments) or a control frame declared larger than
    ``max_message_size`` -> 1009, as soon as the header says so, before any
    of the payload is buffered;
  - text that is not UTF-8 -> 1007, as soon as the bad byte arrives (an
    incremental decoder checks each piece of payload as it comes).

  A close frame yields ``Close(None, "", reply)`` where ``reply`` is a close
  frame carrying the same body (the draft gives close bodies no structure,
  so there is no code to report). After ``Close`` or ``Failed`` nothing
  more is yielded.
* Errors are checked in byte order, each as soon as the bytes that prove it
  are buffered, so the events never depend on how the input was split.
* ``send_*`` return one unfragmented frame with the shortest length form.

Example (docs/protocol.rst §4.3 vectors)::

    codec = Hybi03Codec()
    codec.receive_data(b"\\x84\\x03Hel\\x02\\x00\\x00\\x02lo")
    list(codec.events())    # [Ping(b''), Text('Hello')]
"""
from __future__ import annotations

import codecs
import struct
from typing import Iterator, List, Optional, Union

from .codec import CloseCode
from .events import Binary, Close, Event, Failed, Ping, Pong, Text

__all__ = ["Hybi03Codec", "encode_frame"]

CONTINUATION = 0x0
CLOSE = 0x1
PING = 0x2
PONG = 0x3
TEXT = 0x4
BINARY = 0x5

_CONTROL = frozenset((CLOSE, PING, PONG))
_DATA = frozenset((TEXT, BINARY))

#: The error close: a close frame with an empty body.
_EMPTY_CLOSE = b"\x01\x00"

_NEED_MORE = object()  # the buffer holds no complete step yet
_AGAIN = object()      # bytes were consumed without an event: step again


def encode_frame(opcode: int, payload: bytes, more: bool = False) -> bytes:
    """One frame with the shortest length encoding the draft allows."""
    first = opcode | (0x80 if more else 0)
    size = len(payload)
    if size < 126:
        header = struct.pack(">BB", first, size)
    elif size < 1 << 16:
        header = struct.pack(">BBH", first, 126, size)
    else:
        header = struct.pack(">BBQ", first, 127, size)
    return header + bytes(payload)


class Hybi03Codec:
    """Sans-IO hybi-03 framing: bytes in, :mod:`.events` out."""

    #: Binary messages travel as opcode-5 frames, without annotations (§4.3).
    binary_frames = True
    #: The same text always frames to the same bytes (a broadcast encodes once).
    stateless_send = True

    def __init__(self, max_message_size: int = 1 << 20) -> None:
        self.max_message_size = max_message_size
        self._buf = bytearray()
        self._done = False
        # The frame whose payload is being read (None: a header comes next).
        self._opcode: Optional[int] = None
        self._more = False
        self._remaining = 0
        self._control = bytearray()
        # The data message being assembled, possibly across fragments.
        self._message: Optional[int] = None  # TEXT or BINARY while open
        self._message_size = 0
        self._parts: List[Union[str, bytes]] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    # -- input -------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Buffer ``data``; parsing happens in :meth:`events`."""
        if not self._done and data:
            self._buf += data

    def whole_text(self, data: bytes) -> Optional[str]:
        """No fast path in this legacy dialect: every read takes ``events()``."""
        return None

    def events(self) -> Iterator[Event]:
        """Yield each event the buffered bytes complete, then stop."""
        while not self._done:
            step = self._header() if self._opcode is None else self._payload()
            if step is _NEED_MORE:
                return
            if step is _AGAIN:
                continue
            if isinstance(step, (Close, Failed)):
                self._done = True
                self._buf = bytearray()
                self._parts = []
            yield step  # type: ignore[misc]

    def _fail(self, code: int, reason: str) -> Failed:
        return Failed(code, reason, _EMPTY_CLOSE)

    def _header(self) -> object:
        """Parse one frame header, checking each field as soon as it is here."""
        buf = self._buf
        if not buf:
            return _NEED_MORE
        first = buf[0]
        if first & 0x70:
            return self._fail(CloseCode.PROTOCOL_ERROR, "reserved bits RSV1-3 set")
        opcode = first & 0x0F
        more = bool(first & 0x80)
        if opcode in _CONTROL:
            if more:
                return self._fail(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
        elif opcode in _DATA:
            if self._message is not None:
                return self._fail(CloseCode.PROTOCOL_ERROR, "new message inside a fragmented one")
        elif opcode == CONTINUATION:
            if self._message is None:
                return self._fail(CloseCode.PROTOCOL_ERROR, "continuation without a message")
        else:
            return self._fail(CloseCode.PROTOCOL_ERROR, "reserved opcode %#x" % opcode)
        if len(buf) < 2:
            return _NEED_MORE
        if buf[1] & 0x80:
            return self._fail(CloseCode.PROTOCOL_ERROR, "reserved bit RSV4 set")
        length = buf[1] & 0x7F
        size = 2
        if length == 126:
            size = 4
            if len(buf) < size:
                return _NEED_MORE
            (length,) = struct.unpack_from(">H", buf, 2)
        elif length == 127:
            size = 10
            if len(buf) < size:
                return _NEED_MORE
            (length,) = struct.unpack_from(">Q", buf, 2)
            if length >> 63:
                return self._fail(CloseCode.PROTOCOL_ERROR, "64-bit length with its top bit set")
        if opcode in _CONTROL:
            if length > self.max_message_size:
                return self._fail(CloseCode.MESSAGE_TOO_BIG, "control frame over max_message_size")
        else:
            total = length + (self._message_size if opcode == CONTINUATION else 0)
            if total > self.max_message_size:
                return self._fail(CloseCode.MESSAGE_TOO_BIG, "message over max_message_size")
            if opcode != CONTINUATION:
                self._message = opcode
            self._message_size = total
        del buf[:size]
        self._opcode = opcode
        self._more = more
        self._remaining = length
        return _AGAIN

    def _payload(self) -> object:
        """Take what is buffered of the current payload; finish the frame."""
        buf = self._buf
        take = min(self._remaining, len(buf))
        if self._remaining and not take:
            return _NEED_MORE
        if take:
            chunk = bytes(buf[:take])
            del buf[:take]
            self._remaining -= take
            if self._opcode in _CONTROL:
                self._control += chunk
            elif self._message == TEXT:
                try:
                    self._parts.append(self._decoder.decode(chunk, False))
                except UnicodeDecodeError:
                    return self._fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
            else:
                self._parts.append(chunk)
            if self._remaining:
                return _NEED_MORE
        opcode, self._opcode = self._opcode, None
        if opcode in _CONTROL:
            body = bytes(self._control)
            self._control = bytearray()
            if opcode == PING:
                return Ping(body)
            if opcode == PONG:
                return Pong(body)
            return Close(None, "", encode_frame(CLOSE, body))
        if self._more:
            return _AGAIN
        return self._finish_message()

    def _finish_message(self) -> object:
        kind, parts = self._message, self._parts
        self._message, self._message_size, self._parts = None, 0, []
        if kind == BINARY:
            return Binary(b"".join(parts))  # type: ignore[arg-type]
        try:
            tail = self._decoder.decode(b"", True)
        except UnicodeDecodeError:
            return self._fail(CloseCode.INVALID_DATA, "text message ends inside a UTF-8 sequence")
        finally:
            self._decoder.reset()
        return Text("".join(parts) + tail)  # type: ignore[arg-type]

    # -- output ------------------------------------------------------------

    def send_text(self, text: str) -> bytes:
        """One text frame (``UnicodeEncodeError`` for lone surrogates: our bug)."""
        return encode_frame(TEXT, text.encode("utf-8"))

    def send_binary(self, data: bytes) -> bytes:
        """One binary frame."""
        return encode_frame(BINARY, data)

    def send_ping(self, payload: bytes = b"") -> bytes:
        return encode_frame(PING, payload)

    def send_pong(self, payload: bytes) -> bytes:
        return encode_frame(PONG, payload)

    def send_close(self, code: int = 1000, reason: str = "") -> bytes:
        """A close frame with an empty body: hybi-03 close bodies are opaque,
        so a code has no agreed wire form and is not sent."""
        return _EMPTY_CLOSE
