"""server-events (docs/protocol.rst §4.7): today's EventSource, one event per payload.

The payload travels as a JSON string: EventSource rewrites CR and CRLF inside
``data`` as LF, which would change the frames' lengths, and a JSON string
has no raw line break.
"""
from __future__ import annotations

from .common import Headers, json_string

CONTENT_TYPE = "text/event-stream; charset=UTF-8"
PRELUDE_SIZE = 2048


def headers() -> Headers:
    return [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]


def prelude() -> bytes:
    """A 2 KiB comment, so proxies that buffer small responses pass the stream on."""
    return b":" + b" " * (PRELUDE_SIZE - 3) + b"\n\n"


def event(payload: str) -> bytes:
    return ("data: " + json_string(payload) + "\n\n").encode("utf-8")
