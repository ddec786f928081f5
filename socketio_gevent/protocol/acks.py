"""The ``acks`` extension's bookkeeping, one side of one direction each (docs/protocol.rst §9).

Why cumulative counts are enough: a session's messages are ordered, so "I
have received your first *n*" says everything a receiver knows, and a
sender needs to keep only what comes after *n*. :class:`Outgoing` is the
sender's ledger (written, not yet acknowledged); :class:`Incoming` the
receiver's (how many delivered, how many already acknowledged, which number
comes next). Both the server's session machine and the Python client use
them; neither does I/O or keeps time of its own.

Contract: a peer's bad count is never an exception here but a one-line
reason (``Outgoing.ack``, ``Incoming.sequence``, ``Incoming.accept``), so
the caller ends the session with it; :func:`parse_count` raises
:class:`~socketio_gevent.protocol.errors.ProtocolError` for text that is no
count at all.

Example (a receiver that got 1..3, then a resend from 2)::

    got = Incoming()
    got.sequence(1); [got.accept() for _ in range(3)]   # True, True, True
    got.sequence(2); got.accept(), got.accept()         # False, False: duplicates
    got.accept()                                         # True: number 4
"""
from __future__ import annotations

from typing import List, Optional, Tuple
from urllib.parse import parse_qs

from .errors import ProtocolError
from .framing import encode_frame
from .outbox import ITEM_COST, BinaryMessage, Item

__all__ = ["ACK", "SEQ", "ACK_EVERY", "ACK_DELAY", "Outgoing", "Incoming", "ack_frame", "seq_frame", "plain_ack",
           "parse_count", "is_message", "read_query"]

#: Frame types of the extension.
ACK = "4"
SEQ = "5"
#: A receiver acknowledges after this many messages (the server: in its
#: connection's next write, usually with the answers to them) …
ACK_EVERY = 16
#: … or this many seconds after the first one it has not acknowledged.
ACK_DELAY = 0.2
#: The server's answer to ``acks=1``: ``4:1:0,`` right after the ``3:`` frame.
AGREED = encode_frame(ACK, "0")
_MAX_DIGITS = 12


def ack_frame(count: int) -> str:
    return encode_frame(ACK, str(count))


def seq_frame(number: int) -> str:
    return encode_frame(SEQ, str(number))


def parse_count(text: str) -> int:
    """A count or sequence number as the peer wrote it; ``ProtocolError`` if it is none."""
    if not text or len(text) > _MAX_DIGITS or not (text.isascii() and text.isdigit()):
        raise ProtocolError("acknowledgement count is not a decimal number: %r" % text[:20])
    return int(text)


def is_message(item: Item) -> bool:
    """Is ``item`` a numbered message (not ``0:0:,``, a heartbeat or an ack)?"""
    return type(item) is BinaryMessage or item[0] == "1"  # type: ignore[index]  # frame types are one digit


def plain_ack(payload: str) -> Optional[int]:
    """The count of a payload that is one well-formed ack frame (``4:L:count,``),
    else ``None``: the full decoder takes it, and reports what is wrong.

    A WebSocket client acknowledges in a payload of its own; this reads it
    without building frames (once per 16 messages on a busy socket).
    """
    if payload[:2] != "4:" or payload[-1:] != ",":
        return None
    length, colon, count = payload[2:-1].partition(":")
    if (not colon or not length.isdigit() or int(length) != len(count) or len(count) > _MAX_DIGITS
            or not (count.isascii() and count.isdigit())):
        return None
    return int(count)


def read_query(query_string: str) -> Tuple[bool, Optional[int]]:
    """``(asks for the extension, the count it resumes from)`` from a request's query."""
    if "a" not in query_string:  # neither "acks" nor "a": the common case, no parsing
        return False, None
    fields = parse_qs(query_string, keep_blank_values=True)
    wants = fields.get("acks", [""])[0] == "1"
    counts = fields.get("a")
    return wants, (parse_count(counts[0]) if counts else None)


class Outgoing:
    """The sender's ledger: messages written, not yet acknowledged, in order.

    They are numbered ``acked + 1 …``; the next one written gets ``number``.
    """

    __slots__ = ("acked", "items", "size")

    def __init__(self) -> None:
        #: How many of our messages the peer said it has (cumulative).
        self.acked = 0
        self.items: List[Item] = []
        #: Weight of ``items`` against the queue bounds (as :attr:`Outbox.size`).
        self.size = 0

    @property
    def number(self) -> int:
        """The number the next message written will carry."""
        return self.acked + len(self.items) + 1

    def keep(self, item: Item) -> None:
        self.items.append(item)
        self.size += len(item) + ITEM_COST

    def unkeep_last(self) -> Item:
        """The last kept item was not written after all (a declined direct write)."""
        item = self.items.pop()
        self.size -= len(item) + ITEM_COST
        return item

    def ack(self, count: int, ordered: bool = True) -> Optional[str]:
        """The peer has our first ``count``: forget those. A reason if that cannot be.

        ``ordered``: the count came on the same connection as the earlier
        ones, so it cannot go backwards. Counts on separate HTTP requests
        may arrive out of order (a delayed POST after a newer poll); an
        older one is then stale, not wrong, and changes nothing.
        """
        if count < self.acked:
            if not ordered:
                return None
            return "acknowledgement went backwards (%d after %d)" % (count, self.acked)
        if count > self.acked + len(self.items):
            return "acknowledgement beyond what was sent (%d of %d)" % (count, self.acked + len(self.items))
        done = count - self.acked
        if done:
            items = self.items
            self.size -= sum(map(len, items[:done])) + done * ITEM_COST
            del items[:done]
            self.acked = count
        return None

    def take_all(self) -> List[Item]:
        """Everything not acknowledged, to be written again (a new connection)."""
        items, self.items, self.size = self.items, [], 0
        return items


class Incoming:
    """The receiver's ledger: how many delivered, how many acknowledged, what comes next."""

    __slots__ = ("count", "told", "expect", "due_at")

    def __init__(self) -> None:
        #: Messages delivered, in order, exactly once.
        self.count = 0
        #: The count the peer last heard from us.
        self.told = 0
        #: The number of the next message on this connection or in this payload
        #: (``None``: it follows on from ``count``).
        self.expect: Optional[int] = None
        #: When an ack becomes due (``ACK_DELAY`` after the first untold message).
        self.due_at: Optional[float] = None

    @property
    def untold(self) -> int:
        return self.count - self.told

    def sequence(self, number: int) -> Optional[str]:
        """A ``5:`` frame: the next message is ``number``. A reason if that leaves a gap."""
        if number < 1 or number > self.count + 1:
            return "sequence gap: message %d announced, %d received so far" % (number, self.count)
        self.expect = number
        return None

    def accept(self) -> bool:
        """One message arrived: ``True`` deliver it, ``False`` it is a duplicate.

        (``sequence`` refuses gaps, so a number is never beyond ``count + 1``.)
        """
        number = self.count + 1 if self.expect is None else self.expect
        self.expect = number + 1
        if number <= self.count:
            return False
        self.count = number
        return True

    def told_now(self) -> str:
        """The ack frame for everything received; it counts as said.

        A pending ``due_at`` stays: when it comes, nothing is owed any more
        and the timer costs one check (cheaper than re-arming per message).
        """
        self.told = self.count
        return ack_frame(self.count)
