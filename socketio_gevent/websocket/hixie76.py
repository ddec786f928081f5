"""The hixie-76 (= hybi-00) codec and its MD5 handshake challenge.

docs/protocol.rst §4.3. Framing is the hixie framing of :mod:`.hixie75`; what
hixie-76 adds is a closing handshake (``FF 00`` both ways) and a handshake
challenge the server must answer to prove it speaks WebSocket.

Contract:

* :class:`Hixie76Codec` behaves exactly as documented in :mod:`.hixie75`,
  except that its error close and its own close are ``FF 00``.
* :func:`key_number` turns a ``Sec-WebSocket-Key1``/``Key2`` value into its
  32-bit number, or raises ``ValueError`` for a key the draft says to refuse
  (no spaces, digits not an exact multiple of the space count, a quotient of
  2**32 or more). The handshake calls it before answering, so a bad key gets
  a ``400`` instead of a 101 followed by a wrong answer.
* :func:`answer_challenge` and :func:`challenge_response` return the 16-byte
  MD5 answer, or raise ``ValueError`` unless ``key3`` is exactly 8 bytes.

Example (the draft's own vector, docs/protocol.rst §4.3)::

    challenge_response("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", b"^n:ds[4U")
    # -> b"8jKS'y:G*Co,Wxa-"
"""
from __future__ import annotations

import hashlib
import struct

from .hixie75 import CLOSE_FRAME, HixieFraming

__all__ = ["Hixie76Codec", "key_number", "answer_challenge", "challenge_response"]

_DIGITS = frozenset("0123456789")

#: A real key's number is below 2**32 * 12 (at most 12 spaces): 11 digits.
#: Longer digit runs are refused before ``int()`` ever sees them.
_MAX_KEY_DIGITS = 20


class Hixie76Codec(HixieFraming):
    """draft-hixie-thewebsocketprotocol-76: hixie framing, ``FF 00`` closes."""

    error_reply = CLOSE_FRAME
    close_frame = CLOSE_FRAME


def key_number(key: str) -> int:
    """The key's digits, read as one number, divided by its count of spaces.

    Only ASCII digits count (``str.isdigit`` would also accept ``"²"``), and
    the division must be exact: the draft tells servers to refuse anything
    else, which also catches keys mangled on the way.
    """
    digits = "".join(ch for ch in key if ch in _DIGITS)
    spaces = key.count(" ")
    if not digits:
        raise ValueError("key has no digits")
    if spaces == 0:
        raise ValueError("key has no spaces")
    if len(digits.lstrip("0")) > _MAX_KEY_DIGITS:
        raise ValueError("key has too many digits")
    number = int(digits)
    if number % spaces:
        raise ValueError("key digits are not a multiple of its spaces")
    part = number // spaces
    if part >= 1 << 32:
        raise ValueError("key number does not fit in 32 bits")
    return part


def answer_challenge(part1: int, part2: int, key3: bytes) -> bytes:
    """MD5 over both key numbers (big-endian 32-bit) and the 8 key3 bytes."""
    if len(key3) != 8:
        raise ValueError("key3 must be exactly 8 bytes, got %d" % len(key3))
    # Not a security use of MD5: the draft fixes the algorithm (and FIPS
    # builds refuse md5() without this flag).
    data = struct.pack(">II", part1, part2) + bytes(key3)
    return hashlib.md5(data, usedforsecurity=False).digest()


def challenge_response(key1: str, key2: str, key3: bytes) -> bytes:
    """The 16-byte answer to a hixie-76 handshake; ``ValueError`` on bad input."""
    return answer_challenge(key_number(key1), key_number(key2), key3)
