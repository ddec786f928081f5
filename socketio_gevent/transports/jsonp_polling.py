"""jsonp-polling (docs/protocol.rst §4.2): ``io.JSONP[<index>]._("<payload>");``.

The index comes from the URL, so it is checked to be a decimal integer and
re-rendered as one: nothing the client sends is echoed into the script as is.
"""
from __future__ import annotations

import json
from typing import Dict, Tuple

from ..protocol.errors import ProtocolError
from ..protocol.framing import encodable
from .common import Headers, json_string, payload_from_form

CONTENT_TYPE = "text/javascript; charset=UTF-8"
MAX_INDEX_DIGITS = 9


def parse_index(segment: str) -> int:
    if not segment or len(segment) > MAX_INDEX_DIGITS or not all("0" <= c <= "9" for c in segment):
        raise ProtocolError("jsonp index must be a decimal integer")
    return int(segment)


def response(index: int, payload: str) -> Tuple[Headers, bytes]:
    body = ("io.JSONP[%d]._(%s);" % (index, json_string(payload))).encode("utf-8")
    return [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ], body


def payload_from_jsonp_form(fields: Dict[str, str]) -> str:
    """``d`` (a JSON string, our client) or ``data`` (raw, the 2010 client).

    Browsers rewrite line breaks in form values as CRLF; a raw ``data`` field
    gets them turned back into LF so the frame lengths hold again.
    """
    if "d" in fields:
        try:
            value = json.loads(fields["d"])
        except ValueError as exc:
            raise ProtocolError("'d' field is not a JSON string") from exc
        if not isinstance(value, str):
            raise ProtocolError("'d' field is not a JSON string")
        if not encodable(value):  # "\ud800" spelled in JSON: no one could be sent it
            raise ProtocolError("'d' field holds a lone surrogate")
        return value
    return payload_from_form(fields).replace("\r\n", "\n")
