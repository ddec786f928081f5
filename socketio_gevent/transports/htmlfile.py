"""htmlfile, the forever iframe (docs/protocol.rst §4.5): ``<script>`` calls into the parent page.

Every payload is written through :func:`json_string`, so a message holding
``</script>`` or U+2028 cannot end the script early. The callback name comes
from the query (``c``) and is checked against a tight alphabet before it is
written into the page.
"""
from __future__ import annotations

import json
import re
from typing import Dict, List
from urllib.parse import parse_qs

from ..protocol.errors import ProtocolError
from .common import Headers, json_string

CONTENT_TYPE = "text/html; charset=UTF-8"
PRELUDE_SIZE = 256
_CALLBACK = re.compile(r"[A-Za-z0-9_.]{1,64}")


def parse_callback(query_string: str) -> str:
    """The ``c`` query parameter, default ``s``; anything odd is a ``400``."""
    fields: Dict[str, List[str]] = parse_qs(query_string, keep_blank_values=True)
    values = fields.get("c")
    if not values:
        return "s"
    if len(values) != 1 or not _CALLBACK.fullmatch(values[0]):
        raise ProtocolError("htmlfile callback 'c' must be 1-64 letters, digits, '_' or '.'")
    return values[0]


def headers() -> Headers:
    return [
        ("Content-Type", CONTENT_TYPE),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def prelude() -> bytes:
    """``<html><body>`` padded to 256 bytes: browsers render nothing before that."""
    return b"<html><body>".ljust(PRELUDE_SIZE, b" ")


def chunk(callback: str, payload: str) -> bytes:
    return ("<script>parent.%s._(%s, document);</script>" % (callback, json_string(payload))).encode("utf-8")


_SCRIPT = re.compile(r"<script>parent\.[A-Za-z0-9_.]{1,64}\._\((\".*?\"), document\);</script>", re.S)


class ScriptReader:
    """The client's side: payloads out of the chunks of a forever iframe.

    The payload strings are JSON with ``<`` escaped, so ``</script>`` ends
    a call and nothing inside one can look like it.
    """

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> List[str]:
        buf = self._buffer + text
        payloads: List[str] = []
        end = 0
        for match in _SCRIPT.finditer(buf):
            try:
                payloads.append(json.loads(match.group(1)))
            except ValueError:
                raise ProtocolError("htmlfile chunk is not a JSON string") from None
            end = match.end()
        rest = buf[end:]
        if end == 0 and len(rest) > 1 << 22 and "<script>" not in rest:
            raise ProtocolError("htmlfile stream carries no script call")
        self._buffer = rest.lstrip(" ") if not end else rest
        return payloads
