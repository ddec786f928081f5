"""Sessions on gevent: the pure session machine, pumped (docs/architecture.rst).

:class:`LiveSession` owns one :class:`~socketio_gevent.protocol.session.Session`
and does only what the machine cannot: it feeds it inputs with the loop's
clock, keeps one loop timer at the machine's deadline, applies the effects
(wake or end a connection, write a heartbeat or an ack, tell the
application), and
hands inbound messages to the application one at a time, in order.

:class:`SessionTable` is the set of live sessions of one middleware, by id.

What a request or socket attached to a session offers is :class:`Connection`;
what the application layer offers the sessions is :class:`Application`
(the :class:`~socketio_gevent.api.listener.Listener` implements it). Those
two protocols are the only ways in and out.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Protocol

import gevent

from ..protocol.options import Options
from ..protocol.outbox import FrameCache, Item
from ..protocol.session import (Closed, EndConnection, Finished, Inbound, Log, Opened,
                                CLOSED, DIRECT, OPEN, WAKE, SendFrame, Session, SetTimer, State,
                                Wake, new_sid)
from ..protocol.pace import Pace
from .throttle import Throttled
from .turn import Turn
from .loop import Timer, call_later, now

__all__ = ["Connection", "Application", "LiveSession", "SessionTable"]

#: Inbound messages between two looks at the clock for ``inbound_rate``:
#: the pace is kept to within this many messages, at an eighth of the cost.
PACE_EVERY = 8


class Connection(Protocol):
    """A request or socket attached to a session: the session's one writer."""

    transport: str

    def wake(self) -> None:
        """Items are queued: write them (``session.take``) when you can."""

    def offer(self, item: Item, frames: Optional[FrameCache]) -> bool:
        """Write ``item`` now if that needs no waiting; ``False``: queue it."""

    def send_frame(self, frame: str) -> None:
        """Write this frame now, for this connection alone (a heartbeat, an ack): never queued."""

    def end(self, reason: str) -> None:
        """The session let go of you: finish soon. Must not block."""


class Application(Protocol):
    """What sessions tell the application layer (the listener)."""

    def session_opened(self, session: "LiveSession", environ: Dict[str, Any]) -> Any:
        """Register a client for ``session``, fire ``connection``; return the client."""

    def session_message(self, client: Any, message: Any, annotations: Dict[str, Optional[str]]) -> None:
        """One inbound message of ``client``."""

    def session_closed(self, client: Any, reason: str) -> None:
        """``client``'s session left "open": unregister it (at once, any greenlet)."""

    def emit_disconnect(self, client: Any, reason: str) -> None:
        """Fire ``client``'s ``disconnect`` events (in a greenlet of its own)."""


class LiveSession:
    """One session on gevent; the handle a :class:`Client` sends through."""

    __slots__ = ("machine", "table", "app", "log", "environ", "client", "_timer", "_timer_at", "_inbound", "_pace",
                 "_owed")

    def __init__(self, table: "SessionTable", transport: str, environ: Dict[str, Any], acks: bool = False) -> None:
        self.machine = Session(new_sid(table.sid_prefix), table.options, transport, now(), acks)
        self.table = table
        self.app = table.app
        self.log = table.log
        #: The WSGI environ of the request that opened the session.
        self.environ = environ
        #: The application's view of the session, once ``connection`` fired.
        self.client: Any = None
        self._timer: Optional[Timer] = None
        #: When ``_timer`` fires (at or before the machine's deadline).
        self._timer_at = 0.0
        #: Inbound messages of one session reach the application one at a time.
        self._inbound = Turn()
        rate = table.options.inbound_rate
        self._pace = None if rate is None else Pace(rate, now())
        #: Messages received since the pace was last settled (every PACE_EVERY).
        self._owed = 0
        table.sessions[self.machine.sid] = self
        self._apply()

    # -- what the application layer sees ----------------------------------
    @property
    def sid(self) -> str:
        return self.machine.sid

    @property
    def transport(self) -> str:
        return self.machine.transport

    @property
    def connected(self) -> bool:
        return self.machine.state is OPEN

    @property
    def connections(self) -> int:
        return self.machine.connections

    @property
    def acknowledged(self) -> int:
        return self.machine.acknowledged

    @property
    def pending(self) -> int:
        return self.machine.pending

    def send(self, item: Item, frames: Optional[FrameCache] = None) -> None:
        """Write ``item`` at once if the attached connection can, else queue it.

        ``frames``: the broadcast's cache of framed bytes per wire format.
        """
        machine = self.machine
        outcome = machine.push(item)
        if outcome == DIRECT:
            if machine.connection.offer(item, frames):
                if machine.sent is not None:
                    machine.written(item)
                return
            outcome = machine.declined(item)
        if outcome == WAKE:
            machine.connection.wake()
        elif machine.effects:
            self._apply()

    def disconnect(self) -> None:
        """Send ``0:0:,`` and end the session (the application's ``disconnect()``)."""
        self.machine.close("disconnected by the application", True, now())
        self._apply()

    def close(self, reason: str) -> None:
        """End the session without telling the client."""
        self.machine.close(reason, False, now())
        self._apply()

    # -- what transports call ---------------------------------------------
    @property
    def state(self) -> State:
        return self.machine.state

    @property
    def session_frame(self) -> str:
        return self.machine.session_frame

    def has_queued(self) -> bool:
        return bool(self.machine.outbox.items)

    def open(self) -> None:
        """The ``3:`` frame is out or queued: register and fire ``connection``."""
        self.machine.open()
        self._apply()

    def attach(self, connection: Connection, resume: Optional[int] = None) -> None:
        """``resume``: how many of our messages the client has (acks extension)."""
        self.machine.attach(connection, connection.transport, now(), resume)
        self._apply()

    def detach(self, connection: Connection) -> None:
        self.machine.detach(connection, now())
        self._apply()

    def is_attached(self, connection: Connection) -> bool:
        return self.machine.connection is connection

    def take(self, connection: Connection) -> List[Item]:
        """What ``connection`` writes next; after the session's last payload
        it is no longer attached and must end once it has written it."""
        items = self.machine.take(connection)
        if self.machine.effects:
            self._apply()
        return items

    @property
    def failure(self) -> Optional[str]:
        """Why the client's acknowledgements ended the session, if they did."""
        return self.machine.failure

    def deliver(self, events: Iterable[Inbound], posted: bool = False) -> None:
        """Hand a decoded payload's messages to the application, in order.

        ``posted``: the payload is one POST's, answered once this returns.
        Returns late if the client is over ``inbound_rate``: the caller is
        this client's reader, and pausing it is how the client is slowed.
        """
        count = 0
        with self._inbound:
            for message, annotations in self.machine.receive(events, now(), posted):
                count += 1
                self.app.session_message(self.client, message, annotations)
        if self.machine.effects:
            self._apply()
        if count and self._pace is not None:
            self._owed += count
            if self._owed >= PACE_EVERY:
                self._keep_pace(self._pace)

    def deliver_message(self, message: Any) -> None:
        """One message without annotations: :meth:`deliver` for the common case."""
        machine = self.machine
        with self._inbound:
            if machine.got is None:
                if machine.state is OPEN:
                    self.app.session_message(self.client, message, {})
            elif machine.receive_one(now):
                self.app.session_message(self.client, message, {})
        if machine.effects:
            self._apply()
        if self._pace is not None:
            self._owed += 1
            if self._owed >= PACE_EVERY:
                self._keep_pace(self._pace)

    def _keep_pace(self, pace: Pace) -> None:
        """Pause this client's reader while it is over ``inbound_rate``."""
        count, self._owed = self._owed, 0
        delay = pace.spend(count, now())
        if delay:
            self.table.paced(self, delay)
            gevent.sleep(delay)

    def ack(self, count: int) -> None:
        """The client's ``4:`` frame on the attached WebSocket."""
        machine = self.machine
        machine.ack(count)
        if machine.effects:
            self._apply()

    # -- effects -----------------------------------------------------------
    def _apply(self) -> None:
        machine = self.machine
        while machine.effects:
            effects, machine.effects = machine.effects, []
            for effect in effects:
                kind = type(effect)
                if kind is Wake:
                    effect.connection.wake()
                elif kind is SetTimer:
                    self._set_timer(effect.at)
                elif kind is SendFrame:
                    effect.connection.send_frame(effect.frame)
                elif kind is EndConnection:
                    effect.connection.end(effect.reason)
                elif kind is Opened:
                    with self._inbound:  # no message before ``connection`` has run
                        self.client = self.app.session_opened(self, self.environ)
                elif kind is Closed:
                    if self.client is not None:
                        self.app.session_closed(self.client, effect.reason)
                    # Handlers never run in the caller: it may be the hub, or a
                    # handler of this session's, which holds the inbound lock.
                    gevent.spawn(self._disconnected, effect.reason)
                elif kind is Finished:
                    self.table.forget(self)
                elif kind is Log:
                    self.log.log(effect.level, "session %s: %s", machine.sid, effect.text)

    def _disconnected(self, reason: str) -> None:
        with self._inbound:
            self.app.emit_disconnect(self.client, reason)

    def _set_timer(self, at: Optional[float]) -> None:
        """The machine's deadline moved to ``at``.

        A timer already set to fire no later than ``at`` is kept: it fires
        early, the machine finds nothing due, and :meth:`_tick` sets one for
        the real deadline. Every poll moves the deadline twice (its attach
        the heartbeat, its detach the close timeout), always later; keeping
        the timer makes that one new loop timer per heartbeat interval
        instead of two per poll.

        No deadline at all (a held long poll: no heartbeats) keeps the timer
        too, unless the session is over: the poll's detach sets a later one
        at once, and a new loop timer per poll cost more than the one early
        firing per ``close_timeout``.
        """
        timer = self._timer
        if at is None:
            if timer is not None and self.machine.state is CLOSED:
                timer.cancel()
                self._timer = None
            return
        if timer is not None:
            if self._timer_at <= at:
                return
            timer.cancel()
        self._timer = call_later(at - now(), self._tick, at)
        self._timer_at = at

    def _tick(self, at: float) -> None:
        """In the hub: the timer set for ``at`` fired (never before ``at``)."""
        self._timer = None
        machine = self.machine
        machine.tick(max(now(), at))
        self._apply()
        deadline = machine.deadline
        if self._timer is None and deadline is not None and deadline > at:
            # It fired early: the real deadline is later. (A deadline at or
            # before ``at`` that is still set waits for an input, as it
            # would have without the early timer: no timer spins on it.)
            self._set_timer(deadline)

    def __repr__(self) -> str:
        return "<LiveSession %s %s %s>" % (self.sid, self.transport, self.machine.state.value)


class SessionTable:
    """The live sessions of one middleware, by id."""

    def __init__(self, app: Application, options: Options, log: Any) -> None:
        self.app = app
        self.options = options
        self.log = log
        self.sessions: Dict[str, LiveSession] = {}
        #: What the ids of this table's sessions start with: this process's
        #: name on the message bus (``protocol.relay``), or nothing.
        self.sid_prefix = ""
        self._refused = Throttled()
        self._paced = Throttled()
        self._late_bodies = Throttled()

    def admit(self) -> bool:
        """Room for one more session? When not, say so in the log (once a minute)."""
        if len(self.sessions) < self.options.max_sessions:
            return True
        count = self._refused.note()
        if count:
            self.log.warning("refused %d new session(s): max_sessions (%d) are live", count, self.options.max_sessions)
        return False

    def paced(self, session: LiveSession, delay: float) -> None:
        """A client went over ``inbound_rate``: say so (once a minute), it is slowed."""
        count = self._paced.note()
        if count:
            self.log.warning("session %s sends over inbound_rate (%s messages/s): reading paused %.1f ms"
                             " (%d pause(s) since the last such line)",
                             session.sid, self.options.inbound_rate, delay * 1000, count)

    def late_body(self, session: LiveSession) -> None:
        """A POST body stalled past its deadline: say so once a minute (each costs a
        connection the attacker can reopen at once, so a line each would flood the log)."""
        count = self._late_bodies.note()
        if count:
            self.log.warning("POST body for session %s not complete within handshake_timeout (%s s): 408"
                             " (%d such since the last such line)", session.sid, self.options.handshake_timeout, count)

    def create(self, transport: str, environ: Dict[str, Any], acks: bool = False) -> LiveSession:
        """A new session; ``acks`` if the client asked for the extension (and it is on)."""
        return LiveSession(self, transport, environ, acks and self.options.acknowledgements)

    def find(self, sid: str) -> Optional[LiveSession]:
        """The live session ``sid``, or ``None`` (unknown, expired or ended)."""
        session = self.sessions.get(sid)
        if session is None or session.machine.state is CLOSED:
            return None
        return session

    def forget(self, session: LiveSession) -> None:
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]

    def close(self, reason: str = "server closed") -> None:
        """End every session (without ``0:0:,``)."""
        for session in list(self.sessions.values()):
            session.close(reason)

    def __len__(self) -> int:
        return len(self.sessions)

    def __contains__(self, sid: object) -> bool:
        return sid in self.sessions
