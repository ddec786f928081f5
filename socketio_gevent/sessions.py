"""A session's life on the gevent side (PROTOCOL.md §3, §5).

A session outlives the requests that carry it: polls come and go, a stream
may drop and be reopened on another transport. So the session owns the
outbox and the close timer, and a request only *attaches* to it for as long
as it is open. At most one request is attached at a time ("one session, one
writer"); a newer one takes over and the older one is ended.

Life: open -> (server ``disconnect()``) closing, until ``0:0:,`` is written
or ``close_timeout`` passes -> closed. Client ``0:0:,``, an expired
``close_timeout`` or a full queue go straight to closed. ``disconnect``
fires exactly once, on leaving "open".
"""
from __future__ import annotations

import secrets
from typing import Any, List, Optional, Protocol, Sequence, Tuple

import gevent
from gevent.lock import Semaphore

from .protocol.framing import (
    DISCONNECT,
    DISCONNECT_FRAME,
    HEARTBEAT,
    MESSAGE,
    SESSION_ID,
    Frame,
    ProtocolError,
    decode_body,
    encode_frame,
)
from .protocol.session import Heartbeats, Item, Outbox, QueueFull
from .timers import Timer, call_later

from .listener import Client, Listener

OPEN, CLOSING, CLOSED = "open", "closing", "closed"

#: An inbound event: ("message", message, annotations), ("heartbeat", data, None),
#: ("disconnect", None, None) or ("ignored", type, None).
Inbound = Tuple[str, Any, Any]


class Connection(Protocol):
    """What a request attached to a session must offer."""

    transport: str

    def notify(self) -> None:
        """The outbox has something; wake the writer."""

    def end(self) -> None:
        """Taken over or the session closed: finish the request soon."""

    def offer(self, item: "Item") -> bool:
        """Write ``item`` now if that can be done without waiting; ``False`` = queue it."""


def new_sid() -> str:
    """144 bits from the OS CSPRNG, URL-safe, never a ``/`` (§3)."""
    return secrets.token_urlsafe(18)


def decode_inbound(frames: Sequence[Frame]) -> List[Inbound]:
    """Decode every frame of a payload before any is delivered (§1 errors).

    Raises :class:`ProtocolError` for the first bad message body, so an HTTP
    payload is rejected whole.
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


class Session:
    __slots__ = ("listener", "log", "sid", "transport", "state", "outbox", "heartbeats",
                 "connection", "_timer", "_inbound", "registered", "client")

    def __init__(self, listener: Listener, transport: str, environ: dict) -> None:
        opts = listener.options
        self.listener = listener
        self.log = listener.log
        self.sid = new_sid()
        self.transport = transport
        self.state = OPEN
        self.outbox = Outbox(opts.max_queue_messages, opts.max_queue_bytes)
        self.heartbeats = Heartbeats()
        self.connection: Optional[Connection] = None
        self._timer: Optional[Timer] = None
        self._inbound = Semaphore()
        #: Set once ``connection`` has fired; only then does ``disconnect``.
        self.registered = False
        self.client = Client(listener, self, environ)

    @property
    def session_frame(self) -> str:
        return encode_frame(SESSION_ID, self.sid)

    def open(self) -> None:
        """Register and fire ``connection``; the ``3:`` frame is already out or queued."""
        self.listener.sessions[self.sid] = self
        self.registered = True
        with self._inbound:
            self.listener._client_connected(self.client)
        if self.connection is None and self.state != CLOSED:
            self._arm_close_timer()

    # -- outbound --------------------------------------------------------
    def push(self, item: Item) -> None:
        """Send or queue ``item``; a full queue ends the session with a logged reason (§6).

        With nothing queued ahead of it, the attached connection may write
        it straight away (order is kept, and a broadcast skips the queue).
        """
        if self.state != OPEN:
            self.log.debug("session %s is %s: message dropped", self.sid, self.state)
            return
        connection = self.connection
        if connection is not None and not self.outbox.items and connection.offer(item):
            return
        try:
            self.outbox.put(item)
        except QueueFull as exc:
            self.log.warning("session %s disconnected: %s", self.sid, exc.reason)
            self.close(exc.reason)
            return
        if self.connection is not None:
            self.connection.notify()

    def take(self) -> List[Item]:
        return self.outbox.take()

    # -- requests --------------------------------------------------------
    def attach(self, connection: Connection) -> None:
        old, self.connection = self.connection, connection
        if old is not None:
            old.end()
        self._cancel_timer()
        self.transport = self.client.transport = connection.transport
        self.client.connections += 1

    def detach(self, connection: Connection) -> None:
        """The request ended; the session waits ``close_timeout`` for the next."""
        if self.connection is not connection:
            return
        self.connection = None
        if self.state == CLOSING and not self.outbox:
            self._finish()
        elif self.state != CLOSED:
            self._arm_close_timer()

    def _arm_close_timer(self) -> None:
        self._cancel_timer()
        timeout = self.listener.options.transport(self.transport).close_timeout
        self._timer = call_later(timeout, self._expired)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.connection is not None:
            return
        if self.state == CLOSING:
            self._finish()
        else:
            self.log.info("session %s timed out", self.sid)
            self.close("close_timeout passed")

    # -- inbound ---------------------------------------------------------
    def deliver(self, events: Sequence[Inbound]) -> None:
        """Hand a payload's events to the application in order, one at a time."""
        with self._inbound:
            for kind, value, notes in events:
                if self.state != OPEN:
                    return
                if kind == "message":
                    self.listener._client_message(self.client, value, notes)
                elif kind == "heartbeat":
                    self.heartbeats.echo(value)
                elif kind == "disconnect":
                    self.close("client disconnected")
                else:
                    self.log.debug("session %s: frame type %r ignored", self.sid, value)

    def deliver_message(self, message: Any) -> None:
        """One message without annotations: :meth:`deliver` for the common case."""
        with self._inbound:
            if self.state == OPEN:
                self.listener._client_message(self.client, message, {})

    # -- ending ----------------------------------------------------------
    def close(self, reason: str, notify_client: bool = False) -> None:
        """Leave "open" once: fire ``disconnect``; with ``notify_client`` send ``0:0:,`` first."""
        if self.state != OPEN:
            return
        self.log.debug("session %s closing: %s", self.sid, reason)
        self.client.connected = False
        self.listener.clients.pop(self.sid, None)
        if notify_client:
            self.state = CLOSING
            self.outbox.put(DISCONNECT_FRAME, bounded=False)
            if self.connection is not None:
                self.connection.notify()
            else:
                self._arm_close_timer()
        else:
            self._finish()
        if self.registered:
            gevent.spawn(self._fire_disconnect)

    def _fire_disconnect(self) -> None:
        with self._inbound:
            self.listener._client_disconnected(self.client)

    def _finish(self) -> None:
        self.state = CLOSED
        self._cancel_timer()
        self.listener.sessions.pop(self.sid, None)
        self.outbox.take()
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.end()


__all__ = ["Session", "Connection", "decode_inbound", "new_sid", "ProtocolError"]
