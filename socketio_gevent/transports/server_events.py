"""server-events (docs/protocol.rst §4.7): today's EventSource, one event per payload.

The payload travels as a JSON string: EventSource rewrites CR and CRLF inside
``data`` as LF, which would change the frames' lengths, and a JSON string
has no raw line break.
"""
from __future__ import annotations

import json
from typing import List

from ..protocol.errors import ProtocolError
from .common import Headers, json_string

CONTENT_TYPE = "text/event-stream; charset=UTF-8"
PRELUDE_SIZE = 2048


def headers() -> Headers:
    return [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"),
            ("X-Content-Type-Options", "nosniff")]


def prelude() -> bytes:
    """A 2 KiB comment, so proxies that buffer small responses pass the stream on."""
    return b":" + b" " * (PRELUDE_SIZE - 3) + b"\n\n"


def event(payload: str) -> bytes:
    return ("data: " + json_string(payload) + "\n\n").encode("utf-8")


class EventReader:
    """The client's side: payloads out of an event stream (``data:`` lines, JSON strings)."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> List[str]:
        buf = (self._buffer + text).replace("\r\n", "\n")
        events = buf.split("\n\n")
        self._buffer = events.pop()
        payloads: List[str] = []
        for event in events:
            data = [line[5:].lstrip(" ") for line in event.split("\n") if line.startswith("data:")]
            if not data:
                continue  # a comment (the prelude)
            try:
                payload = json.loads("\n".join(data))
            except ValueError:
                raise ProtocolError("server-events data is not a JSON string") from None
            if not isinstance(payload, str):
                raise ProtocolError("server-events data is not a JSON string")
            payloads.append(payload)
        return payloads
