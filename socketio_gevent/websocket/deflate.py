"""permessage-deflate (RFC 7692): negotiation and per-message (de)compression.

The RFC 6455 codec uses this module when the handshake agreed on the
extension: it compresses whole messages and inflates inbound ones fragment
by fragment. It is pure (``zlib`` and text in, text and bytes out) so the
negotiation table and the RFC's byte vectors are tested without a socket.

Contract:

* ``negotiate(offer)`` (server side) returns ``(response_header_value,
  params)`` for the first acceptable ``permessage-deflate`` offer in the
  client's ``Sec-WebSocket-Extensions`` value, or ``None``: an offer with an
  unknown or repeated parameter or a bad value is skipped, not an error,
  because RFC 7692 §5 lets a client list fallbacks. It never raises.
* ``client_offer()`` is the value our client sends; ``parse_response(value)``
  (client side) returns the server's ``DeflateParams`` or raises
  ``ValueError``: a server answering something we did not offer must fail
  the handshake (RFC 6455 §4.1).
* ``PerMessageDeflate.compress(message)`` returns a message payload (for a
  frame with RSV1 set). It only raises for our own bugs.
* ``PerMessageDeflate.decompress(payload)`` (or ``decompress_chunk`` piece by
  piece) returns the message. Input the peer controls raises only
  ``DeflateError`` (corrupt data, close 1007) or ``MessageTooBig``
  (decompressed size over the limit, close 1009). The limit is enforced
  with ``max_length`` on every ``zlib`` call, so a "zip bomb" never makes
  us allocate more than ``max_message_size`` bytes. After either error the
  connection must fail: the inflater's state is not rolled back.

**Window bits 8.** zlib refuses a raw deflate window of 8 bits
(``compressobj(wbits=-8)`` raises since zlib 1.2.9), yet RFC 7692 allows a
peer to ask for 8 and forbids us to use a larger window. We accept 8 and
compress with ``wbits=9``: zlib never emits a match farther back than
``window - 262`` bytes (its ``MAX_DIST``), i.e. 250 bytes for a 9-bit
window, which is inside the 256 bytes the peer keeps. So the stream is a
valid 8-bit-window stream, and offers of 8 (Autobahn 13.3 and 13.5 in
their original form) are served compressed rather than declined;
``test_ws_deflate`` checks the distance bound with a strict 8-bit inflater.
For decompression we use the agreed window but at least 9 bits: a bigger
inflate window reads anything a smaller one can, and zlib-based peers
asked for 8 really compress with 9.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

__all__ = [
    "EXTENSION", "DeflateParams", "DeflateError", "MessageTooBig",
    "PerMessageDeflate", "negotiate", "client_offer", "parse_response",
]

EXTENSION = "permessage-deflate"

#: The empty stored block a sync flush ends with; RFC 7692 §7.2.1 strips it
#: from the wire and §7.2.2 has the receiver put it back.
_TAIL = b"\x00\x00\xff\xff"

_SERVER_NCT = "server_no_context_takeover"
_CLIENT_NCT = "client_no_context_takeover"
_SERVER_BITS = "server_max_window_bits"
_CLIENT_BITS = "client_max_window_bits"
_KNOWN = frozenset((_SERVER_NCT, _CLIENT_NCT, _SERVER_BITS, _CLIENT_BITS))
#: RFC 7692 §7.1.2: a decimal 8..15 without leading zeros.
_BITS = {str(n): n for n in range(8, 16)}

Params = Dict[str, Optional[str]]


class DeflateError(ValueError):
    """The peer's compressed payload is not a valid deflate stream (close 1007)."""


class MessageTooBig(ValueError):
    """The decompressed message would exceed ``max_message_size`` (close 1009)."""


@dataclass(frozen=True)
class DeflateParams:
    """What the handshake agreed on. ``server_*`` govern what the server
    compresses, ``client_*`` what the client compresses (RFC 7692 §7.1)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15


# --------------------------------------------------------------------------
# Header parsing (RFC 6455 §9.1 grammar, RFC 7230 quoted strings)


def _split(text: str, sep: str) -> List[str]:
    """Split on ``sep`` outside double quotes, so a quoted value holding a
    ``,`` or ``;`` cannot cut an offer in two. Handshake-only, so a plain loop."""
    parts: List[str] = []
    start = 0
    quoted = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        out: List[str] = []
        escaped = False
        for ch in value[1:-1]:
            if escaped or ch != "\\":
                out.append(ch)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    if '"' in value or not value:
        raise ValueError("malformed value %r" % value)
    return value


def _elements(header: str) -> List[Tuple[str, List[str]]]:
    """``[(extension name, [raw "k=v" params])]``; empty list items are skipped."""
    out = []
    for element in _split(header, ","):
        pieces = _split(element, ";")
        name = pieces[0].strip().lower()
        if name:
            out.append((name, pieces[1:]))
    return out


def _params(raw: List[str]) -> Params:
    """Parameter names (lower-cased) to unquoted values. Raises ``ValueError``
    for unknown or repeated names: RFC 7692 §7 makes both unacceptable."""
    params: Params = {}
    for item in raw:
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if name not in _KNOWN:
            raise ValueError("unknown parameter %r" % name)
        if name in params:
            raise ValueError("repeated parameter %r" % name)
        params[name] = _unquote(value) if eq else None
    return params


def _flag(params: Params, name: str) -> bool:
    if name not in params:
        return False
    if params[name] is not None:
        raise ValueError("%s takes no value" % name)
    return True


def _bits(value: Optional[str]) -> int:
    if value not in _BITS:
        raise ValueError("window bits must be 8..15, got %r" % value)
    return _BITS[value]


def _accept(params: Params, takeover: bool = False) -> Tuple[str, DeflateParams]:
    """Turn one offer into our answer (RFC 7692 §7.1); ``ValueError`` if the
    offer is not acceptable. No context takeover either way; window bits as
    the client offered (15 unless told otherwise)."""
    answer = [EXTENSION]
    # Unless asked to keep them (``takeover``), neither side keeps a deflate
    # context between messages, whatever the offer says (RFC 7692 §7.1.1: a server may answer both parameters
    # unasked): an idle connection then holds no zlib state (94 KiB with
    # context, the peer choosing), at the price of compressing each message
    # on its own (docs/protocol.rst §4.3 gives the ratio).
    server_nct = _flag(params, _SERVER_NCT) or not takeover
    client_nct = _flag(params, _CLIENT_NCT) or not takeover
    server_bits = client_bits = 15
    if _SERVER_BITS in params:
        server_bits = _bits(params[_SERVER_BITS])
    if params.get(_CLIENT_BITS) is not None:
        client_bits = _bits(params[_CLIENT_BITS])
    # Accepting server_* means echoing it (§7.1.1.1, §7.1.2.1); echoing the
    # client_* hints is allowed and lets both sides log the same agreement.
    if server_nct:
        answer.append(_SERVER_NCT)
    if client_nct:
        answer.append(_CLIENT_NCT)
    if _SERVER_BITS in params:
        answer.append("%s=%d" % (_SERVER_BITS, server_bits))
    if params.get(_CLIENT_BITS) is not None:
        answer.append("%s=%d" % (_CLIENT_BITS, client_bits))
    return "; ".join(answer), DeflateParams(server_nct, client_nct, server_bits, client_bits)


def negotiate(offer_header: str, takeover: bool = False) -> Optional[Tuple[str, DeflateParams]]:
    """Server side: accept the first acceptable offer, or ``None``.

    ``takeover``: keep deflate contexts between messages where the offer
    allows (better ratio on small repetitive messages, ~100 KiB per idle
    connection); by default neither side keeps one.

    >>> negotiate("x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10")[0]
    'permessage-deflate; server_max_window_bits=10'
    """
    for name, raw in _elements(offer_header):
        if name != EXTENSION:
            continue
        try:
            return _accept(_params(raw), takeover)
        except ValueError:
            continue  # RFC 7692 §5: try the client's next offer
    return None


def client_offer() -> str:
    """What our client sends: default parameters, and we can obey any
    ``client_max_window_bits`` the server picks (8 included, see above)."""
    return "%s; %s" % (EXTENSION, _CLIENT_BITS)


def parse_response(header: str) -> DeflateParams:
    """Client side: the parameters in the server's answer to ``client_offer()``.

    Raises ``ValueError`` unless the answer is exactly one
    ``permessage-deflate`` element with known, single, well-formed
    parameters (RFC 7692 §7.1: a value is required in a response)."""
    elements = _elements(header)
    if len(elements) != 1 or elements[0][0] != EXTENSION:
        raise ValueError("server accepted extensions we did not offer: %r" % header)
    params = _params(elements[0][1])
    server_bits = _bits(params[_SERVER_BITS]) if _SERVER_BITS in params else 15
    client_bits = _bits(params[_CLIENT_BITS]) if _CLIENT_BITS in params else 15
    return DeflateParams(_flag(params, _SERVER_NCT), _flag(params, _CLIENT_NCT),
                         server_bits, client_bits)


# --------------------------------------------------------------------------
# Compression


class PerMessageDeflate:
    """One connection's compressor and decompressor.

    ``is_server`` picks which half of ``params`` is ours: a server compresses
    under the ``server_*`` parameters and decompresses under ``client_*``.
    Both zlib objects are created lazily (a deflate context costs ~256 KiB at
    15 bits), and dropped after each message when that side gave up context
    takeover.
    """

    def __init__(self, params: DeflateParams, is_server: bool, max_message_size: int) -> None:
        if is_server:
            out_bits, self._out_reset = params.server_max_window_bits, params.server_no_context_takeover
            in_bits, self._in_reset = params.client_max_window_bits, params.client_no_context_takeover
        else:
            out_bits, self._out_reset = params.client_max_window_bits, params.client_no_context_takeover
            in_bits, self._in_reset = params.server_max_window_bits, params.server_no_context_takeover
        # 8 -> 9: see the module docstring for why this stays within RFC 7692.
        self._out_wbits = -max(out_bits, 9)
        self._in_wbits = -max(in_bits, 9)
        self._limit = max_message_size
        self._compressor: Optional["zlib._Compress"] = None
        self._decompressor: Optional["zlib._Decompress"] = None
        #: Bytes of the current inbound message produced so far.
        self._produced = 0

    def compress(self, data: bytes) -> bytes:
        """One whole message -> the payload of its (first) frame."""
        compressor = self._compressor
        if compressor is None and self._out_reset:
            # No context to keep: a window and hash sized to this message (a
            # full 15-bit context costs ~30 us to set up, one sized to a short
            # message ~2 us; a smaller window than agreed is always allowed).
            size = len(data)
            wbits = -min(-self._out_wbits, max(9, size.bit_length()))
            compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, wbits,
                                          1 if size < 1024 else 8)
        elif compressor is None:
            compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, self._out_wbits)
        out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        self._compressor = None if self._out_reset else compressor
        # A sync flush always ends with the empty stored block (RFC 7692 §7.2.1).
        return out[:-4] if out.endswith(_TAIL) else out

    def decompress(self, data: bytes) -> bytes:
        """One whole message payload (fragments joined) -> the message."""
        return self.decompress_chunk(data, final=True)

    def decompress_chunk(self, data: bytes, final: bool = False) -> bytes:
        """Feed part of a message's payload; ``final`` on its last part.

        Lets the codec inflate fragment by fragment (and validate UTF-8 as it
        goes) while the size limit holds across the whole message."""
        decompressor = self._decompressor
        if decompressor is None:
            decompressor = self._decompressor = zlib.decompressobj(self._in_wbits)
        out = self._inflate(decompressor, data) if data else b""
        if not final:
            return out
        if not decompressor.eof:
            out += self._inflate(decompressor, _TAIL)
        if self._in_reset or decompressor.eof:
            self._decompressor = None
        self._produced = 0
        return out

    def _inflate(self, decompressor: "zlib._Decompress", data: bytes) -> bytes:
        if decompressor.eof:
            # A peer may end a message with a BFINAL block (RFC 7692 §7.2.3.4,
            # whose example pads it with one more byte): the rest is ignored,
            # and the next message gets a fresh inflater. A peer that then
            # refers back past that block fails cleanly (DeflateError).
            return b""
        room = self._limit - self._produced
        try:
            # Never more than one byte past the limit: that byte proves the
            # message too big without inflating the rest of it.
            out = decompressor.decompress(data, room + 1)
        except zlib.error as exc:
            raise DeflateError("corrupt deflate data: %s" % exc) from None
        if len(out) > room:
            raise MessageTooBig("decompressed message over %d bytes" % self._limit)
        self._produced += len(out)
        return out
