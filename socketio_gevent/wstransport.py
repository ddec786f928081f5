"""websocket and flashsocket transports: a session over one upgraded connection.

The request's greenlet reads; writes happen in a short-lived flusher
greenlet that is spawned only when something is queued and none is running,
so an idle connection costs no greenlet beyond its reader, and messages
queued while a write is in flight go out together in the next one (the
framing allows several frames per text frame).

Heartbeats (§5) are a :class:`~socketio_gevent.heartbeat.Heartbeater`.
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
from .heartbeat import Heartbeater
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
        opts = session.listener.options.transport(transport)
        self.heartbeater = Heartbeater(
            session.heartbeats, opts.heartbeat_interval, opts.heartbeat_timeout,
            self._send_heartbeat, self._heartbeat_expired,
        )

    # -- Connection protocol ----------------------------------------------
    def notify(self) -> None:
        if not self._flushing and not self.ws.closed:
            self._flushing = True
            gevent.spawn(self._flush)

    def end(self) -> None:
        self.heartbeater.stop()
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
    def _send_heartbeat(self, frame: str) -> None:
        if not self.ws.closed and self.session.connection is self:
            gevent.spawn(self.ws.send_text, frame)

    def _heartbeat_expired(self, number: int) -> None:
        self.session.log.info("session %s: heartbeat %d not answered", self.session.sid, number)
        self.ws.close(1000, "heartbeat timeout")

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
    connection.heartbeater.start()
    if session.outbox:
        connection.notify()
    try:
        connection.run()
    finally:
        connection.heartbeater.stop()
        session.detach(connection)
        if not ws.closed:
            ws.close(1000, "")
    return []

