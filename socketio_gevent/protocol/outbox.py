"""What a session sends: items, the bounded outbox, and encoding a message once.

Contract:

- Items are ``str`` (frames already encoded, so a broadcast is encoded once
  for every client) or :class:`BinaryMessage` (raw bytes, sent as a binary
  WebSocket frame where the dialect has one, as a ``b`` frame elsewhere).
  :func:`encode_item` turns an application's message into one.
- :class:`Outbox` holds what waits for the session's next write, in order.
  ``put`` raises :class:`QueueFull` once a bound of docs/protocol.rst §6
  would be passed; ``take`` empties it in one go so a request writes one
  payload.
- A :data:`FrameCache` travels with one broadcast: the bytes it framed for
  one wire format serve every other connection of that format.
"""
from __future__ import annotations

from typing import Any, Dict, Hashable, List, Mapping, Optional, Union

from .framing import encode_message

Annotations = Optional[Mapping[str, Optional[str]]]

#: Wire format -> the bytes of one broadcast item in that format.
FrameCache = Dict[Hashable, bytes]

#: What one queued item costs besides its characters, for ``max_queue_bytes``:
#: about CPython's header of a short ``str`` plus the list slot. Counting it
#: makes the bound one of memory, so a burst of tiny messages weighs what it
#: holds, neither nothing nor a fixed message count.
ITEM_COST = 64
#: ``max_messages`` when there is none: more than a list can hold in practice,
#: and a one-digit int, so the hot path's comparison stays the cheapest kind.
NO_BOUND = (1 << 30) - 1


class BinaryMessage:
    """Bytes with no annotations; its text form is encoded at most once."""

    __slots__ = ("data", "_text")

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self._text: Optional[str] = None

    @property
    def text_frame(self) -> str:
        """The ``b``-annotated frame, for transports without binary frames."""
        if self._text is None:
            self._text = encode_message(self.data)
        return self._text

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BinaryMessage) and other.data == self.data

    def __repr__(self) -> str:
        return "BinaryMessage(%r)" % (self.data,)


Item = Union[str, BinaryMessage]


class QueueFull(Exception):
    """The session's outbound queue passed a bound; ``reason`` names it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Outbox:
    """A bounded FIFO of outbound items (§3: nothing lost or duplicated).

    A list, not a deque: items leave only all at once (``take`` swaps the
    list), and an empty list costs 56 bytes where a deque costs ~600, which
    counts with thousands of idle sessions.
    """

    __slots__ = ("max_messages", "max_bytes", "items", "size")

    def __init__(self, max_messages: Optional[int], max_bytes: int) -> None:
        #: :data:`NO_BOUND` when unset, so the hot path compares ints only.
        self.max_messages = NO_BOUND if max_messages is None else max_messages
        self.max_bytes = max_bytes
        #: The queued items, oldest first (read it; add through ``put``).
        self.items: List[Item] = []
        #: Their weight against ``max_bytes``: each one's length (characters
        #: of a text frame, bytes of a binary one) plus :data:`ITEM_COST`.
        self.size = 0

    def full(self, size: int, kept: int = 0, kept_size: int = 0) -> Optional[str]:
        """Which bound an item of weight ``size`` would pass, or ``None`` if it fits.

        ``kept``/``kept_size``: messages held elsewhere for the same client
        (written, not yet acknowledged) that count against the same bounds.
        """
        if len(self.items) + kept >= self.max_messages:
            return "max_queue_messages (%d) exceeded" % self.max_messages
        if self.size + kept_size + size > self.max_bytes:
            return "max_queue_bytes (%d) exceeded" % self.max_bytes
        return None

    def put(self, item: Item, bounded: bool = True) -> None:
        """Append ``item``; ``bounded=False`` is for the one last ``0:0:,``."""
        size = len(item) + ITEM_COST
        if bounded:
            reason = self.full(size)
            if reason is not None:
                raise QueueFull(reason)
        self.items.append(item)
        self.size += size

    def take(self) -> List[Item]:
        items, self.items = self.items, []
        self.size = 0
        return items

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def as_text(items: List[Item]) -> str:
    """One text payload for transports that carry no binary frames."""
    try:
        return "".join(items)  # type: ignore[arg-type]  # the common case: text frames only
    except TypeError:
        return "".join(i if isinstance(i, str) else i.text_frame for i in items)


def encode_item(message: Any, annotations: Annotations = None) -> Item:
    """Encode an application's message once, in the form sessions queue (§2, §4.3).

    Bytes without annotations stay binary, so WebSocket dialects that have
    binary frames send them as such; everything else becomes a frame.
    """
    if isinstance(message, (bytes, bytearray, memoryview)) and not annotations:
        return BinaryMessage(bytes(message))
    return encode_message(message, annotations)
