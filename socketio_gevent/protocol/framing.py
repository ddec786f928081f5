"""The ``type:length:data,`` framing and type-1 message annotations.

This module is the text codec of docs/protocol.rst §1 and §2. It has no I/O,
no clock and no gevent, so every transport (polling bodies, WebSocket text
frames, streams) can share it and it can be tested on exact strings.

Contract (what each entry point returns, and why it raises what it raises):

* ``encode_frame``, ``encode_body`` and ``encode_message`` return ``str``.
  They raise ``ValueError`` (or ``TypeError`` for a value JSON cannot carry)
  when *the caller* passes something the protocol cannot express: that is a
  bug in our own code or the application's, never the peer's fault.
* ``Decoder.feed`` returns every frame completed by the input so far (possibly
  ``[]``: "need more data") and keeps the unfinished tail. It raises
  ``ProtocolError`` as soon as the input can no longer become a valid payload,
  whatever arrives next. ``ProtocolError.frames`` then holds the frames that
  this call decoded before the bad one, so a WebSocket runner can still
  deliver them (§1: "the frames decoded before the bad one stand"). After an
  error the decoder is dead: every later call raises again.
* ``decode_payload`` returns all frames of one complete payload or raises
  ``ProtocolError``; over HTTP a body is rejected whole (§1).
* ``decode_body`` returns ``(message, annotations)`` or raises
  ``ProtocolError``.
* For any ``str`` input the decoders raise nothing but ``ProtocolError``: the
  peer controls that input, and one answer (``status`` 400, or the dialect's
  error close) must cover every way it can be wrong.

The decoder is on every message's hot path: it slices by UTF-16 lengths with
``str`` methods running in C, never a Python loop over valid input.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from ..websocket.codec import CloseCode
from .errors import ProtocolError

__all__ = [
    "DISCONNECT", "MESSAGE", "HEARTBEAT", "SESSION_ID", "DISCONNECT_FRAME",
    "ProtocolError", "Frame", "Decoder", "utf16_len", "encode_frame",
    "encode_body", "encode_message", "plain_message", "decode_body", "decode_payload", "read_frame",
]

DISCONNECT = "0"
MESSAGE = "1"
HEARTBEAT = "2"
SESSION_ID = "3"

#: Lengths of more digits are refused, so a peer cannot make the decoder
#: buffer forever while it waits for the ``:`` that ends the length.
_MAX_DIGITS = 9

Annotations = Dict[str, Optional[str]]


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``type`` is one character; unknown types pass through
    (the session layer ignores them, §1) so the codec needs no list of them."""

    type: str
    data: str


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, as JavaScript's ``String.length``
    (browsers write frame lengths that way): U+1F600 counts 2. ASCII is free."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-16-le")) // 2
    except UnicodeEncodeError:  # only the application can hand us such text
        raise ValueError("text with a lone surrogate cannot be sent: it is not Unicode text") from None


def encode_frame(type: str, data: str) -> str:
    """Return ``type:length:data,`` with the length in UTF-16 code units. Raises
    ``ValueError`` unless ``type`` is one character other than ``:`` (§1)."""
    if len(type) != 1 or type == ":":
        raise ValueError(f"frame type must be one character other than ':', got {type!r}")
    return f"{type}:{utf16_len(data)}:{data},"


#: The disconnect frame (§1), sent by either side to leave at once.
DISCONNECT_FRAME: str = encode_frame(DISCONNECT, "")


def encode_body(message: str, annotations: Optional[Mapping[str, Optional[str]]] = None) -> str:
    """Return the canonical type-1 body: ``key[:value]\\n`` per annotation, then
    ``:`` and the message (§2). ``encode_body("hello") == ":hello"``.

    Raises ``ValueError`` for an empty key, a key with ``:`` or ``\\n``, or a value
    with ``\\n``: the body would decode differently (the caller's bug). ``j``
    and ``b`` are allowed here because ``encode_message`` adds them on purpose.
    """
    if not annotations:
        return ":" + message
    lines = []
    for key, value in annotations.items():
        if not key or ":" in key or "\n" in key:
            raise ValueError(f"annotation key must be non-empty, without ':' or newline: {key!r}")
        if value is None:
            lines.append(key + "\n")
        elif "\n" in value:
            raise ValueError(f"annotation value must not contain a newline: {value!r}")
        else:
            lines.append(f"{key}:{value}\n")
    lines.append(":" + message)
    return "".join(lines)


def plain_message(payload: str, max_length: Optional[int] = None) -> Optional[str]:
    """The message of a payload that is one type-1 frame without annotations
    (``1:L::message,``), else ``None``.

    The shape nearly every message has, so the session reads it without
    building frames, bodies and annotation maps; anything else (``None``)
    takes the full decoder, which gives the same message for this shape.
    ASCII only: there UTF-16 code units and characters agree.
    """
    if payload[:2] != "1:" or payload[-1:] != "," or not payload.isascii():
        return None
    colon = payload.find(":", 2, 3 + _MAX_DIGITS)
    digits = payload[2:colon]
    if colon < 3 or not digits.isdigit() or payload[colon + 1:colon + 2] != ":":
        return None
    length = int(digits)
    if length != len(payload) - colon - 2 or (max_length is not None and length > max_length):
        return None
    return payload[colon + 2:-1]


def encode_message(message: object, annotations: Optional[Mapping[str, Optional[str]]] = None) -> str:
    """Return a whole type-1 frame for an application message (§2).

    ``str`` goes as is; bytes-like values go as padded base64 with ``b``;
    anything else as compact JSON with ``j`` (``TypeError`` if JSON cannot
    carry it, ``ValueError`` for NaN or infinities, which ``JSON.parse`` in the
    browser rejects). The caller's annotations come first, then ``j``/``b``.
    Passing ``j`` or ``b`` yourself raises ``ValueError``: they describe the
    encoding, and the receiver would misread a message that lied about it.
    """
    if not annotations and type(message) is str:  # the common case, straight to the frame
        if message.isascii():
            return f"1:{len(message) + 1}::{message},"
        return encode_frame(MESSAGE, ":" + message)
    extra: Annotations = dict(annotations) if annotations else {}
    for reserved in ("j", "b"):
        if reserved in extra:
            raise ValueError(f"annotation {reserved!r} is reserved for the message encoding")
    if isinstance(message, str):
        text = message
    elif isinstance(message, (bytes, bytearray, memoryview)):
        text = base64.b64encode(message).decode("ascii")
        extra["b"] = None
    else:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        extra["j"] = None
    return encode_frame(MESSAGE, encode_body(text, extra))


def _refuse_constant(name: str) -> object:
    """``json.loads`` hook: NaN and Infinity are Python extensions, not JSON."""
    raise ValueError(f"not JSON: {name}")


class _Unsendable(ValueError):
    """Valid JSON whose value could never be sent back: refused, with its reason."""


def _finite_float(text: str) -> float:
    """``json.loads`` hook: ``1e999`` is JSON, but no peer can send infinity back."""
    value = float(text)
    if value in (_INF, -_INF):
        raise _Unsendable(f"number out of range ({text[:20]})")
    return value


_INF = float("inf")


def encodable(text: str) -> bool:
    """Can ``text`` travel as UTF-8? (No lone surrogate, such as a JSON ``"\\ud800"``.)"""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_lone_surrogates(value: object, source: str) -> None:
    """A JSON text may spell a lone surrogate as ``\\ud800``: that value could
    never be written to anyone, so it is refused where it enters."""
    if "\\u" in source and not encodable(json.dumps(value, ensure_ascii=False)):
        raise _Unsendable("a lone surrogate")


def _split_body(body: str) -> Optional[Tuple[str, List[Tuple[str, Optional[str]]]]]:
    """Split a body into (message, annotation pairs), or None if it has no separator.

    The canonical reading (every annotation closed by ``\\n``) is tried first;
    where it finds no separator, the deepest annotation whose own line holds
    another ``:`` after its key is read in the 2010 README form instead: its
    value ends at that ``:`` and the rest is the message. Values never contain
    ``\\n`` in either reading (§2). Each ``find`` starts past the region the
    previous one scanned, so the whole split is linear in ``len(body)``.
    """
    n = len(body)
    pairs: List[Tuple[str, Optional[str]]] = []
    # For each key:value annotation, the README-form fallback: (index into
    # pairs, value, start of message), when its line holds a second ":".
    fallbacks: List[Tuple[int, str, int]] = []
    pos = 0
    colon = body.find(":")  # first ":" at or after pos, or -1
    nl = -1                 # first "\n" at or after pos, or n; refreshed lazily
    while colon != -1:
        if colon == pos:
            return body[pos + 1:], pairs
        if nl < pos:
            nl = body.find("\n", pos)
            if nl == -1:
                nl = n
        if nl < colon:  # "key\n": an annotation without a value
            pairs.append((body[pos:nl], None))
            pos = nl + 1
            continue
        after = body.find(":", colon + 1, nl)  # a second ":" on this line
        if nl == n:  # last annotation not closed by "\n": README form only
            if after == -1:
                break
            pairs.append((body[pos:colon], body[colon + 1:after]))
            return body[after + 1:], pairs
        if after != -1:
            fallbacks.append((len(pairs), body[colon + 1:after], after + 1))
        pairs.append((body[pos:colon], body[colon + 1:nl]))
        pos = nl + 1
        colon = body.find(":", pos)
    if not fallbacks:
        return None
    index, value, start = fallbacks[-1]
    key = pairs[index][0]
    return body[start:], pairs[:index] + [(key, value)]


def decode_body(data: str) -> Tuple[object, Annotations]:
    """Parse a type-1 body into ``(message, annotations)`` (§2).

    Under ``j`` the message is decoded JSON, under ``b`` decoded base64
    ``bytes``; those two keys are consumed, every other key (``r`` included)
    is returned, ``None`` for a key without a value. Empty keys are ignored
    and a repeated key keeps its last value. Raises ``ProtocolError`` for no
    ``:`` separator, both ``j`` and ``b``, or a message that is not what its
    annotation claims: the peer sent it, so the payload is malformed (§1).
    """
    split = _split_body(data)
    if split is None:
        raise ProtocolError("message body has no ':' separator")
    text, pairs = split
    annotations: Annotations = {key: value for key, value in pairs if key}
    is_json, is_binary = "j" in annotations, "b" in annotations
    annotations.pop("j", None)
    annotations.pop("b", None)
    if is_json and is_binary:
        raise ProtocolError("message has both 'j' and 'b' annotations")
    if is_json:
        try:
            value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
            _refuse_lone_surrogates(value, text)
        except _Unsendable as exc:
            raise ProtocolError("invalid text under 'j': %s" % exc, close_code=CloseCode.INVALID_DATA) from None
        except (ValueError, RecursionError):
            raise ProtocolError("invalid JSON under 'j'") from None
        return value, annotations
    if is_binary:
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            raise ProtocolError("invalid base64 under 'b'") from None
        if base64.b64encode(raw).decode("ascii") != text:  # stray padding bits
            raise ProtocolError("invalid base64 under 'b'")
        return raw, annotations
    return text, annotations


def _parse_header(buf: str, pos: int, max_length: Optional[int]) -> Optional[Tuple[str, int, int]]:
    """Read ``type:length:`` at ``pos``: (type, length, data start), or None for
    "need more data". Raises as soon as no continuation could make it valid."""
    if buf[pos] == ":":
        raise ProtocolError("frame type is missing")
    if len(buf) - pos < 2:
        return None
    if buf[pos + 1] != ":":
        raise ProtocolError("frame type must be one character")
    seg = buf[pos + 2:pos + 3 + _MAX_DIGITS]
    colon = seg.find(":")
    digits = seg if colon == -1 else seg[:colon]
    if max_length is not None:
        # The leading run of digits first: it is all a split input may have
        # shown yet, so the answer is the same however the input is cut.
        lead = digits[:len(digits) - len(digits.lstrip("0123456789"))]
        if lead and int(lead) > max_length:
            raise ProtocolError("frame length exceeds limit")  # more digits only grow it
    # isascii() first: str.isdigit() alone accepts "²" and other digits.
    if (digits or colon != -1) and not (digits.isascii() and digits.isdigit()):
        raise ProtocolError("frame length is not a decimal number")
    if colon == -1:
        if len(seg) > _MAX_DIGITS:
            raise ProtocolError(f"frame length has more than {_MAX_DIGITS} digits")
        return None
    return buf[pos], int(digits), pos + 3 + colon


def _take_units(buf: str, pos: int, units: int) -> Optional[str]:
    """The text of exactly ``units`` UTF-16 code units at ``pos``, or None if the
    buffer holds fewer. Raises if that count ends inside an astral character."""
    cand = buf[pos:pos + units]
    if cand.isascii():
        return cand if len(cand) == units else None
    raw = cand.encode("utf-16-le", "surrogatepass")
    if len(raw) <= 2 * units:  # the buffer ended within `units` characters
        return cand if len(raw) == 2 * units else None
    head = raw[:2 * units].decode("utf-16-le", "surrogatepass")
    if cand.startswith(head):
        return head
    # The cut split a pair (the head ends in a lone high surrogate), or the
    # text holds lone surrogates that decoding merged. Count exactly: this
    # runs once before the decoder fails, or on text no UTF-8 source yields.
    count = 0
    for index, char in enumerate(cand):
        count += 2 if ord(char) > 0xFFFF else 1
        if count >= units:
            if count > units:
                break
            return cand[:index + 1]
    raise ProtocolError("frame length splits a surrogate pair")


class Decoder:
    """Streaming decoder over ``str`` chunks.

    A WebSocket text stream may split a frame anywhere, and one chunk may hold
    several frames, so ``feed`` keeps whatever does not yet make a frame. While
    a frame's data is incomplete, chunks are only counted, not joined, so a
    large frame fed in small pieces costs linear time.
    """

    def __init__(self, max_length: Optional[int] = None) -> None:
        """``max_length``: the largest data length (UTF-16 units) of one frame; a
        larger declared length fails before any of its data is buffered."""
        self._max_length = self.max_length = max_length
        self._tail = ""                  # an unfinished header (at most 11 chars)
        self._type = ""                  # header of the frame whose data is awaited
        self._need: Optional[int] = None  # its length, or None while reading a header
        self._parts: List[str] = []      # that frame's text received so far
        self._have = 0                   # utf16_len of "".join(self._parts)
        self._error: Optional[str] = None

    @property
    def pending(self) -> bool:
        """An unfinished frame is buffered (``close`` now would fail)."""
        return bool(self._tail) or self._need is not None

    def feed(self, chunk: str) -> List[Frame]:
        """Return every frame the input completes; keep the unfinished tail."""
        if self._error is not None:
            raise ProtocolError(f"decoder already failed: {self._error}")
        frames: List[Frame] = []
        try:
            self._feed(chunk, frames)
        except ProtocolError as exc:
            self._die(exc.reason)
            exc.frames = frames
            raise
        return frames

    def close(self) -> None:
        """Declare the end of input: raises ``ProtocolError`` if a tail is pending."""
        if self._error is not None:
            raise ProtocolError(f"decoder already failed: {self._error}")
        if self.pending:
            self._die("incomplete frame at end of payload")
            raise ProtocolError("incomplete frame at end of payload")

    def _die(self, reason: str) -> None:
        """Drop the buffer; every later call fails (callers make a new decoder)."""
        self._error, self._tail, self._parts, self._need = reason, "", [], None

    def _feed(self, chunk: str, frames: List[Frame]) -> None:
        if self._need is not None:
            self._parts.append(chunk)
            self._have += utf16_len(chunk)
            if self._have <= self._need:  # the terminator is not here yet either
                return
            buf = "".join(self._parts)
            self._parts, self._have = [], 0
        else:
            buf = self._tail + chunk
            self._tail = ""
        pos, end = 0, len(buf)
        while pos < end:
            if self._need is None:
                header = _parse_header(buf, pos, self._max_length)
                if header is None:
                    self._tail = buf[pos:]
                    return
                self._type, self._need, pos = header
            data = _take_units(buf, pos, self._need)
            if data is None or pos + len(data) >= end:  # data or "," to come
                rest = buf[pos:]
                self._parts, self._have = [rest], utf16_len(rest)
                return
            stop = pos + len(data)
            if buf[stop] != ",":
                raise ProtocolError("frame data not terminated by ','")
            frames.append(Frame(self._type, data))
            self._need = None
            pos = stop + 1


def read_frame(buf: str, pos: int = 0) -> Optional[Tuple[Frame, int]]:
    """One whole frame at ``pos`` and the position after it, or ``None`` when
    ``buf`` does not hold all of it yet; ``ProtocolError`` if it cannot be one.

    For readers that must know where a frame ends inside other text (the
    parts of xhr-multipart, whose boundary a message may contain).
    """
    if pos >= len(buf):
        return None
    header = _parse_header(buf, pos, None)
    if header is None:
        return None
    kind, length, start = header
    data = _take_units(buf, start, length)
    if data is None or start + len(data) >= len(buf):
        return None
    stop = start + len(data)
    if buf[stop] != ",":
        raise ProtocolError("frame data not terminated by ','")
    return Frame(kind, data), stop + 1


def decode_payload(text: str, max_length: Optional[int] = None) -> List[Frame]:
    """Decode one complete payload (e.g. an HTTP body): all its frames, or
    ``ProtocolError`` if any is malformed or the last is cut short. ``""`` is []."""
    decoder = Decoder(max_length)
    frames = decoder.feed(text)
    decoder.close()
    return frames
