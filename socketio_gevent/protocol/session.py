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
:class:`SendFrame`       writes the frame on that connection (never queued)
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
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .acks import (ACK, ACK_DELAY, ACK_EVERY, AGREED, SEQ, Incoming, Outgoing, is_message,
                   parse_count, seq_frame)
from ..websocket.codec import CloseCode
from .errors import ProtocolError
from .framing import (DISCONNECT, DISCONNECT_FRAME, HEARTBEAT, MESSAGE, SESSION_ID, Frame,
                      decode_body, encode_frame)
from .options import WEBSOCKET_TRANSPORTS, Options
from .outbox import ITEM_COST, Item, Outbox

__all__ = [
    "State", "NEW", "OPEN", "CLOSING", "CLOSED", "Session", "DIRECT", "WAKE", "QUEUED", "DROPPED",
    "Heartbeats", "new_sid", "decode_inbound", "decode_inbound_prefix",
    "Opened", "Closed", "Finished", "Wake", "SendFrame", "EndConnection", "SetTimer", "Log",
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


class SendFrame(NamedTuple):
    """Write ``frame`` on ``connection`` now: a heartbeat or an ack, never queued."""
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


def new_sid(prefix: str = "") -> str:
    """144 bits from the OS CSPRNG, URL-safe, never a ``/`` (§3); after a
    ``prefix`` (the owning process's name on a message bus), 96 bits."""
    if prefix:
        return prefix + secrets.token_urlsafe(12)
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
                 "outbox", "heartbeats", "effects", "deadline", "sent", "got", "failure",
                 "_close_at", "_beat_at", "_check_at", "_check_number", "_last_beat_at",
                 "_interval", "_timeout", "_fresh", "_ack_owed")

    def __init__(self, sid: str, options: Options, transport: str, now: float, acks: bool = False) -> None:
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
        # The acks extension (docs/protocol.rst §9), when the client asked for it:
        #: our messages written and not yet acknowledged,
        self.sent: Optional[Outgoing] = Outgoing() if acks else None
        #: and the client's messages received.
        self.got: Optional[Incoming] = Incoming() if acks else None
        #: The attached connection has carried no message yet: the next starts with ``5:``.
        self._fresh = True
        #: ``ACK_EVERY`` messages are untold: the next write carries an ack.
        self._ack_owed = False
        #: Why the peer's input ended the session (a bad acknowledgement), if it did.
        self.failure: Optional[str] = None
        self._retime()

    @property
    def session_frame(self) -> str:
        """What a session sends first: its ``3:`` frame (and ``4:1:0,`` with acks)."""
        frame = encode_frame(SESSION_ID, self.sid)
        return frame if self.sent is None else frame + AGREED

    @property
    def acknowledged(self) -> int:
        """How many of our messages the client acknowledged (0 without the extension)."""
        return self.sent.acked if self.sent is not None else 0

    @property
    def pending(self) -> int:
        """Our messages not known to have arrived: written but unacknowledged, or
        queued (after the end: those the session ended with)."""
        queued = sum(1 for item in self.outbox.items if is_message(item))
        return queued + (len(self.sent.items) if self.sent is not None else 0)

    # -- lifecycle ---------------------------------------------------------
    def open(self) -> None:
        """The ``3:`` frame is written or queued: register the session."""
        if self.state is NEW:
            self.state = OPEN
            self.effects.append(_OPENED)

    def attach(self, connection: Any, transport: str, now: float, resume: Optional[int] = None) -> None:
        """A request opened the session; an older one is ended (takeover, §3).

        ``resume``: with the acks extension, how many of our messages the
        client says it has (``a=`` in the query, §9): the rest is written again.
        """
        if self.state is CLOSED:
            self.effects.append(EndConnection(connection, "session closed"))
            return
        resuming = self.state is not NEW
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
        if self.sent is not None:
            self._resume(connection, transport, resume, resuming)
        self._retime()

    def _resume(self, connection: Any, transport: str, count: Optional[int], resuming: bool) -> None:
        """A new connection: forget what the client has, write the rest again."""
        assert self.sent is not None and self.got is not None
        if count is not None:
            reason = self.sent.ack(count, ordered=False)
            if reason is not None:
                self._fail(reason)
                return
        again = self.sent.take_all()
        if again:
            self.outbox.items[:0] = again
            self.outbox.size += sum(map(len, again)) + len(again) * ITEM_COST
        self._fresh = True
        self.got.expect = None
        if resuming and transport in WEBSOCKET_TRANSPORTS:
            # the client resends what this does not cover
            self.effects.append(SendFrame(connection, self.got.told_now()))

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
        """The timer fired: heartbeat checks, heartbeats, acks, expiry, in that order."""
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
            self.effects.append(SendFrame(connection, self.heartbeats.beat()))
            self._last_beat_at = now
            self._beat_at = now + (self._interval or 0.0)
            if self._timeout and self._check_at is None:
                self._check_at = now + self._timeout
                self._check_number = self.heartbeats.count
        got = self.got
        if got is not None and got.due_at is not None and now >= got.due_at:
            got.due_at = None
            if connection is not None and got.untold:
                self.effects.append(SendFrame(connection, got.told_now()))
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
        """An application message (a type-1 frame or binary); the answer
        says what the edge does with it. Only messages go through here: the
        session's own frames are effects, and its ``0:0:,`` comes with closing.

        ``DIRECT``: the attached connection may write it now, skipping the
        queue (open, attached, nothing queued ahead of it: order is kept);
        if the connection declines, hand it to :meth:`declined`.
        ``WAKE``: queued; wake the attached connection. ``QUEUED``: queued
        for the next request. ``DROPPED``: the session is not open, or the
        item passed a bound of §6 and ended the session (with a logged
        reason and effects). With the acks extension the messages kept for
        the client (written, not acknowledged) count against the bounds too.
        """
        if self.state is not OPEN:
            return DROPPED
        outbox = self.outbox
        items = outbox.items
        sent = self.sent
        # Outbox.put, inlined: this runs once per message per recipient.
        if sent is None:
            if direct and self.connection is not None and not items:
                return DIRECT
            size = len(item) + 64  # + ITEM_COST, as a constant: once per message per recipient
            if len(items) >= outbox.max_messages or outbox.size + size > outbox.max_bytes:
                return self._overflow(outbox.full(size))
        else:
            size = len(item) + ITEM_COST
            if (len(items) + len(sent.items) >= outbox.max_messages
                    or outbox.size + sent.size + size > outbox.max_bytes):
                return self._overflow(outbox.full(size, len(sent.items), sent.size))
            if direct and self.connection is not None and not items and not self._fresh:
                return DIRECT  # written() keeps it, once the connection took it
        items.append(item)
        outbox.size += size
        return QUEUED if self.connection is None else WAKE

    def written(self, item: Item) -> None:
        """The connection wrote a ``DIRECT`` item: with acks, keep it until acknowledged.

        (Every pushed item is a message, so it is numbered.)
        """
        sent = self.sent
        if sent is not None:  # Outgoing.keep, inlined: once per message per recipient
            sent.items.append(item)
            sent.size += len(item) + ITEM_COST

    def declined(self, item: Item) -> int:
        """The connection did not take a ``DIRECT`` item after all: queue it.

        :meth:`push` has just checked the state and the bounds for it.
        """
        if self.state is not OPEN:
            return DROPPED
        outbox = self.outbox
        outbox.items.append(item)
        outbox.size += len(item) + ITEM_COST
        return QUEUED if self.connection is None else WAKE

    def take(self, connection: Any) -> List[Item]:
        """Everything queued, for the attached ``connection`` to write as one payload.

        With the acks extension the payload starts with an ack of what we
        received, when there is anything untold, and, on a connection that
        has carried no message yet, with the ``5:`` frame numbering them.
        When the payload ends the session (its ``0:0:,``), the session lets
        go of the connection: the connection ends after writing it.
        """
        if connection is not self.connection or not (self.outbox.items or self._ack_owed):
            return []
        size = self.outbox.size
        items = self.outbox.take()
        sent = self.sent
        got = self.got
        if sent is not None and got is not None:  # once per write: kept lean
            head: List[Item] = []
            if self._ack_owed:
                self._ack_owed = False
                if got.count != got.told:
                    head.append(got.told_now())
            kept = sent.items
            before = len(kept)
            if self.state is OPEN:  # only messages are queued while open
                kept.extend(items)
                sent.size += size
            else:  # closing: the 0:0:, at the end is not numbered
                for item in items:
                    if is_message(item):
                        sent.keep(item)
            if len(kept) != before:
                if self._fresh:
                    head.append(seq_frame(sent.acked + before + 1))
                    self._fresh = False
            if head:
                items = head + items
        if self.state is CLOSING:
            self.connection = None
            self._finish("disconnected by the application")
        return items

    # -- inbound -----------------------------------------------------------
    def receive(self, events: Iterable[Inbound], now: float, posted: bool = False) -> Iterator[Received]:
        """The application's messages among ``events``, in order, lazily.

        Lazily, so that a message handler that ends the session stops the
        rest of the payload from being delivered. ``posted``: the payload is
        one HTTP request's, acknowledged by its answer (§9); otherwise it
        came on the attached connection, and acks follow the 16-or-0.2 s rule.
        """
        got = self.got
        if got is not None and posted:
            got.expect = None  # a POST numbers its own messages
        for kind, value, notes in events:
            if self.state is not OPEN:
                return
            if kind == "message":
                if got is None or got.accept():
                    yield value, notes
            elif kind == "heartbeat":
                self._echo(value)
            elif kind == "disconnect":
                self.close("client disconnected", False, now)
            elif kind == "ack" and self.sent is not None:
                count = self._count(value)
                if count is not None:
                    self.ack(count, ordered=not posted)
            elif kind == "seq" and got is not None:
                count = self._count(value)
                reason = got.sequence(count) if count is not None else None
                if reason is not None:
                    self._fail(reason)
            else:
                self._log(logging.DEBUG, "frame type %r ignored" % (_TYPES.get(kind, value),))
        if got is not None and self.state is OPEN:
            if posted:
                got.told = got.count  # the answer to the POST says it
            else:
                self._ack_rule(got, now)

    def ack(self, count: int, ordered: bool = True) -> None:
        """The peer has our first ``count`` messages (a ``4:`` frame, §9).

        ``ordered``: it came on the attached connection, after the earlier
        ones, so it may not go backwards (over HTTP it may be stale).
        """
        if self.sent is None or self.state is not OPEN:
            return
        reason = self.sent.ack(count, ordered)
        if reason is not None:
            self._fail(reason)

    def receive_one(self, clock: Callable[[], float]) -> bool:
        """One plain message on the attached connection: deliver it?

        The common case of :meth:`receive`, without building events. The
        clock is read only when the ack rule needs the time (rarely: once
        per quiet period).
        """
        if self.state is not OPEN:
            return False
        got = self.got
        if got is None:
            return True
        if not got.accept():
            return False
        if got.due_at is None or got.count - got.told >= ACK_EVERY:
            self._ack_rule(got, clock())
        return True

    def _ack_rule(self, got: Incoming, now: float) -> None:
        """Ack after ``ACK_EVERY`` messages, or ``ACK_DELAY`` after the first untold one."""
        untold = got.untold
        if untold >= ACK_EVERY and self.connection is not None:
            # Not a frame of its own: the connection's next write carries it,
            # usually together with the answers to these very messages.
            if not self._ack_owed:
                self._ack_owed = True
                self.effects.append(Wake(self.connection))
        elif untold and got.due_at is None:
            got.due_at = now + ACK_DELAY
            self._retime()

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

    def _count(self, text: str) -> Optional[int]:
        try:
            return parse_count(text)
        except ProtocolError as exc:
            self._fail(exc.reason)
            return None

    def _overflow(self, reason: Optional[str]) -> int:
        reason = reason or "queue bound exceeded"
        self._log(logging.WARNING, "disconnected: %s" % reason)
        self._finish_open(reason)
        return DROPPED

    def _fail(self, reason: str) -> None:
        """The peer broke the extension's rules: the session ends, with the reason."""
        self.failure = reason
        self._log(logging.WARNING, "disconnected: %s" % reason)
        self._finish_open(reason)

    def _finish_open(self, reason: str) -> None:
        if self.state is OPEN:
            self.effects.append(Closed(reason))
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        if self.sent is not None:
            # what never reached the client stays countable (client.pending)
            self.sent.items.extend(item for item in self.outbox.items if is_message(item))
        self.state = CLOSED
        self.outbox.take()
        self._close_at = self._beat_at = self._check_at = None
        if self.got is not None:
            self.got.due_at = None
        connection, self.connection = self.connection, None
        if connection is not None:
            self.effects.append(EndConnection(connection, reason))
        self.effects.append(Finished(reason))
        self._retime()

    def _retime(self) -> None:
        at: Optional[float] = None
        due = self.got.due_at if self.got is not None else None
        for candidate in (self._close_at, self._beat_at, self._check_at, due):
            if candidate is not None and (at is None or candidate < at):
                at = candidate
        if at != self.deadline:
            self.deadline = at
            self.effects.append(SetTimer(at))

    def _log(self, level: int, text: str) -> None:
        self.effects.append(Log(level, text))


#: What an inbound kind was on the wire, for the log of an ignored frame.
_TYPES = {"ack": ACK, "seq": SEQ}


def decode_inbound(frames: Sequence[Frame], max_messages: Optional[int] = None) -> List[Inbound]:
    """Decode every frame of a payload before any is delivered (§1 errors).

    Raises :class:`ProtocolError` for the first bad message body, so an HTTP
    payload is refused whole, and for a payload of more than
    ``max_messages`` messages (§6): a burst of tiny messages is refused at
    its sender instead of flooding every queue it would be broadcast to.
    """
    if max_messages is not None and len(frames) > max_messages:
        count = sum(1 for frame in frames if frame.type == MESSAGE)
        if count > max_messages:
            raise ProtocolError("a payload may carry at most %d messages (this one: %d)" % (max_messages, count),
                                status=413, close_code=CloseCode.MESSAGE_TOO_BIG)
    events: List[Inbound] = []
    for frame in frames:
        if frame.type == MESSAGE:
            message, annotations = decode_body(frame.data)
            events.append(("message", message, annotations))
        elif frame.type == HEARTBEAT:
            events.append(("heartbeat", frame.data, None))
        elif frame.type == DISCONNECT:
            events.append(("disconnect", None, None))
        elif frame.type == ACK:
            events.append(("ack", frame.data, None))
        elif frame.type == SEQ:
            events.append(("seq", frame.data, None))
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
