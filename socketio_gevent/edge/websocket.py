"""The websocket and flashsocket transports: a session over one upgraded socket.

After the handshake the socket leaves pywsgi's greenlet: it is read from a
loop watcher (:mod:`socketio_gevent.edge.reactor`), so an idle connection
holds no greenlet and no request objects, only its socket, codec and
session. Writes go through the connection's one outgoing buffer
(:mod:`socketio_gevent.edge.connection`) and never wait.

The application's answers to the messages of one read are written
together after that read (one write for all of them): while a reader
delivers, the session's sends from that reader's greenlet queue up, and
the reader writes the queue when it is done. Sends from elsewhere (a
broadcast) are written at once.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, List, Optional

from gevent import getcurrent

from ..protocol.acks import plain_ack, read_query
from ..protocol.errors import ProtocolError
from ..protocol.framing import Decoder, plain_message
from ..protocol.outbox import FrameCache, Item
from ..protocol.routing import Route
from ..protocol.session import OPEN, decode_inbound, decode_inbound_prefix
from ..websocket import handshake
from ..websocket.codec import CloseCode
from ..websocket.events import Binary, Close, Event, Failed, Text
from . import responses
from .connection import HandshakeFailed, ReceiveBuffer, WebSocketConnection, upgrade
from .loop import per_hub
from .reactor import Watch, dispatcher
from .sessions import LiveSession, SessionTable


class SessionSocket:
    """A session's :class:`~socketio_gevent.edge.sessions.Connection` over one WebSocket."""

    __slots__ = ("transport", "session", "ws", "codec", "binary", "wire", "_reader",
                 "_decoder", "_watch", "_buffer")

    def __init__(self, transport: str, session: LiveSession, ws: WebSocketConnection) -> None:
        self.transport = transport
        self.session = session
        self.ws = ws
        self.codec = ws.codec
        self.binary = ws.codec.binary_frames
        #: This connection's wire format in a broadcast's frame cache, or
        #: ``None`` when its framing has state (deflate) and cannot share.
        self.wire: Optional[type] = type(ws.codec) if ws.codec.stateless_send else None
        #: The greenlet delivering this socket's messages, while it does.
        self._reader: Any = None
        self._decoder = Decoder(max_length=session.table.options.max_message_size)
        self._watch: Optional[Watch] = None
        self._buffer: Optional[ReceiveBuffer] = None
        ws.on_drained = self._write_queued

    # -- Connection --------------------------------------------------------
    def wake(self) -> None:
        """Items are queued: write them now, unless the reader will after its read."""
        if self._reader is None or getcurrent() is not self._reader:
            self._write_queued()

    def offer(self, item: Item, frames: Optional[FrameCache]) -> bool:
        """Write one item at once (a broadcast skips the queue) when nothing
        is buffered and the reader is not collecting its answers.

        A broadcast's first connection of each wire format frames it, the
        others reuse those bytes: per recipient this is the hottest call of
        a fan-out, so that case is written out here.
        """
        if self._reader is not None and getcurrent() is self._reader:
            return False
        wire = self.wire
        if frames is not None and wire is not None and type(item) is str:
            data = frames.get(wire)
            if data is None:
                data = frames[wire] = self.codec.send_text(item)
            return self.ws.offer(data)
        if not self.ws.ready:  # before framing: with deflate, framing changes the codec's state
            return False
        self.ws.write(self._encode([item]))
        return True

    def send_frame(self, frame: str) -> None:
        self.ws.write(self.codec.send_text(frame))

    def end(self, reason: str) -> None:
        """The session ends this socket: 1008 when the client broke the acks rules (§9)."""
        failed = self.session.machine.failure is not None
        self.ws.close(CloseCode.POLICY_VIOLATION if failed else CloseCode.NORMAL, reason)

    # -- writing -----------------------------------------------------------
    def _encode(self, items: List[Item]) -> bytes:
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

    def _write_queued(self) -> None:
        """Write what the session has queued, if the socket is free for it."""
        ws = self.ws
        if not ws.ready:
            return  # on_drained brings us back; a closing socket writes no more
        session = self.session
        items = session.take(self)
        if items:
            ws.write(self._encode(items))
            if session.machine.connection is not self:  # that was the session's 0:0:,
                ws.close(CloseCode.NORMAL, "disconnected by the application")

    # -- reading -----------------------------------------------------------
    def start(self) -> None:
        """Leave the request's greenlet: from now on the loop watches the socket."""
        self._buffer = per_hub(ReceiveBuffer)
        self._handle(self.ws.early_events())
        if self.ws.closed:
            self._stop()
        else:
            self._watch = dispatcher().watch(self.ws.sock.fileno(), self)

    def on_readable(self) -> None:
        """In a reactor worker: one read, its payloads delivered in order."""
        ws = self.ws
        data = ws.read(self._buffer)  # type: ignore[arg-type]  # set by start()
        if data is None:
            self._stop()
            return
        if not data:
            return
        try:
            text = self.codec.whole_text(data)
            if text is None:
                self._handle(ws.events_of(data))
            elif ws.writable:  # the commonest read: one whole text message
                self._reader = getcurrent()
                try:
                    self._text(text)
                finally:
                    self._reader = None
                self._write_queued()
        except Exception:  # our bug, not the peer's: end this connection, loudly
            self.session.log.exception("session %s: error while reading its websocket", self.session.sid)
            ws.fail(CloseCode.INTERNAL_ERROR, "internal error")
        if ws.closed:
            self._stop()

    def _stop(self) -> None:
        """Reading is over: the session lets go of this socket (once)."""
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()
        self.session.detach(self)
        self.ws.release()

    def _handle(self, events: Iterator[Event]) -> None:
        session = self.session
        ws = self.ws
        self._reader = getcurrent()
        try:
            for event in events:
                kind = type(event)
                if kind is Close or kind is Failed:
                    if kind is Failed:
                        session.log.warning("session %s: websocket closed: %s", session.sid, event.reason)  # type: ignore[union-attr]
                    self._reader = None
                    self._write_queued()  # before the close answer, which ends writing
                elif not ws.writable:
                    break  # we failed it, or the session ended it: nothing more is read
                elif kind is Text:
                    self._text(event.data)  # type: ignore[union-attr,arg-type]
                elif kind is Binary:
                    machine = session.machine
                    if machine.state is OPEN and machine.connection is self:
                        session.deliver([("message", event.data, {})])  # type: ignore[union-attr]
        finally:
            self._reader = None
        self._write_queued()

    def _text(self, data: str) -> None:
        """One text message of this open socket: its frames, delivered."""
        session = self.session
        machine = session.machine
        if machine.state is not OPEN or machine.connection is not self:
            return  # moved or closing: only the close exchange is left
        if not self._decoder.pending:
            message = plain_message(data, self._decoder.max_length)
            if message is not None:  # one plain message: no frames to build
                session.deliver_message(message)
                return
            count = plain_ack(data) if machine.sent is not None else None
            if count is not None:  # one ack, the other common payload
                session.ack(count)
                return
        self._receive_payload(data)

    def _receive_payload(self, data: str) -> None:
        """Frames in general: several per message, or one split across messages."""
        session = self.session
        try:
            inbound = decode_inbound(self._decoder.feed(data), session.table.options.max_payload_messages)
        except ProtocolError as exc:
            session.deliver(decode_inbound_prefix(exc.frames))
            session.log.warning("session %s: malformed payload: %s", session.sid, exc.reason)
            self._reader = None
            self._write_queued()
            self.ws.fail(exc.close_code, exc.reason)
            return
        session.deliver(inbound)


def handle(
    sessions: SessionTable,
    route: Route,
    environ: Dict[str, Any],
    start_response: responses.StartResponse,
) -> Iterable[bytes]:
    options = sessions.options
    accept = handshake.negotiate(environ, deflate=options.websocket_deflate)
    if isinstance(accept, handshake.Refuse):
        return responses.error(start_response, accept.status, accept.reason, accept.headers)
    try:
        wants_acks, resume = read_query(environ.get("QUERY_STRING", ""))
    except ProtocolError as exc:
        return responses.error(start_response, exc.status, exc.reason)
    session: Optional[LiveSession] = None
    if route.sid:
        session = sessions.find(route.sid)
        if session is None or session.state is not OPEN:
            return responses.error(start_response, 404, "unknown or expired session")
    elif not sessions.admit():
        return responses.busy(start_response)  # before the upgrade: a plain 503
    try:
        ws = upgrade(environ, start_response, accept, options.max_message_size, options.handshake_timeout)
    except HandshakeFailed as exc:
        sessions.log.warning("%s handshake failed: %s", route.transport, exc)
        return []
    if session is None:
        session = sessions.create(route.transport, environ, wants_acks)
        ws.write(ws.codec.send_text(session.session_frame))
        connection = SessionSocket(route.transport, session, ws)
        session.attach(connection)
        session.open()
    else:
        connection = SessionSocket(route.transport, session, ws)
        session.attach(connection, resume)
        if session.failure is not None:
            ws.fail(CloseCode.POLICY_VIOLATION, session.failure)
    connection.wake()  # what was queued while the client was away
    connection.start()
    return []
