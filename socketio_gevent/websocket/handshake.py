"""Pick a WebSocket dialect from a WSGI environ and say how to answer it.

docs/protocol.rst §4.3 decides, with this precedence:

1. not ``GET`` -> ``Refuse(405)``; no ``websocket`` token in ``Upgrade`` or
   no ``upgrade`` token in ``Connection`` (both case-insensitive) -> 400;
2. a ``Sec-WebSocket-Version`` header decides alone: 7, 8 or 13 -> RFC 6455
   (``Sec-WebSocket-Key`` must be base64 of exactly 16 bytes, else 400);
   any other value -> 426 with ``Sec-WebSocket-Version: 13, 8, 7``;
3. ``Sec-WebSocket-Key1`` and ``Key2`` -> hixie-76, or hybi-03 framing when
   ``Sec-WebSocket-Draft`` is 1, 2 or 3 (another Draft value -> 400); only
   one of the two keys, or a key the draft refuses -> 400;
4. otherwise hixie-75 (a ``Sec-WebSocket-Draft`` without the keys included:
   the Draft only qualifies a hixie-76 handshake).

Contract: :func:`negotiate` never raises for any environ a server can build;
it returns :class:`Accept` (what to send and which codec to run) or
:class:`Refuse` (status, one-line reason, headers). It does not check the
Origin: the caller does that first (§6) and answers 403 itself. Every header
value copied from the request into the answer is refused (400) if it holds
a control character, so a request can never split our response.

Why the keys are checked here rather than when key3 arrives: hixie-76 sends
the 101 before reading key3 (proxies hold key3 back until they see it), so a
key we cannot answer must be refused while a 400 is still possible.

Why hixie-75's status reads "Web Socket": its clients compare the first 85
bytes of the answer exactly (``HTTP/1.1 101 Web Socket Protocol Handshake``,
then ``Upgrade: WebSocket``, then ``Connection: Upgrade``), so the writer must
send ``headers`` in order, before any header of its own.

Example::

    result = negotiate(environ)
    if isinstance(result, Refuse):
        start_response("%d %s" % (result.status, ...), result.headers)
    else:
        start_response(result.status, result.headers)
        if result.key3_needed:
            write(result.answer(read_exactly(8)))
        codec = make_codec(result, max_message_size)
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote

from .codec import Codec
from .hixie75 import Hixie75Codec
from .hixie76 import Hixie76Codec, answer_challenge, challenge_response, key_number
from .hybi03 import Hybi03Codec

if TYPE_CHECKING:  # deflate (zlib) is imported only when a client offers it
    from .deflate import DeflateParams

__all__ = [
    "Accept", "Refuse", "negotiate", "make_codec", "accept_key", "challenge_response",
    "RFC6455", "HYBI03", "HIXIE76", "HIXIE75", "SUPPORTED_VERSIONS",
]

RFC6455 = "rfc6455"
HYBI03 = "hybi03"
HIXIE76 = "hixie76"
HIXIE75 = "hixie75"

#: Advertised on a 426, newest first (RFC 6455 §4.4).
SUPPORTED_VERSIONS = "13, 8, 7"
_RFC_VERSIONS = frozenset(("7", "8", "13"))
_HYBI_DRAFTS = frozenset(("1", "2", "3"))
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_STATUS_RFC = "101 Switching Protocols"
_STATUS_HIXIE76 = "101 WebSocket Protocol Handshake"
#: hixie-75 clients compare the first 85 bytes of the answer byte for byte
#: (status line, then ``Upgrade: WebSocket``, then ``Connection: Upgrade``),
#: and that draft spells this reason phrase with a space: "Web Socket".
_STATUS_HIXIE75 = "101 Web Socket Protocol Handshake"

#: Characters a browser leaves unescaped in a URL path; quoting them would
#: make the echoed Location differ from the URL the client opened.
_PATH_SAFE = "/;=,:@!$&'()*+~"
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class Accept:
    """A handshake to answer: the 101 to send and the codec to run after it."""

    dialect: str
    #: WSGI status line (``"101 ..."``).
    status: str
    #: Response headers, in the order they must be sent.
    headers: List[Tuple[str, str]]
    #: hixie-76 / hybi-03: after the headers, read 8 bytes and write ``answer``.
    key3_needed: bool = False
    #: permessage-deflate parameters agreed on (RFC 6455 only), or None.
    deflate: Optional["DeflateParams"] = None
    #: The two key numbers of a hixie-76 challenge (already validated).
    key_numbers: Optional[Tuple[int, int]] = field(default=None, repr=False)

    def answer(self, key3: bytes) -> bytes:
        """The 16-byte MD5 answer to the challenge; ``ValueError`` if this
        dialect has none or ``key3`` is not exactly 8 bytes."""
        if self.key_numbers is None:
            raise ValueError("the %s handshake has no challenge" % self.dialect)
        return answer_challenge(self.key_numbers[0], self.key_numbers[1], key3)


@dataclass(frozen=True)
class Refuse:
    """A request not to upgrade: answer ``status`` with these headers."""

    status: int
    reason: str
    headers: List[Tuple[str, str]] = field(default_factory=list)


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 §4.2.2)."""
    digest = hashlib.sha1((key + _GUID).encode("latin-1")).digest()
    return base64.b64encode(digest).decode("ascii")


def _tokens(value: str) -> List[str]:
    return [token.strip().lower() for token in value.split(",")]


def _header(environ: Mapping[str, object], name: str) -> Optional[str]:
    value = environ.get(name)
    return value.strip() if isinstance(value, str) else None


def negotiate(environ: Mapping[str, object], deflate: Union[bool, str] = True) -> Union[Accept, Refuse]:
    """Choose the dialect for an upgrade request (precedence: module docstring)."""
    if environ.get("REQUEST_METHOD") != "GET":
        return Refuse(405, "WebSocket upgrades use GET", [("Allow", "GET")])
    if "websocket" not in _tokens(_header(environ, "HTTP_UPGRADE") or ""):
        return Refuse(400, "Upgrade header does not name websocket")
    if "upgrade" not in _tokens(_header(environ, "HTTP_CONNECTION") or ""):
        return Refuse(400, "Connection header does not name upgrade")
    version = _header(environ, "HTTP_SEC_WEBSOCKET_VERSION")
    if version is not None:
        if version not in _RFC_VERSIONS:
            return Refuse(426, "unsupported Sec-WebSocket-Version",
                          [("Sec-WebSocket-Version", SUPPORTED_VERSIONS)])
        return _rfc6455(environ, deflate)
    key1 = _header(environ, "HTTP_SEC_WEBSOCKET_KEY1")
    key2 = _header(environ, "HTTP_SEC_WEBSOCKET_KEY2")
    if key1 is not None or key2 is not None:
        return _hixie76(environ, key1, key2)
    return _hixie75(environ)


def _rfc6455(environ: Mapping[str, object], deflate: Union[bool, str]) -> Union[Accept, Refuse]:
    key = _header(environ, "HTTP_SEC_WEBSOCKET_KEY")
    if not key:
        return Refuse(400, "missing Sec-WebSocket-Key")
    try:
        nonce = base64.b64decode(key.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        return Refuse(400, "Sec-WebSocket-Key is not base64")
    if len(nonce) != 16:
        return Refuse(400, "Sec-WebSocket-Key is not 16 bytes")
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    params = None
    offer = _header(environ, "HTTP_SEC_WEBSOCKET_EXTENSIONS")
    if deflate and offer:
        from .deflate import negotiate as negotiate_deflate

        agreed = negotiate_deflate(offer, takeover=deflate == "context")
        if agreed is not None:
            value, params = agreed
            headers.append(("Sec-WebSocket-Extensions", value))
    return Accept(RFC6455, _STATUS_RFC, headers, False, params)


def _hixie76(
    environ: Mapping[str, object], key1: Optional[str], key2: Optional[str]
) -> Union[Accept, Refuse]:
    if key1 is None or key2 is None:
        return Refuse(400, "Sec-WebSocket-Key1 and Key2 must come together")
    draft = _header(environ, "HTTP_SEC_WEBSOCKET_DRAFT")
    if draft is not None and draft not in _HYBI_DRAFTS:
        return Refuse(400, "unsupported Sec-WebSocket-Draft")
    # Keys are read raw (not stripped): their spaces are part of the number.
    try:
        numbers = (
            key_number(str(environ["HTTP_SEC_WEBSOCKET_KEY1"])),
            key_number(str(environ["HTTP_SEC_WEBSOCKET_KEY2"])),
        )
    except ValueError as exc:
        return Refuse(400, "bad key: %s" % exc)
    origin = _header(environ, "HTTP_ORIGIN") or _header(environ, "HTTP_SEC_WEBSOCKET_ORIGIN")
    protocol = _header(environ, "HTTP_SEC_WEBSOCKET_PROTOCOL")
    return _legacy(
        environ,
        dialect=HIXIE76 if draft is None else HYBI03,
        status=_STATUS_HIXIE76,
        prefix="Sec-WebSocket-",
        origin=origin,
        protocol=protocol,
        numbers=numbers,
    )


def _hixie75(environ: Mapping[str, object]) -> Union[Accept, Refuse]:
    # hixie-75 clients name the subprotocol without the Sec- prefix.
    protocol = _header(environ, "HTTP_WEBSOCKET_PROTOCOL")
    if protocol is None:
        protocol = _header(environ, "HTTP_SEC_WEBSOCKET_PROTOCOL")
    return _legacy(
        environ,
        dialect=HIXIE75,
        status=_STATUS_HIXIE75,
        prefix="WebSocket-",
        origin=_header(environ, "HTTP_ORIGIN"),
        protocol=protocol,
        numbers=None,
    )


def _legacy(
    environ: Mapping[str, object],
    dialect: str,
    status: str,
    prefix: str,
    origin: Optional[str],
    protocol: Optional[str],
    numbers: Optional[Tuple[int, int]],
) -> Union[Accept, Refuse]:
    """The pre-RFC answer: echo Origin, Location and the subprotocol."""
    location = _location(environ)
    for value in (origin, protocol, location):
        if value is not None and _UNSAFE.search(value):
            return Refuse(400, "control character in a handshake header")
    headers = [("Upgrade", "WebSocket"), ("Connection", "Upgrade")]
    if origin:
        headers.append((prefix + "Origin", origin))
    headers.append((prefix + "Location", location))
    if protocol:
        headers.append((prefix + "Protocol", protocol))
    return Accept(dialect, status, headers, numbers is not None, None, numbers)


def _location(environ: Mapping[str, object]) -> str:
    """The URL the client asked for, as the legacy drafts want it echoed.

    The client compares it with the URL it opened, so the path is rebuilt the
    way PEP 3333 says to (quote SCRIPT_NAME + PATH_INFO), and the Host header
    is used as sent (it carries the port the client used, if any).
    """
    secure = environ.get("wsgi.url_scheme") == "https"
    host = _header(environ, "HTTP_HOST")
    if not host:
        host = str(environ.get("SERVER_NAME", "localhost"))
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != ("443" if secure else "80"):
            host = "%s:%s" % (host, port)
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    path = quote(path.encode("latin-1", "replace"), safe=_PATH_SAFE)
    url = "%s://%s%s" % ("wss" if secure else "ws", host, path)
    query = environ.get("QUERY_STRING")
    if query:
        url += "?" + str(query)
    return url


def make_codec(accept: Accept, max_message_size: int) -> Codec:
    """The frame codec for an accepted handshake."""
    if accept.dialect == RFC6455:
        from .rfc6455 import RFC6455Codec

        return RFC6455Codec(max_message_size, deflate=accept.deflate)
    if accept.dialect == HYBI03:
        return Hybi03Codec(max_message_size)
    if accept.dialect == HIXIE76:
        return Hixie76Codec(max_message_size)
    if accept.dialect == HIXIE75:
        return Hixie75Codec(max_message_size)
    raise ValueError("unknown dialect %r" % accept.dialect)
