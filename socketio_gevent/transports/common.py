"""What every HTTP transport shares: escaped JSON strings, CORS, form bodies.

Why a JSON encoder for every string written into HTML or JavaScript (docs/protocol.rst §6): a
payload is attacker-controlled text, and ``</script>``, U+2028 or an ``&``
must not end the string or the script it sits in. Escaping ``<``, ``>``,
``&``, U+2028 and U+2029 as ``\\uXXXX`` keeps the string inert in any context.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs

from ..protocol.errors import ProtocolError

Headers = List[Tuple[str, str]]

_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def json_string(text: str) -> str:
    """``text`` as a JSON string literal safe inside ``<script>`` and HTML."""
    return json.dumps(text, ensure_ascii=False).translate(_ESCAPES)


#: Request headers whose values we may write back (CORS, the Flash policy).
ECHOED_HEADERS = ("HTTP_ORIGIN", "HTTP_SEC_WEBSOCKET_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS")


def control_character_in(environ: Mapping[str, Any]) -> Optional[str]:
    """The name of an echoed request header holding a control character (a bare
    CR, say), which would otherwise break our response header: refused with 400."""
    for key in ECHOED_HEADERS:
        value = environ.get(key)
        if value and not value.isprintable() and any(ch < " " or ch == "\x7f" for ch in value):
            return key[5:].replace("_", "-").title()
    return None


def cors_headers(origin: Optional[str], credentials: bool = True) -> Headers:
    """Headers echoing an allowed ``Origin`` (§4.1); none when there is none.

    ``credentials``: the configuration named this origin, so the browser may
    send cookies with the request; under ``*:*`` (anyone) it may not.
    """
    if not origin:
        return []
    if not credentials:
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin"),
    ]


def preflight_headers(origin: Optional[str], requested_headers: str, credentials: bool = True) -> Headers:
    """The answer to an ``OPTIONS`` preflight from an allowed origin (§4.1)."""
    headers = cors_headers(origin, credentials) + [
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
        ("Access-Control-Max-Age", "86400"),
    ]
    if requested_headers.strip():
        headers.append(("Access-Control-Allow-Headers", requested_headers.strip()))
    return headers


def parse_form(body: bytes) -> Dict[str, str]:
    """Decode an ``application/x-www-form-urlencoded`` body into ``{name: value}``.

    The first value of a repeated field wins. Bad percent-encoding or UTF-8
    is a :class:`ProtocolError` (answered ``400``), never a crash.
    """
    try:
        text = body.decode("ascii")
        fields = parse_qs(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("form body is not valid urlencoded UTF-8") from exc
    return {k: v[0] for k, v in fields.items()}


def payload_from_form(fields: Dict[str, str]) -> str:
    """The ``data`` field: a raw payload (§3)."""
    if "data" not in fields:
        raise ProtocolError("form body has no 'data' field")
    return fields["data"]
