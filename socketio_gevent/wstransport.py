"""websocket and flashsocket transports: a session over one upgraded connection.

After the handshake the socket leaves pywsgi's greenlet: it is read from a
loop watcher (:mod:`socketio_gevent.reactor`), so an idle connection holds
no greenlet and no request objects, only its socket, codec and session.
Writes happen at once when the socket takes them; a short-lived flusher
greenlet is spawned only when it does not, and messages queued while a
write is in flight go out together in the next one (the framing allows
several frames per text frame).

Heartbeats (§5) are a :class:`~socketio_gevent.heartbeat.Heartbeater`.
"""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import gevent

from . import http
from .listener import Listener
from .protocol.framing import Decoder, ProtocolError, plain_message
from .protocol.session import Item
from .routing import Route
from .sessions import CLOSED, CLOSING, OPEN, Session, decode_inbound
from .heartbeat import Heartbeater
from .websocket import handshake
from .reactor import Watch, dispatcher
from .websocket.events import INTERNAL_ERROR, PROTOCOL_ERROR, Binary, Close, Event, Failed, Text
from .wsconnection import HandshakeFailed, WebSocketConnection, upgrade


#: The last text framed per stateless dialect: (the str object, its frame).
_LAST_FRAME: Dict[type, Tuple[str, bytes]] = {}


class SessionSocket:
    """The session's view of one WebSocket: a :class:`~socketio_gevent.sessions.Connection`."""

    __slots__ = ("transport", "session", "ws", "codec", "binary", "_wire", "_flushing",
                 "_delivering", "_dirty", "_reader", "heartbeater", "_decoder", "_watch", "_ended")

    def __init__(self, transport: str, session: Session, ws: WebSocketConnection) -> None:
        self.transport = transport
        self.session = session
        self.ws = ws
        self.codec = ws.codec
        self.binary = ws.codec.binary_frames
        #: Key of this connection's wire format in the broadcast frame cache.
        self._wire = type(ws.codec) if getattr(ws.codec, "stateless_send", False) else None
        #: A flusher greenlet owns the socket's writes.
        self._flushing = False
        #: The reader is delivering a payload; its sends wait for the end of it.
        self._delivering = False
        self._dirty = False
        #: The greenlet delivering this connection's messages (a reactor worker).
        self._reader = gevent.getcurrent()
        self._decoder = Decoder(max_length=session.listener.options.max_message_size)
        self._watch: Optional[Watch] = None
        #: Reading is over for the session (it may still await the close answer).
        self._ended = False
        opts = session.listener.options.transport(transport)
        self.heartbeater = Heartbeater(
            session.heartbeats, opts.heartbeat_interval, opts.heartbeat_timeout,
            self._send_heartbeat, self._heartbeat_expired,
        )

    # -- Connection protocol ----------------------------------------------
    def notify(self) -> None:
        """Something was queued: write it now if the socket takes it.

        Sends made by the application while this connection's reader is
        delivering a payload are written once, after the payload (one write
        for all the answers). Sends from other greenlets (broadcasts) are
        written at once without waiting; only what the socket will not take
        now goes to a flusher greenlet.
        """
        if self._flushing or not self.ws.writable:
            return
        if self._delivering and gevent.getcurrent() is self._reader:
            self._dirty = True
            return
        self._write_now()

    def offer(self, item: Item) -> bool:
        """The direct path for a broadcast: frame it and send it without queueing.

        Not while the reader delivers (its answers are written together at
        the end of the read) nor while a flusher owns the socket.
        """
        if self._flushing or (self._delivering and gevent.getcurrent() is self._reader):
            return False
        data = self.encode_one(item)
        sent = self.ws.try_write(data)
        if sent == len(data):
            return True
        if sent <= 0:
            return False  # queued: the next request of this session gets it
        self._flushing = True  # half a frame is out: a flusher must finish it
        gevent.spawn(self._flush, data[sent:])
        return True

    def end(self) -> None:
        self.heartbeater.stop()
        self.ws.close(1000, "session moved or ended")

    # -- writing -----------------------------------------------------------
    def encode_one(self, item: Item) -> bytes:
        """A broadcast reaches each connection as the same single item: the
        bytes framed for the first connection of a dialect serve the rest."""
        if type(item) is str and self._wire is not None:
            cached = _LAST_FRAME.get(self._wire)
            if cached is not None and cached[0] is item:
                return cached[1]
            data = self.codec.send_text(item)
            _LAST_FRAME[self._wire] = (item, data)
            return data
        return self.encode([item])

    def encode(self, items: List[Item]) -> bytes:
        """One WebSocket message per run of text frames (the framing allows several)."""
        codec = self.codec
        if len(items) == 1 and type(items[0]) is str:
            return codec.send_text(items[0])
        out: List[bytes] = []
        text: List[str] = []
        for item in items:
            if isinstance(item, str):
                text.append(item)
            elif self.binary:
                if text:
                    out.append(codec.send_text("".join(text)))
                    text = []
                out.append(codec.send_binary(item.data))
            else:
                text.append(item.text_frame)
        if text:
            out.append(codec.send_text("".join(text)))
        return out[0] if len(out) == 1 else b"".join(out)

    def _write_now(self) -> None:
        session = self.session
        if session.connection is not self or not self.ws.writable:
            return  # closing: what is queued waits for the client's next connection
        items = session.take()
        if items:
            data = self.encode(items)
            sent = self.ws.try_write(data)
            if 0 <= sent < len(data):
                self._flushing = True
                gevent.spawn(self._flush, data[sent:])
                return
        self._after_write()

    def _after_write(self) -> None:
        session = self.session
        if session.state == CLOSING and session.connection is self and not session.outbox:
            self.ws.close(1000, "disconnected by the application")

    def _flush(self, pending: bytes) -> None:
        """Write what the socket did not take, then whatever queued meanwhile."""
        try:
            session = self.session
            while pending and self.ws.write(pending):
                writable = session.connection is self and self.ws.writable
                items = session.take() if writable else []
                pending = self.encode(items) if items else b""
        finally:
            self._flushing = False
        self._after_write()

    # -- heartbeats --------------------------------------------------------
    def _send_heartbeat(self, frame: str) -> None:
        """Runs in the hub: a non-blocking write, or a greenlet if the socket is full."""
        if not self.ws.writable or self.session.connection is not self:
            return
        if self._flushing:  # a flusher owns the socket: it takes the beat along
            self.session.outbox.put(frame, bounded=False)
            return
        data = self.codec.send_text(frame)
        sent = self.ws.try_write(data)
        if 0 <= sent < len(data):
            self._flushing = True
            gevent.spawn(self._flush, data[sent:])

    def _heartbeat_expired(self, number: int) -> None:
        self.session.log.info("session %s: heartbeat %d not answered", self.session.sid, number)
        self.ws.close(1000, "heartbeat timeout")

    # -- reading -----------------------------------------------------------
    def start(self) -> None:
        """Leave the request's greenlet: from now on the loop watches the socket."""
        ws = self.ws
        self._handle(ws.detach())
        if not ws.closed:
            self._watch = dispatcher().watch(ws.raw.fileno(), self)
        else:
            self._let_go()

    def on_readable(self) -> None:
        """In a reactor worker: one read, its payloads delivered in order."""
        try:
            self._read_once()
        except Exception:  # our bug, not the peer's: end this connection, loudly
            self.session.log.exception("session %s: error while reading its websocket", self.session.sid)
            self._stop_reading()
            self.ws.fail(INTERNAL_ERROR, "internal error")
            self._let_go()

    def _read_once(self) -> None:
        ws = self.ws
        events = ws.read_events()
        if events is None:
            self._stop_reading()
            self._let_go()
            return
        self._handle(events)
        if ws.closed:
            self._read_once()  # the events ended it: let go of the socket now

    def _let_go(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self.ws.release()

    def _handle(self, events: Iterator[Event]) -> None:
        session = self.session
        self._reader = gevent.getcurrent()
        self._delivering = True
        try:
            for event in events:
                if self._ended:
                    continue  # the session is gone: only the close exchange is left
                kind = type(event)
                if kind is Text:
                    decoder = self._decoder
                    if not decoder.pending:
                        message = plain_message(event.data, decoder.max_length)
                        if message is not None:  # one plain message: no frames to build
                            session.deliver_message(message)
                            if session.state == CLOSED:
                                self._stop_reading()
                            continue
                    try:
                        frames = decoder.feed(event.data)
                        inbound = decode_inbound(frames)
                    except ProtocolError as exc:
                        session.deliver(decode_inbound_prefix(getattr(exc, "frames", [])))
                        session.log.warning("session %s: malformed payload: %s", session.sid, exc.reason)
                        self._write_answers()
                        self.ws.fail(PROTOCOL_ERROR, exc.reason)
                        break
                    session.deliver(inbound)
                elif kind is Binary:
                    session.deliver([("message", event.data, {})])
                elif kind is Close or kind is Failed:
                    if kind is Failed:
                        session.log.warning("session %s: websocket closed: %s", session.sid, event.reason)
                    self._write_answers()  # before the close answer, which ends writing
                if session.state == CLOSED:
                    self._stop_reading()
        finally:
            self._delivering = False
        self._write_answers()
        if session.state == CLOSED or self.ws.closed:
            self._stop_reading()
            self.ws.close(1000, "")

    def _write_answers(self) -> None:
        """The application's answers to the messages read so far, in one write."""
        if self._dirty:
            self._dirty = False
            self._delivering = False
            self.notify()

    def _stop_reading(self) -> None:
        """The session lets go of this connection (once)."""
        if self._ended:
            return
        self._ended = True
        self.heartbeater.stop()
        self.session.detach(self)


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
    connection.start()
    return []
