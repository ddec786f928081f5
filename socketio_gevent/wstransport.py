"""websocket and flashsocket transports: a session over one upgraded connection.

The request's greenlet reads; writes happen in a short-lived flusher
greenlet that is spawned only when something is queued and none is running,
so an idle connection costs no greenlet beyond its reader, and messages
queued while a write is in flight go out together in the next one (the
framing allows several frames per text frame).

Heartbeats (§5) run on loop timers: every ``heartbeat_interval`` a ``2:n:i,``
frame goes out directly (heartbeats are never queued); if its echo has not
come back within ``heartbeat_timeout`` the connection is closed and the
session waits ``close_timeout`` for the client to come back.
"""
from __future__ import annotations

from typing import Iterable, List, Optional

import gevent

from . import http
from .listener import Listener
from .protocol.framing import Decoder, ProtocolError
from .protocol.session import Item
from .routing import Route
from .sessions import CLOSED, CLOSING, OPEN, Session, decode_inbound
from .timers import Timer, call_later
from .websocket import handshake
from .websocket.events import PROTOCOL_ERROR, Binary, Close, Failed, Text
from .wsconnection import HandshakeFailed, WebSocketConnection, upgrade


class SessionSocket:
    """The session's view of one WebSocket: a :class:`~socketio_gevent.sessions.Connection`."""

    def __init__(self, transport: str, session: Session, ws: WebSocketConnection) -> None:
        self.transport = transport
        self.session = session
        self.ws = ws
        self.binary = ws.codec.binary_frames
        self._flushing = False
        self._timer: Optional[Timer] = None
        self._check_timer: Optional[Timer] = None
        opts = session.listener.options.transport(transport)
        self.interval = opts.heartbeat_interval
        self.timeout = opts.heartbeat_timeout

    # -- Connection protocol ----------------------------------------------
    def notify(self) -> None:
        if not self._flushing and not self.ws.closed:
            self._flushing = True
            gevent.spawn(self._flush)

    def end(self) -> None:
        self._cancel_timer()
        self.ws.close(1000, "session moved or ended")

    # -- writing -----------------------------------------------------------
    def write_items(self, items: List[Item]) -> bool:
        """Coalesce runs of text frames into one WebSocket text message."""
        text: List[str] = []
        for item in items:
            if isinstance(item, str):
                text.append(item)
            elif self.binary:
                if text:
                    if not self.ws.send_text("".join(text)):
                        return False
                    text = []
                if not self.ws.send_binary(item.data):
                    return False
            else:
                text.append(item.text_frame)
        return not text or self.ws.send_text("".join(text))

    def _flush(self) -> None:
        try:
            session = self.session
            while session.connection is self and not self.ws.closed:
                items = session.take()
                if not items:
                    break
                if not self.write_items(items):
                    break
            if session.state == CLOSING and session.connection is self and not session.outbox:
                self.ws.close(1000, "disconnected by the application")
        finally:
            self._flushing = False
        if self.session.outbox and self.session.connection is self and not self.ws.closed:
            self.notify()  # something arrived after the last take

    # -- heartbeats --------------------------------------------------------
    def start_heartbeats(self) -> None:
        if self.interval:
            self._timer = call_later(self.interval, self._beat)

    def _beat(self) -> None:
        """Runs in the hub: sends the next heartbeat, arms its echo check."""
        if self.ws.closed or self.session.connection is not self:
            return
        heartbeats = self.session.heartbeats
        gevent.spawn(self.ws.send_text, heartbeats.beat())
        if self.timeout:
            self._check_timer = call_later(self.timeout, self._check_echo, heartbeats.count)
        self._timer = call_later(self.interval or 0, self._beat)

    def _check_echo(self, number: int) -> None:
        if self.session.heartbeats.overdue(number) and not self.ws.closed:
            self.session.log.info("session %s: heartbeat %d not answered", self.session.sid, number)
            self._cancel_timer()
            self.ws.close(1000, "heartbeat timeout")

    def _cancel_timer(self) -> None:
        for name in ("_timer", "_check_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)

    # -- reading -----------------------------------------------------------
    def run(self) -> None:
        """Read until the socket ends; deliver each payload in order."""
        session = self.session
        decoder = Decoder(max_length=session.listener.options.max_message_size)
        for event in self.ws.events():
            if isinstance(event, Text):
                try:
                    frames = decoder.feed(event.data)
                    inbound = decode_inbound(frames)
                except ProtocolError as exc:
                    good = decode_inbound_prefix(getattr(exc, "frames", []))
                    session.deliver(good)
                    session.log.warning("session %s: malformed payload: %s", session.sid, exc.reason)
                    self.ws.fail(PROTOCOL_ERROR, exc.reason)
                    break
                session.deliver(inbound)
            elif isinstance(event, Binary):
                session.deliver([("message", event.data, {})])
            elif isinstance(event, Failed):
                session.log.warning("session %s: websocket closed: %s", session.sid, event.reason)
            elif isinstance(event, Close):
                break
            if session.state == CLOSED:
                break
        self._cancel_timer()


def decode_inbound_prefix(frames: list) -> list:
    """The events of the frames before a bad one, up to a bad message body."""
    good = []
    for frame in frames:
        try:
            good.extend(decode_inbound([frame]))
        except ProtocolError:
            break
    return good


def handle(
    listener: Listener,
    route: Route,
    environ: dict,
    start_response: http.StartResponse,
) -> Iterable[bytes]:
    options = listener.options
    accept = handshake.negotiate(environ, deflate=options.websocket_deflate)
    if isinstance(accept, handshake.Refuse):
        return http.error(start_response, accept.status, accept.reason, accept.headers)
    session: Optional[Session] = None
    if route.sid:
        session = listener.sessions.get(route.sid)
        if session is None or session.state != OPEN:
            return http.error(start_response, 404, "unknown or expired session")
    try:
        ws = upgrade(environ, start_response, accept, options.max_message_size, options.handshake_timeout)
    except HandshakeFailed as exc:
        listener.log.warning("%s handshake failed: %s", route.transport, exc)
        return []
    is_new = session is None
    if session is None:
        session = Session(listener, route.transport, environ)
    connection = SessionSocket(route.transport, session, ws)
    if is_new:
        if not ws.send_text(session.session_frame):
            return []
        session.attach(connection)
        session.open()
    else:
        session.attach(connection)
    connection.start_heartbeats()
    if session.outbox:
        connection.notify()
    try:
        connection.run()
    finally:
        connection._cancel_timer()
        session.detach(connection)
        if not ws.closed:
            ws.close(1000, "")
    return []

