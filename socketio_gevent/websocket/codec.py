"""What every WebSocket dialect's codec offers, and the close codes they share.

Why a protocol class: the edge (``socketio_gevent.edge.connection``) pumps
bytes through whichever codec the handshake picked, so the four dialects
must look alike to it. :class:`Codec` writes that shape down once, and
mypy checks each dialect against it.

The shape is sans-IO, learned from wsproto: bytes go in with
``receive_data``, events (``socketio_gevent.websocket.events``) come out of
``events()``, and every ``send_*`` returns the bytes to write. A codec never
reads a socket, never blocks and never raises for anything the peer sends
(docs/protocol.rst §4.3).

Example::

    codec: Codec = make_codec(accept, max_message_size=1 << 20)
    codec.receive_data(data_from_the_socket)
    for event in codec.events():
        ...
    socket.send(codec.send_text("1:3::hi,"))
"""
from __future__ import annotations

import enum
from typing import Iterator, Optional, Protocol

from .events import Event

__all__ = ["Codec", "CloseCode"]


class CloseCode(enum.IntEnum):
    """RFC 6455 §7.4.1 close codes, as used on every dialect.

    The older dialects have no codes on the wire; there the code only names
    the failure in logs and in ``Failed`` events.
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011


class Codec(Protocol):
    """One connection's framing, in one dialect."""

    #: The dialect has binary frames; otherwise binary messages travel as
    #: ``b``-annotated text (docs/protocol.rst §2).
    binary_frames: bool

    @property
    def stateless_send(self) -> bool:
        """The same text always frames to the same bytes, so one encoding
        can serve every connection of a broadcast."""

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; never raises."""

    def events(self) -> Iterator[Event]:
        """Every event the buffered bytes complete; after ``Close`` or
        ``Failed``, nothing more."""

    def whole_text(self, data: bytes) -> Optional[str]:
        """A fast path for the commonest read: the text of ``data`` when it
        is exactly one whole text message and the codec holds nothing else;
        else ``None``, with ``data`` untouched (give it to ``receive_data``).
        A dialect may always answer ``None``."""

    def send_text(self, text: str) -> bytes:
        """One text message, framed."""

    def send_binary(self, data: bytes) -> bytes:
        """One binary message, framed (only when ``binary_frames``)."""

    def send_ping(self, payload: bytes = b"") -> bytes:
        """A ping (empty bytes where the dialect has none)."""

    def send_pong(self, payload: bytes) -> bytes:
        """The answer to a ping (empty bytes where the dialect has none)."""

    def send_close(self, code: int = 1000, reason: str = "") -> bytes:
        """Our close frame (empty bytes where closing is closing TCP)."""
