"""The hixie framing (``0x00 <UTF-8> 0xFF``) and the hixie-75 codec.

docs/protocol.rst §4.3. Hixie-75 and hixie-76 (= hybi-00) frame messages the same
way; they differ only in how a connection is closed. This module holds the
shared byte parser (:class:`HixieFraming`) and the hixie-75 flavour;
:mod:`.hixie76` adds the other one.

Contract (sans-IO, the same shape as every codec in this package):

* ``receive_data(data)`` appends bytes and never raises; it does no parsing.
* ``events()`` yields every event the buffered bytes complete, in wire
  order, then stops ("need more data"). It yields only
  :mod:`.events` classes and never raises on any input:

  - ``0x00 <bytes> 0xFF`` -> ``Text`` (payload decoded as UTF-8, or
    ``Failed(1007)``);
  - ``0xFF 0x00`` (type ``0xFF``, length 0, however the length is spelled,
    as hixie-76 §5.3 reads it) -> ``Close(None, "", FF 00)``;
  - any other type byte with the high bit set: a length-prefixed frame
    (7-bit groups, big-endian, high bit = another group follows), skipped
    without being buffered; a prefix of more than 10 groups ->
    ``Failed(1002)``;
  - any other type byte with the high bit clear: skipped up to its ``0xFF``;
  - a frame whose payload passes ``max_message_size`` bytes ->
    ``Failed(1009)`` as soon as that is known, so a peer can never make us
    buffer more than the limit.

  After ``Close`` or ``Failed`` nothing more is yielded, whatever arrives.
* ``send_*`` return the bytes to write. The dialect has no binary messages
  (``send_binary`` raises ``TypeError``: the runner checks
  ``binary_frames``), no ping and no pong (empty bytes).

Hixie-75 had no closing handshake at all: a server-initiated close and an
error close are a bare TCP close (``b""``). A peer that does send ``FF 00``
is still answered in kind (§4.3), which a hixie-75 peer reads as an empty
frame it discards.

Example::

    codec = Hixie75Codec()
    codec.receive_data(b"\\x00hi\\xff\\x00th")
    list(codec.events())          # [Text('hi')]; b"\\x00th" waits for more
"""
from __future__ import annotations

from typing import Iterator, Optional

from .codec import CloseCode
from .events import Close, Event, Failed, Text

__all__ = ["HixieFraming", "Hixie75Codec", "CLOSE_FRAME"]

#: The hixie close frame: type ``0xFF``, length 0.
CLOSE_FRAME = b"\xff\x00"

#: A length prefix longer than this many 7-bit groups is refused: legitimate
#: lengths need far fewer, and leading zero groups would otherwise let a peer
#: stream prefix bytes forever without the length ever growing.
_MAX_LENGTH_GROUPS = 10

# Parser states. Text frames are parsed in place in the buffer; the two
# "skip" states drop bytes as they arrive instead of buffering them.
_FRAME_START = 0
_SKIP_COUNTED = 1  # length-prefixed frame body: drop ``_skip`` more bytes
_SKIP_TO_FF = 2    # sentinel frame of an unknown type: drop up to 0xFF


_NEED_MORE = object()  # the buffer holds no complete step yet
_AGAIN = object()      # bytes were consumed without an event: step again


class HixieFraming:
    """The byte parser and encoder shared by hixie-75 and hixie-76.

    Subclasses set the two dialect-specific answers below; everything else is
    the same framing.
    """

    #: The runner sends binary messages as ``b``-annotated text here (§2).
    binary_frames = False
    #: The same text always frames to the same bytes (a broadcast encodes once).
    stateless_send = True
    #: Written back when the peer's input breaks the framing or a limit.
    error_reply = b""
    #: Written when the server closes first.
    close_frame = b""

    def __init__(self, max_message_size: int = 1 << 20) -> None:
        self.max_message_size = max_message_size
        self._buf = bytearray()
        self._state = _FRAME_START
        # Bytes still to drop in _SKIP_COUNTED; bytes dropped so far in
        # _SKIP_TO_FF (to apply the size limit to discarded frames too).
        self._skip = 0
        # Payload bytes of the pending text frame already known to hold no
        # 0xFF, so each byte is scanned once however the input is split.
        self._scanned = 0
        self._done = False

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
            step = self._step()
            if step is _NEED_MORE:
                return
            if step is _AGAIN:
                continue
            if isinstance(step, (Close, Failed)):
                self._done = True
                self._buf = bytearray()
            yield step  # type: ignore[misc]

    def _fail(self, code: int, reason: str) -> Failed:
        return Failed(code, reason, self.error_reply)

    def _step(self) -> object:
        """Advance the parser by at most one frame (or one skipped piece)."""
        buf = self._buf
        if self._state == _SKIP_COUNTED:
            n = min(self._skip, len(buf))
            del buf[:n]
            self._skip -= n
            if self._skip:
                return _NEED_MORE
            self._state = _FRAME_START
            return _AGAIN
        if self._state == _SKIP_TO_FF:
            end = buf.find(b"\xff")
            dropped = len(buf) if end < 0 else end
            self._skip += dropped
            if self._skip > self.max_message_size:
                return self._fail(CloseCode.MESSAGE_TOO_BIG, "frame over max_message_size")
            if end < 0:
                del buf[:]
                return _NEED_MORE
            del buf[: end + 1]
            self._skip = 0
            self._state = _FRAME_START
            return _AGAIN
        if not buf:
            return _NEED_MORE
        frame_type = buf[0]
        if frame_type == 0x00:
            return self._text_frame()
        if frame_type & 0x80:
            return self._counted_frame(frame_type)
        # An unknown sentinel-terminated type: drop it, byte 0xFF included.
        del buf[:1]
        self._state = _SKIP_TO_FF
        self._skip = 0
        return _AGAIN

    def _text_frame(self) -> object:
        buf = self._buf
        end = buf.find(b"\xff", 1 + self._scanned)
        size = (len(buf) if end < 0 else end) - 1
        if size > self.max_message_size:
            return self._fail(CloseCode.MESSAGE_TOO_BIG, "message over max_message_size")
        if end < 0:
            self._scanned = size
            return _NEED_MORE
        payload = bytes(buf[1:end])
        del buf[: end + 1]
        self._scanned = 0
        try:
            return Text(payload.decode("utf-8"))
        except UnicodeDecodeError:
            return self._fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text frame")

    def _counted_frame(self, frame_type: int) -> object:
        """A length-prefixed frame: the close frame, or one to skip."""
        buf = self._buf
        length = 0
        pos = 1
        while True:
            if pos > _MAX_LENGTH_GROUPS:
                return self._fail(CloseCode.PROTOCOL_ERROR, "frame length prefix too long")
            if pos >= len(buf):
                return _NEED_MORE
            group = buf[pos]
            length = (length << 7) | (group & 0x7F)
            pos += 1
            # The length only grows with more groups, and another group
            # multiplies it by 128: refuse as soon as either proves it too big.
            more = group & 0x80
            if (length << 7 if more else length) > self.max_message_size:
                return self._fail(CloseCode.MESSAGE_TOO_BIG, "frame over max_message_size")
            if not more:
                break
        del buf[:pos]
        if frame_type == 0xFF and length == 0:
            return Close(None, "", CLOSE_FRAME)
        self._skip = length
        self._state = _SKIP_COUNTED
        return _AGAIN

    # -- output ------------------------------------------------------------

    def send_text(self, text: str) -> bytes:
        """One text frame. A ``str`` holding lone surrogates is our bug:
        ``UnicodeEncodeError`` (a ``ValueError``) is raised."""
        return b"\x00" + text.encode("utf-8") + b"\xff"

    def send_binary(self, data: bytes) -> bytes:
        """Hixie framing has no binary messages; check ``binary_frames``."""
        raise TypeError("hixie framing has no binary frames")

    def send_ping(self, payload: bytes = b"") -> bytes:
        """No ping in the dialect: nothing to write."""
        return b""

    def send_pong(self, payload: bytes) -> bytes:
        """No pong in the dialect: nothing to write."""
        return b""

    def send_close(self, code: int = 1000, reason: str = "") -> bytes:
        """The dialect's server-initiated close (codes have no wire form)."""
        return self.close_frame


class Hixie75Codec(HixieFraming):
    """draft-hixie-thewebsocketprotocol-75: no closing handshake.

    A close or an error close is a plain TCP close, so both replies are
    empty; only a peer's own ``FF 00`` is echoed (see the module docstring).
    """

    error_reply = b""
    close_frame = b""

