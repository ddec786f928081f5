"""xhr-polling (docs/protocol.rst §4.1): the payload is the body, as UTF-8 text."""
from __future__ import annotations

from typing import Tuple

from .common import Headers

CONTENT_TYPE = "text/plain; charset=UTF-8"


def response(payload: str) -> Tuple[Headers, bytes]:
    body = payload.encode("utf-8")
    return [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ], body
