"""xhr-multipart (docs/protocol.rst §4.6): ``multipart/x-mixed-replace`` parts, bare ``\\n`` line ends.

A payload may itself contain ``--socketio``; clients find frames by their
lengths, so nothing here escapes it.
"""
from __future__ import annotations

from typing import List

from ..protocol.errors import ProtocolError
from ..protocol.framing import Frame, read_frame
from .common import Headers

CONTENT_TYPE = 'multipart/x-mixed-replace;boundary="socketio"'
PRELUDE = b"--socketio\n"


def headers() -> Headers:
    return [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]


def part(payload: str) -> bytes:
    return ("Content-Type: text/plain\n\n" + payload + "\n--socketio\n").encode("utf-8")


_PART_END = "\n--socketio\n"
_CLOSE_END = "\n--socketio--"


class PartReader:
    """The client's side: frames out of the parts, found by their lengths.

    A message may contain the boundary, so a part ends where its frames are
    whole and the next text is ``\n--socketio\n`` (no frame starts with
    ``\n``).
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._state = "preamble"  # -> "headers" -> "body" -> "headers" ... ("done")
        self._part: List[Frame] = []

    def feed(self, text: str) -> List[Frame]:
        buf, pos = self._buffer + text, 0
        frames: List[Frame] = []
        boundary = PRELUDE.decode("ascii")
        while self._state != "done":
            if self._state == "preamble":
                i = buf.find(boundary, pos)
                if i < 0:
                    pos = max(pos, len(buf) - len(boundary) + 1)
                    break
                pos, self._state = i + len(boundary), "headers"
            elif self._state == "headers":
                i = buf.find("\n\n", pos)
                if i < 0:
                    break
                pos, self._state = i + 2, "body"
            elif buf[pos:pos + 1] == "\n":
                ahead = buf[pos:pos + len(_CLOSE_END)]
                if ahead.startswith(_PART_END):
                    pos, self._state = pos + len(_PART_END), "headers"
                    frames += self._part  # a part is one payload: its frames go together
                    self._part = []
                elif ahead == _CLOSE_END:
                    self._state = "done"
                    frames += self._part
                    self._part = []
                elif _PART_END.startswith(ahead) or _CLOSE_END.startswith(ahead):
                    break  # the delimiter is still arriving
                else:
                    raise ProtocolError("multipart part does not end with the boundary")
            else:
                found = read_frame(buf, pos)
                if found is None:
                    break
                self._part.append(found[0])
                pos = found[1]
        self._buffer = "" if self._state == "done" else buf[pos:]
        return frames
