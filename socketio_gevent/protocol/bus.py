"""What travels between processes: broadcasts and disconnects, as stream entries.

Several processes (gunicorn workers, machines) share one message bus (a
Redis stream). Each process delivers its own publications at once and
writes them to the bus; every other process reads the bus and delivers
what others wrote. This module is the sans-IO half: the entry format and
the reader's bookkeeping.

Contract:

- An entry is a flat ``{bytes: bytes}`` map (what ``XADD`` takes and
  ``XREAD`` gives back): ``o`` the publishing process, ``s`` its sequence
  number (1, 2, 3… per publisher), ``k`` the kind (``t`` a text frame,
  ``b`` binary data, ``c`` close a session), ``d`` the data, ``x`` the
  excluded session ids joined by ``,`` (a session id never holds one),
  ``r`` the room (absent: every client).
- The message is encoded once, by the publisher; readers queue the same
  frame on every session.
- :class:`BusReader` keeps the last sequence number of each publisher: an
  entry read twice (a publisher that retried a write whose answer it lost)
  is dropped, and a jump (entries trimmed from the stream before this
  reader saw them) is counted in ``missed``.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Mapping, NamedTuple, Optional, Union

from .outbox import BinaryMessage, Item

__all__ = ["Broadcast", "Disconnect", "BusMessage", "BusError", "encode_entry", "BusReader"]

Entry = Dict[bytes, bytes]


class Broadcast(NamedTuple):
    #: The message, encoded once for every client (a frame or binary).
    item: Item
    #: Session ids that must not receive it.
    except_: FrozenSet[str]
    #: Only the members of this room (or the session with this id) receive it;
    #: ``None``: every client. Each process delivers to its own members, so a
    #: bus carries the name, never a member list.
    room: Optional[str] = None


class Disconnect(NamedTuple):
    """End the session with this id, wherever it lives."""

    sid: str


BusMessage = Union[Broadcast, Disconnect]


class BusError(ValueError):
    """An entry this version cannot read (another program wrote to the stream)."""


def encode_entry(origin: bytes, seq: int, message: BusMessage) -> Entry:
    """The stream entry for ``message``, the ``seq``-th of publisher ``origin``."""
    entry: Entry = {b"o": origin, b"s": b"%d" % seq}
    if isinstance(message, Disconnect):
        entry[b"k"] = b"c"
        entry[b"d"] = message.sid.encode()
        return entry
    item = message.item
    if isinstance(item, BinaryMessage):
        entry[b"k"] = b"b"
        entry[b"d"] = item.data
    else:
        entry[b"k"] = b"t"
        entry[b"d"] = item.encode()
    if message.except_:
        entry[b"x"] = ",".join(sorted(message.except_)).encode()
    if message.room is not None:
        entry[b"r"] = message.room.encode()
    return entry


def decode_entry(entry: Mapping[bytes, bytes]) -> BusMessage:
    """The message of one entry; :class:`BusError` if it is not one of ours."""
    try:
        kind = entry[b"k"]
        data = entry[b"d"]
        if kind == b"t":
            item: Item = data.decode()
        elif kind == b"b":
            item = BinaryMessage(data)
        elif kind == b"c":
            return Disconnect(data.decode())
        else:
            raise BusError("unknown entry kind %r" % (kind,))
        excluded = entry.get(b"x")
        room = entry.get(b"r")
        return Broadcast(item, frozenset(excluded.decode().split(",")) if excluded else frozenset(),
                         None if room is None else room.decode())
    except (KeyError, UnicodeDecodeError) as error:
        raise BusError("malformed entry (%s)" % error) from None


class BusReader:
    """Turns the entries a process reads into the messages it must deliver.

    ``origin`` is this process's own name: its entries were delivered when
    published and are skipped. ``max_publishers`` bounds the memory of
    sequence numbers (publishers that come and go, one per worker start).
    """

    __slots__ = ("origin", "max_publishers", "_last", "missed", "duplicates")

    def __init__(self, origin: bytes, max_publishers: int = 4096) -> None:
        self.origin = origin
        self.max_publishers = max_publishers
        self._last: Dict[bytes, int] = {}
        #: Entries of other publishers this reader never saw (gaps in their sequence).
        self.missed = 0
        #: Entries read twice and dropped.
        self.duplicates = 0

    def read(self, entry: Mapping[bytes, bytes]) -> Optional[BusMessage]:
        """The message to deliver, or ``None`` (our own, or one already delivered)."""
        origin = entry.get(b"o")
        if origin == self.origin:
            return None
        if origin is None:
            raise BusError("entry without a publisher")
        try:
            seq = int(entry[b"s"])
        except (KeyError, ValueError):
            raise BusError("entry without a sequence number") from None
        last = self._last.pop(origin, None)  # popped and put back: the dict's order is recency
        if last is not None:
            if seq <= last:
                self._last[origin] = last
                self.duplicates += 1
                return None
            if seq > last + 1:
                self.missed += seq - last - 1
        elif len(self._last) >= self.max_publishers:
            del self._last[next(iter(self._last))]
        self._last[origin] = seq
        return decode_entry(entry)
