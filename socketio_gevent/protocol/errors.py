"""The one error type for what a peer got wrong, and what the edge answers with it.

Why not a ``ValueError``: the edge catches this error around the peer's
input and answers it (an HTTP status, or the WebSocket dialect's error
close). A ``ValueError`` raised by our own bug must not be caught by the
same ``except`` and answered as if the peer had sent garbage, so the two
share no base class but ``Exception``.

Example::

    try:
        frames = decode_payload(body)
    except ProtocolError as exc:
        return error_response(exc.status, exc.reason)   # 400 and one line
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List

from ..websocket.codec import CloseCode

if TYPE_CHECKING:  # pragma: no cover
    from .framing import Frame

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """Malformed input from the peer (docs/protocol.rst §1, errors).

    ``status`` is the HTTP answer to a request that carried it; ``close_code``
    the WebSocket close (the dialect's error close, docs/protocol.rst §4.3).
    """

    def __init__(self, reason: str, status: int = 400,
                 close_code: CloseCode = CloseCode.PROTOCOL_ERROR) -> None:
        super().__init__(reason)
        #: One human-readable line: the HTTP body or the close reason.
        self.reason: str = reason
        self.status = status
        self.close_code = close_code
        #: Frames a streaming decoder completed in the failing call, before
        #: the bad one: over WebSocket they still count (§1).
        self.frames: List["Frame"] = []
