"""xhr-multipart (docs/protocol.rst §4.6): ``multipart/x-mixed-replace`` parts, bare ``\\n`` line ends.

A payload may itself contain ``--socketio``; clients find frames by their
lengths, so nothing here escapes it.
"""
from __future__ import annotations

from .common import Headers

CONTENT_TYPE = 'multipart/x-mixed-replace;boundary="socketio"'
PRELUDE = b"--socketio\n"


def headers() -> Headers:
    return [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store")]


def part(payload: str) -> bytes:
    return ("Content-Type: text/plain\n\n" + payload + "\n--socketio\n").encode("utf-8")
