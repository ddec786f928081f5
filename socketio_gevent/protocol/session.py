"""One socket.io session's life, as a pure state machine (docs/protocol.rst §3, §5).

Why pure: a session outlives the requests that carry it (polls come and go,
a stream drops and is reopened on another transport), and every rule about
that life (takeover, heartbeats, ``close_timeout``, the queue bound, who
may write when) is easiest to get right, and to test, with no socket, no
greenlet and no clock of its own. The edge (``socketio_gevent.edge.sessions``)
only pumps: it feeds inputs, applies the effects, and keeps one loop timer
at :attr:`Session.deadline`. The style follows h11's and wsproto's
connection objects.

Inputs are methods; time is always passed in (``now``, seconds on a
monotonic clock). Outputs are effects appended to :attr:`Session.effects`,
which the edge drains after each input:

=======================  =====================================================
effect                   the edge then
=======================  =====================================================
:class:`Opened`          registers the client and fires ``connection``
:class:`Closed`          fires ``disconnect`` (once, on leaving "open")
:class:`Finished`        forgets the session
:class:`Wake`            tells the attached connection that items are queued
:class:`SendHeartbeat`   writes the frame on that connection (never queued)
:class:`EndConnection`   ends that request or socket (already detached)
:class:`SetTimer`        re-arms its one timer (``None``: no timer)
:class:`Log`             logs the line, naming the session
=======================  =====================================================

One input is on every message's path and so answers with a plain code
instead of adding effects in the common case: :meth:`Session.push` ("write
it now", "queued: wake the connection", "queued", "dropped").

States::

    new --open()--> open --close(notify)--> closing --0:0:, taken--> closed
     |                |                        |                        ^
     +----------------+--close(), expiry, full queue, client's 0:0:, ---+

A connection is attached by ``attach`` and leaves by ``detach`` or, when the
session ends it (takeover, heartbeat timeout, the end of the session), it is
detached *before* the ``EndConnection`` effect, so the edge's later
``detach`` of an ended connection is harmless.

Example::

    session = Session("sid", Options.build(), "xhr-polling", now=0.0)
    session.open()                    # effects: Opened (SetTimer(8.0) came at birth)
    session.attach(poll, "xhr-polling", 1.0)
    session.push(item)                # DIRECT: poll may write it now
    session.detach(poll, 2.0)         # effects: SetTimer(10.0)
    session.tick(10.0)                # effects: Log, Closed, Finished
"""
from __future__ import annotations

import enum
import logging
import secrets
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .errors import ProtocolError
from .framing import (DISCONNECT, DISCONNECT_FRAME, HEARTBEAT, MESSAGE, SESSION_ID, Frame,
                      decode_body, encode_frame)
from .options import Options
from .outbox import Item, Outbox

__all__ = [
    "State", "NEW", "OPEN", "CLOSING", "CLOSED", "Session", "DIRECT", "WAKE", "QUEUED", "DROPPED",
    "Heartbeats", "new_sid", "decode_inbound", "decode_inbound_prefix",
    "Opened", "Closed", "Finished", "Wake", "SendHeartbeat", "EndConnection", "SetTimer", "Log",
    "Effect", "Inbound",
]

#: An inbound event: ("message", message, annotations), ("heartbeat", data, None),
#: ("disconnect", None, None) or ("ignored", type, None).
Inbound = Tuple[str, Any, Any]
#: A message for the application: (message, annotations).
Received = Tuple[Any, Dict[str, Optional[str]]]


class State(enum.Enum):
    NEW = "new"          #: created; ``connection`` has not fired yet
    OPEN = "open"
    CLOSING = "closing"  #: the application disconnected it; its ``0:0:,`` waits
    CLOSED = "closed"


# The members as plain names: on the per-message path, ``State.OPEN`` costs
# an enum attribute lookup (~70 ns on CPython 3.11) where a global costs none.
NEW, OPEN, CLOSING, CLOSED = State.NEW, State.OPEN, State.CLOSING, State.CLOSED


# -- effects -----------------------------------------------------------------

class Opened(NamedTuple):
    """The session is registered: fire ``connection``."""


class Closed(NamedTuple):
    """The session left "open": fire ``disconnect`` (exactly once)."""
    reason: str


class Finished(NamedTuple):
    """The session is over: forget it (its id now answers 404)."""
    reason: str


class Wake(NamedTuple):
    """Items are queued for ``connection``."""
    connection: Any


class SendHeartbeat(NamedTuple):
    """Write ``frame`` on ``connection`` now; heartbeats are never queued."""
    connection: Any
    frame: str


class EndConnection(NamedTuple):
    """End ``connection`` (the session already let go of it)."""
    connection: Any
    reason: str


class SetTimer(NamedTuple):
    """Call :meth:`Session.tick` at ``at`` (``None``: no timer)."""
    at: Optional[float]


class Log(NamedTuple):
    level: int
    text: str


Effect = Any  # one of the classes above


def new_sid() -> str:
    """144 bits from the OS CSPRNG, URL-safe, never a ``/`` (§3)."""
    return secrets.token_urlsafe(18)


class Heartbeats:
    """The heartbeat counter of one session (§5).

    Heartbeats are numbered 1, 2, 3…; an echo of a number that was sent and
    not yet answered counts (it also answers every earlier one); a wrong or
    stale echo is ignored.
    """

    __slots__ = ("count", "answered")

    def __init__(self) -> None:
        self.count = 0
        self.answered = 0

    @property
    def awaiting(self) -> Optional[str]:
        """The latest heartbeat whose echo has not come back, if any."""
        return str(self.count) if self.answered < self.count else None

    def beat(self) -> str:
        self.count += 1
        return encode_frame(HEARTBEAT, str(self.count))

    def echo(self, data: str) -> bool:
        if not data.isdigit() or not data.isascii() or len(data) > 12:
            return False
        number = int(data)
        if self.answered < number <= self.count:
            self.answered = number
            return True
        return False

    def overdue(self, number: int) -> bool:
        """Heartbeat ``number`` was sent and never answered."""
        return self.answered < number <= self.count


_OPENED = Opened()

#: What :meth:`Session.push` answers.
DIRECT, WAKE, QUEUED, DROPPED = 1, 2, 3, 0


class Session:
    """The state of one session; see the module docstring for the protocol."""

    __slots__ = ("sid", "options", "state", "transport", "connection", "connections",
                 "outbox", "heartbeats", "effects", "deadline",
                 "_close_at", "_beat_at", "_check_at", "_check_number", "_last_beat_at",
                 "_interval", "_timeout")

    def __init__(self, sid: str, options: Options, transport: str, now: float) -> None:
        self.sid = sid
        self.options = options
        self.state = NEW
        #: The transport of the latest request that attached (or created it).
        self.transport = transport
        #: The attached request or socket (opaque here), if any.
        self.connection: Any = None
        #: How many requests have attached to the session.
        self.connections = 0
        self.outbox = Outbox(options.max_queue_messages, options.max_queue_bytes)
        self.heartbeats = Heartbeats()
        #: Outputs of the inputs so far; the edge takes and clears them.
        self.effects: List[Effect] = []
        #: When :meth:`tick` is due next (the last :class:`SetTimer`).
        self.deadline: Optional[float] = None
        # A session nobody attaches to ends like one whose client left.
        self._close_at: Optional[float] = now + self._close_timeout()
        self._beat_at: Optional[float] = None
        self._check_at: Optional[float] = None
        self._check_number = 0
        self._last_beat_at = now
        self._interval: Optional[float] = None
        self._timeout: Optional[float] = None
        self._retime()

    @property
    def session_frame(self) -> str:
        """The ``3:`` frame, the first a session ever sends."""
        return encode_frame(SESSION_ID, self.sid)

    # -- lifecycle ---------------------------------------------------------
    def open(self) -> None:
        """The ``3:`` frame is written or queued: register the session."""
        if self.state is NEW:
            self.state = OPEN
            self.effects.append(_OPENED)

    def attach(self, connection: Any, transport: str, now: float) -> None:
        """A request opened the session; an older one is ended (takeover, §3)."""
        if self.state is CLOSED:
            self.effects.append(EndConnection(connection, "session closed"))
            return
        old = self.connection
        self.connection = connection
        self.transport = transport
        self.connections += 1
        if old is not None and old is not connection:
            self.effects.append(EndConnection(old, "taken over by a newer request"))
        timers = self.options.transport(transport)
        self._interval, self._timeout = timers.heartbeat_interval, timers.heartbeat_timeout
        self._beat_at = now + self._interval if self._interval else None
        self._check_at = None
        self._close_at = None
        self._retime()

    def detach(self, connection: Any, now: float) -> None:
        """The request ended: the session waits ``close_timeout`` for the next."""
        if connection is None or connection is not self.connection:
            return
        self.connection = None
        self._beat_at = self._check_at = None
        if self.state is CLOSING and not self.outbox:
            self._finish("disconnected by the application")
        elif self.state is not CLOSED:
            self._close_at = now + self._close_timeout()
        self._retime()

    def close(self, reason: str, notify: bool, now: float) -> None:
        """End the session; with ``notify`` send ``0:0:,`` first (§1).

        Leaving "open" adds :class:`Closed` once. With ``notify`` the session
        stays "closing" until its ``0:0:,`` is taken by a connection, or
        until ``close_timeout`` passes with none attached.
        """
        if self.state is CLOSED or self.state is CLOSING:
            return
        if self.state is OPEN:
            self.effects.append(Closed(reason))
            if notify:
                self.state = CLOSING
                self.outbox.put(DISCONNECT_FRAME, bounded=False)
                if self.connection is not None:
                    self.effects.append(Wake(self.connection))
                elif self._close_at is None:
                    self._close_at = now + self._close_timeout()
                self._retime()
                return
        self._finish(reason)

    def tick(self, now: float) -> None:
        """The timer fired: heartbeat checks, heartbeats, expiry, in that order."""
        connection = self.connection
        if self._check_at is not None and now >= self._check_at:
            self._check_at = None
            number = self._check_number
            if connection is not None and self.heartbeats.overdue(number):
                reason = "heartbeat %d not answered" % number
                self._log(logging.INFO, reason)
                self.detach(connection, now)
                self.effects.append(EndConnection(connection, reason))
                connection = None
        if self._beat_at is not None and now >= self._beat_at and connection is not None:
            self.effects.append(SendHeartbeat(connection, self.heartbeats.beat()))
            self._last_beat_at = now
            self._beat_at = now + (self._interval or 0.0)
            if self._timeout and self._check_at is None:
                self._check_at = now + self._timeout
                self._check_number = self.heartbeats.count
        if self._close_at is not None and now >= self._close_at and connection is None:
            self._close_at = None
            if self.state is CLOSING:
                self._finish("disconnected by the application")
            elif self.state is not CLOSED:
                self._log(logging.INFO, "timed out")
                self.close("close_timeout passed", False, now)
        self._retime()

    # -- outbound ----------------------------------------------------------
    def push(self, item: Item, direct: bool = True) -> int:
        """An outbound item; the answer says what the edge does with it.

        ``DIRECT``: the attached connection may write it now, skipping the
        queue (open, attached, nothing queued ahead of it: order is kept);
        if the connection declines, push it again with ``direct=False``.
        ``WAKE``: queued; wake the attached connection. ``QUEUED``: queued
        for the next request. ``DROPPED``: the session is not open, or the
        item passed a bound of §6 and ended the session (with a logged
        reason and effects).
        """
        if self.state is not OPEN:
            return DROPPED
        outbox = self.outbox
        items = outbox.items
        if direct and self.connection is not None and not items:
            return DIRECT
        # Outbox.put, inlined: this runs once per message per recipient.
        size = len(item)
        if len(items) >= outbox.max_messages or outbox.size + size > outbox.max_bytes:
            reason = outbox.full(size) or "queue bound exceeded"
            self._log(logging.WARNING, "disconnected: %s" % reason)
            self._finish_open(reason)
            return DROPPED
        items.append(item)
        outbox.size += size
        return QUEUED if self.connection is None else WAKE

    def take(self, connection: Any) -> List[Item]:
        """Everything queued, for the attached ``connection`` to write as one payload.

        When that payload ends the session (its ``0:0:,``), the session lets
        go of the connection: the connection ends after writing it.
        """
        if connection is not self.connection or not self.outbox.items:
            return []
        items = self.outbox.take()
        if self.state is CLOSING:
            self.connection = None
            self._finish("disconnected by the application")
        return items

    # -- inbound -----------------------------------------------------------
    def receive(self, events: Iterable[Inbound], now: float) -> Iterator[Received]:
        """The application's messages among ``events``, in order, lazily.

        Lazily, so that a message handler that ends the session stops the
        rest of the payload from being delivered.
        """
        for kind, value, notes in events:
            if self.state is not OPEN:
                return
            if kind == "message":
                yield value, notes
            elif kind == "heartbeat":
                self._echo(value)
            elif kind == "disconnect":
                self.close("client disconnected", False, now)
            else:
                self._log(logging.DEBUG, "frame type %r ignored" % (value,))

    def _echo(self, data: str) -> None:
        heartbeats = self.heartbeats
        if heartbeats.echo(data) and self._check_at is not None and heartbeats.answered >= self._check_number:
            if heartbeats.answered < heartbeats.count and self._timeout:
                # an older beat was answered; the latest one still waits
                self._check_number = heartbeats.count
                self._check_at = self._last_beat_at + self._timeout
            else:
                self._check_at = None
            self._retime()

    # -- helpers -----------------------------------------------------------
    def _close_timeout(self) -> float:
        return self.options.transport(self.transport).close_timeout

    def _finish_open(self, reason: str) -> None:
        if self.state is OPEN:
            self.effects.append(Closed(reason))
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        self.state = CLOSED
        self.outbox.take()
        self._close_at = self._beat_at = self._check_at = None
        connection, self.connection = self.connection, None
        if connection is not None:
            self.effects.append(EndConnection(connection, reason))
        self.effects.append(Finished(reason))
        self._retime()

    def _retime(self) -> None:
        at: Optional[float] = None
        for candidate in (self._close_at, self._beat_at, self._check_at):
            if candidate is not None and (at is None or candidate < at):
                at = candidate
        if at != self.deadline:
            self.deadline = at
            self.effects.append(SetTimer(at))

    def _log(self, level: int, text: str) -> None:
        self.effects.append(Log(level, text))


def decode_inbound(frames: Sequence[Frame]) -> List[Inbound]:
    """Decode every frame of a payload before any is delivered (§1 errors).

    Raises :class:`ProtocolError` for the first bad message body, so an HTTP
    payload is refused whole.
    """
    events: List[Inbound] = []
    for frame in frames:
        if frame.type == MESSAGE:
            message, annotations = decode_body(frame.data)
            events.append(("message", message, annotations))
        elif frame.type == HEARTBEAT:
            events.append(("heartbeat", frame.data, None))
        elif frame.type == DISCONNECT:
            events.append(("disconnect", None, None))
        else:
            events.append(("ignored", frame.type, None))
    return events


def decode_inbound_prefix(frames: Sequence[Frame]) -> List[Inbound]:
    """The events of the frames before a bad one, up to a bad message body.

    Over WebSocket what came before a malformed frame still counts (§1).
    """
    good: List[Inbound] = []
    for frame in frames:
        try:
            good.extend(decode_inbound([frame]))
        except ProtocolError:
            break
    return good
