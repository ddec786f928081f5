"""One upgraded WebSocket connection on gevent: bytes between a socket and a codec.

This is the only place that reads or writes an upgraded socket, so socket
errors become "the peer is gone" here and nowhere else. Right after the
handshake the socket is taken from pywsgi (:func:`upgrade`): from then on it
is a plain non-blocking socket that this module owns and closes.

One state, one write path:

- :attr:`WebSocketConnection.state` is the connection's only state:
  ``OPEN`` (messages both ways), ``CLOSING`` (our close frame is queued;
  reading goes on until the peer answers or ``CLOSE_WAIT`` passes),
  ``CLOSED`` (nothing more is read or accepted for writing; the socket is
  shut once its last bytes are out, or at once if the peer is gone).
- Every byte goes out through ``write``: sent at once when nothing is
  pending and the socket takes it, the rest kept in one outgoing buffer
  that one loop write watcher flushes (no greenlet, no lock). So frames
  never interleave, order is kept, and no write ever waits: the hub itself
  may write. ``on_drained`` is called when the buffer empties, so the owner
  can write what it held back meanwhile.

Reading has two forms: :meth:`WebSocketConnection.read`, one
non-blocking read for sessions, whose sockets are watched by the loop
(``socketio_gevent.edge.reactor``); and :meth:`WebSocketConnection.events`,
a blocking iterator for a greenlet that owns the connection (plain
``wsgi.websocket`` routes).

Example::

    accept = handshake.negotiate(environ)
    conn = upgrade(environ, start_response, accept, max_message_size, timeout)
    for event in conn.events():
        ...
"""
from __future__ import annotations

import enum
import socket as _stdsocket
from typing import Any, Callable, Dict, Iterator, Optional

import gevent
from gevent.event import Event as Flag

from ..websocket import handshake
from ..websocket.codec import Codec
from ..websocket.events import Close, Event, Failed, Ping, Text
from .gate import TICKET_KEY, CountedSocket
from .loop import Timer, call_later, close_watcher, per_hub
from .peer import socket_of

#: How long a close we started waits for the peer's answer, and how long
#: the last bytes of a closed connection may take to leave.
CLOSE_WAIT = 2.0
#: Bytes taken from the socket per read.
READ_SIZE = 65536


class HandshakeFailed(Exception):
    """The upgrade could not complete (key3 late, or no socket to take)."""


class WsState(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


# Plain names for the members: an enum attribute lookup costs ~70 ns on
# CPython 3.11, and the state is read several times per message.
_OPEN, _CLOSING, _CLOSED = WsState.OPEN, WsState.CLOSING, WsState.CLOSED


class ReceiveBuffer:
    """One receive buffer per hub (thread): ``recv_into`` fills it only
    while its own greenlet runs, and the bytes are copied out before it
    yields, so the connections of one hub can share it. A buffer per
    connection would cost 64 KiB per idle socket."""

    __slots__ = ("data", "view")

    def __init__(self) -> None:
        self.data = bytearray(READ_SIZE)
        self.view = memoryview(self.data)


class WebSocketConnection:
    __slots__ = ("codec", "sock", "state", "on_drained", "_out", "_writer", "_timer",
                 "_early", "_released", "_shut", "_drained")

    def __init__(self, codec: Codec, sock: _stdsocket.socket, early: bytes = b"") -> None:
        self.codec = codec
        #: The non-blocking socket, ours since the handshake.
        self.sock = sock
        self.state = _OPEN
        #: Called (in the hub) when the outgoing buffer has emptied.
        self.on_drained: Optional[Callable[[], None]] = None
        self._out = bytearray()
        self._writer: Any = None
        self._timer: Optional[Timer] = None
        #: Bytes that arrived with the handshake, read before the socket.
        self._early = early
        #: The reader is done with the socket: close it once nothing is left to write.
        self._released = False
        self._shut = False
        #: Set when the buffer empties, for a greenlet waiting on it (plain routes).
        self._drained: Optional[Flag] = None

    # -- state -------------------------------------------------------------
    @property
    def writable(self) -> bool:
        """Open: data may be written (nothing may follow a close frame)."""
        return self.state is _OPEN

    @property
    def closed(self) -> bool:
        return self.state is _CLOSED

    @property
    def ready(self) -> bool:
        """Open, with nothing waiting: a write now goes straight to the socket."""
        return not self._out and self.state is _OPEN

    # -- writing -----------------------------------------------------------
    def write(self, data: bytes, control: bool = False) -> bool:
        """The one write path: send now what the socket takes, buffer the rest.

        Data frames only while open (``False`` otherwise: nothing follows a
        close frame); ``control`` frames (a close, its answer, a pong) also
        while closing. Never waits.
        """
        if self.state is not _OPEN and not control:
            return False
        if not data or self._shut:
            return True
        if self._out:
            self._out += data
            return True
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.abort()
            return False
        if sent < len(data):
            self._keep(data[sent:])
        return True

    def offer(self, data: bytes) -> bool:
        """Write ``data`` if it goes straight to the socket (open, nothing
        buffered); else ``False``, with nothing done.

        :meth:`write` after :attr:`ready` in one call: a broadcast makes it
        once per recipient, the hottest call of a fan-out. So it repeats
        the few lines of ``write``'s send rather than share them through
        another call (0.25 µs per recipient for both calls together)."""
        if self._out or self.state is not _OPEN:
            return False
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.abort()
            return True
        if sent < len(data):
            self._keep(data[sent:])
        return True

    def _keep(self, rest: bytes) -> None:
        """What the socket did not take: buffered, and sent when it is writable."""
        self._out += rest
        self._writer = gevent.get_hub().loop.io(self.sock.fileno(), 2)
        self._writer.start(self._flush)

    def send_text(self, text: str) -> bool:
        return self.write(self.codec.send_text(text))

    def send_binary(self, data: bytes) -> bool:
        return self.write(self.codec.send_binary(data))

    def _flush(self) -> None:
        """In the hub: the socket takes more."""
        out = self._out
        try:
            sent = self.sock.send(out)
        except BlockingIOError:
            return
        except OSError:
            self.abort()
            return
        del out[:sent]
        if out:
            return
        writer, self._writer = self._writer, None
        close_watcher(writer)
        if self._drained is not None:
            self._drained.set()
        if self.state is _CLOSED:
            self._shutdown()
        elif self.on_drained is not None:
            self.on_drained()

    def wait_drained(self) -> None:
        """Block this greenlet until the outgoing buffer is empty (plain routes)."""
        while self._out and not self._shut:
            if self._drained is None:
                self._drained = Flag()
            self._drained.clear()
            self._drained.wait()

    # -- closing -----------------------------------------------------------
    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start a close from our side; never waits (timers in the hub call it).

        The peer's answer ends the connection; without one it ends after
        ``CLOSE_WAIT``.
        """
        if self.state is not _OPEN:
            return
        frame = self.codec.send_close(code, reason)
        if not frame:  # hixie-75 has no close frame: closing is closing TCP
            self._finish()
            return
        self.state = _CLOSING
        self.write(frame, control=True)
        self._timer = call_later(CLOSE_WAIT, self._finish)

    def fail(self, code: int, reason: str) -> None:
        """The dialect's error close (docs/protocol.rst §4.3), then TCP close."""
        if self.state is _OPEN:
            self.write(self.codec.send_close(code, reason), control=True)
        self._finish()

    def _finish(self) -> None:
        """Closed: shut the socket once its last bytes are out (``CLOSE_WAIT`` at most)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.state is _CLOSED:
            return
        self.state = _CLOSED
        if self._out:
            self._timer = call_later(CLOSE_WAIT, self.abort)
        else:
            self._shutdown()

    def abort(self) -> None:
        """The peer is gone (or would not read): drop what is left and shut the socket."""
        self.state = _CLOSED
        self._out = bytearray()
        self._shutdown()

    def _shutdown(self) -> None:
        if self._drained is not None:
            self._drained.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        writer, self._writer = self._writer, None
        close_watcher(writer)
        if not self._shut:
            self._shut = True
            try:
                self.sock.shutdown(_stdsocket.SHUT_RDWR)  # the reader sees EOF
            except OSError:
                pass
        if self._released:
            self.sock.close()

    def release(self) -> None:
        """The reader is done: close the socket (after its last bytes, if any)."""
        self._released = True
        if self.state is not _CLOSED:
            self.abort()
        elif self._shut:
            self.sock.close()

    # -- reading -----------------------------------------------------------
    def events_of(self, data: bytes) -> Iterator[Event]:
        """Feed bytes to the codec and yield its events; pings are answered.

        ``Close`` / ``Failed`` is yielded before it is answered, so a consumer
        can first write what it owes for the messages ahead of it; resuming
        the iterator then writes the answer and closes the connection.
        """
        codec = self.codec
        codec.receive_data(data)
        for event in codec.events():
            kind = type(event)
            if kind is Ping:
                self.write(codec.send_pong(event.payload))  # type: ignore[union-attr]
                continue
            yield event
            if kind is Close or kind is Failed:
                if self.state is _OPEN:
                    self.write(event.reply, control=True)  # type: ignore[union-attr]
                self._finish()
                return

    def early_events(self) -> Iterator[Event]:
        """The events of the bytes that came with the handshake (read once)."""
        data, self._early = self._early, b""
        return self.events_of(data) if data else iter(())

    def read(self, buffer: ReceiveBuffer) -> Optional[bytes]:
        """One non-blocking read: the bytes (``b""`` when none are there yet);
        ``None`` once the connection has ended."""
        if self.state is _CLOSED:
            return None
        try:
            count = self.sock.recv_into(buffer.view)
        except BlockingIOError:
            return b""
        except OSError:
            count = 0
        if not count:
            self.abort()
            return None
        return bytes(buffer.view[:count])

    def events(self) -> Iterator[Event]:
        """Every event until the peer closes, fails or goes away (blocking)."""
        yield from self.early_events()
        buffer = per_hub(ReceiveBuffer)
        hub = gevent.get_hub()
        readable = hub.loop.io(self.sock.fileno(), 1)  # one watcher, started per wait
        reads = 0
        try:
            while True:
                data = self.read(buffer)
                if data is None:
                    return
                got = False
                text = self.codec.whole_text(data) if data else None
                if text is not None:  # the commonest read: one whole text message
                    got = True
                    yield Text(text)
                elif data:
                    for event in self.events_of(data):
                        got = True
                        yield event
                reads += 1
                # Nothing read: wait for more. Else, after FAIR_READS reads in a
                # row, wait anyway (the socket is readable, so this returns on
                # the loop's next turn): a peer that floods must not keep every
                # other greenlet of the process from running.
                if (not got or reads >= FAIR_READS) and self.state is not _CLOSED:
                    reads = 0
                    hub.wait(readable)
        finally:
            close_watcher(readable)


#: Reads one blocking WebSocket reader makes before it lets the loop turn.
FAIR_READS = 4


def take_socket(environ: Dict[str, Any]) -> "tuple[_stdsocket.socket, bytes]":
    """Take the upgraded socket away from pywsgi: ``(socket, bytes already read)``.

    Afterwards pywsgi sees a closed reader (no next request) and a detached
    socket (its close is a no-op); the file descriptor is ours.
    """
    # on an upgrade, wsgi.input is pywsgi's buffered reader itself
    return detach_socket(socket_of(environ), environ["wsgi.input"], environ.get(TICKET_KEY))


def detach_socket(sock: Any, rfile: Any, ticket: Any) -> "tuple[CountedSocket, bytes]":
    """:func:`take_socket` from its parts: pywsgi's socket, its reader and the connection's ticket."""
    early = _buffered(sock, rfile)
    try:
        rfile.close()
    except OSError:
        pass
    family, kind, proto = sock.family, sock.type, sock.proto
    if ticket is not None:
        ticket.moved = True  # the connection's place at the gate goes with the socket
    raw = CountedSocket(family, kind, proto, sock.detach(), ticket)
    raw.setblocking(False)
    return raw, early


def _buffered(sock: Any, rfile: Any) -> bytes:
    """What pywsgi's reader already holds (bytes that came with the handshake)."""
    previous = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        data: bytes = rfile.read1(READ_SIZE) or b""
        return data
    except (BlockingIOError, OSError):
        return b""
    finally:
        sock.settimeout(previous)


def upgrade(
    environ: Dict[str, Any],
    start_response: Any,
    accept: handshake.Accept,
    max_message_size: int,
    handshake_timeout: Optional[float],
) -> WebSocketConnection:
    """Answer the handshake and return the open connection.

    The 101 headers go out before key3 is read (hixie-76 behind proxies
    that hold key3 back until they see them). Raises :class:`HandshakeFailed`
    when key3 does not come within ``handshake_timeout``.
    """
    sock = socket_of(environ)
    if sock is None:
        raise HandshakeFailed("no socket to upgrade (run under gevent.pywsgi)")
    write = start_response(accept.status, accept.headers)
    write(b"")
    if accept.key3_needed:
        rfile = environ["wsgi.input"]
        key3 = b""
        with gevent.Timeout(handshake_timeout, False):
            try:
                key3 = rfile.read(8)
            except OSError:
                key3 = b""
        if len(key3) != 8:
            try:
                sock.shutdown(_stdsocket.SHUT_RDWR)
            except OSError:
                pass
            raise HandshakeFailed("key3 not received within handshake_timeout")
        sock.sendall(accept.answer(key3))
    raw, early = take_socket(environ)
    return WebSocketConnection(handshake.make_codec(accept, max_message_size), raw, early)
