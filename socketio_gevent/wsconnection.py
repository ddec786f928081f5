"""One upgraded WebSocket connection on gevent: bytes between a socket and a codec.

This is the only place that reads or writes an upgraded socket, so socket
errors are mapped to "peer gone" here and nowhere else. Reads go through
pywsgi's buffered ``rfile`` (bytes that arrived with the headers are already
in its buffer) with one ``read1`` per batch; writes go straight to the
socket under a lock, so frames from different greenlets never interleave.

Example::

    accept = handshake.negotiate(environ)
    conn = upgrade(environ, start_response, accept, max_message_size, timeout)
    for event in conn.events():
        ...
"""
from __future__ import annotations

import socket as _stdsocket
from typing import Any, Iterator, Optional

import gevent
from gevent.lock import Semaphore

from .websocket import handshake
from .peer import socket_of
from .timers import call_later
from .websocket.events import Close, Event, Failed, Ping

#: One receive buffer for every connection. ``read1(n)`` allocates ``n``
#: bytes before it waits, so each idle connection held 8 KiB (tracemalloc,
#: 2,000 idle sockets). Greenlets take turns: a read fills this buffer only
#: while its own greenlet runs, and the bytes are copied out before it
#: yields, so sharing it is safe.
_RECEIVE_BUFFER = bytearray(65536)
_RECEIVE_VIEW = memoryview(_RECEIVE_BUFFER)
#: How long a server-initiated close waits for the peer's close answer.
CLOSE_WAIT = 2.0


class HandshakeFailed(Exception):
    pass


class WebSocketConnection:
    __slots__ = ("codec", "rfile", "sock", "closed", "_write_lock", "_closing_sent")

    def __init__(self, codec: Any, rfile: Any, sock: Any) -> None:
        self.codec = codec
        self.rfile = rfile
        self.sock = sock
        self.closed = False
        self._write_lock = Semaphore()
        self._closing_sent = False

    # -- writing -----------------------------------------------------------
    @property
    def writable(self) -> bool:
        """Open, and no close frame sent: nothing may follow a close frame."""
        return not self.closed and not self._closing_sent

    def write(self, data: bytes) -> bool:
        """Send bytes, waiting while the socket is full; ``False`` once the peer is gone.

        One ``send`` first: gevent's ``sendall`` asks the kernel for the
        socket's buffer size on every call, a syscall the common case (the
        whole frame fits) does not need.
        """
        if not self.writable:
            return False
        return self._send(data)

    def _send(self, data: bytes) -> bool:
        if not data:
            return True
        with self._write_lock:
            try:
                sent = self.sock.send(data)
                if sent < len(data):
                    self.sock.sendall(memoryview(data)[sent:])
            except OSError:
                self._drop()
                return False
        return True

    def try_write(self, data: bytes) -> int:
        """Send what the socket takes now, never waiting: bytes sent, -1 if the peer is gone.

        Returns 0 without sending while another write holds the socket, so
        frames never interleave. Lets a broadcast write to a thousand
        sockets from one greenlet and leave only the slow ones to a flusher.
        """
        if not self.writable:
            return -1
        if self._write_lock.locked():
            return 0
        try:
            return self._send_now(data)
        except BlockingIOError:
            return 0
        except OSError:
            self._drop()
            return -1

    def _send_now(self, data: bytes) -> int:
        """One non-blocking send, on the socket gevent wraps when it is there:
        gevent's own ``send`` would wait, and toggling its timeout to stop
        that costs more than the send on a broadcast's hot path."""
        raw = getattr(self.sock, "_sock", None)
        if raw is not None:
            return raw.send(data)
        sock = self.sock
        previous = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            return sock.send(data)
        finally:
            sock.settimeout(previous)

    def send_text(self, text: str) -> bool:
        return self.write(self.codec.send_text(text))

    def send_binary(self, data: bytes) -> bool:
        return self.write(self.codec.send_binary(data))

    # -- reading -----------------------------------------------------------
    def _buffered(self) -> bytes:
        """What pywsgi's reader already holds (bytes that came with the handshake).

        After it, reads go straight to the socket: fewer layers per read,
        and a shallower stack for each idle connection's greenlet to keep.
        """
        sock = self.sock
        previous = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            return self.rfile.read1(65536) or b""
        except (BlockingIOError, OSError, ValueError):
            return b""
        finally:
            sock.settimeout(previous)

    def events(self, batch_ends: bool = False) -> Iterator[Optional[Event]]:
        """Every event until the peer closes, fails or goes away.

        Pings are answered here; ``Close`` and ``Failed`` are answered and
        end the connection before they are yielded. With ``batch_ends``,
        ``None`` follows the events of each read, so a caller can write its
        answers to a whole batch at once.
        """
        codec = self.codec
        recv_into = self.sock.recv_into
        try:
            data = self._buffered()
            while not self.closed:
                if not data:
                    try:
                        count = recv_into(_RECEIVE_VIEW)
                        data = _RECEIVE_BUFFER[:count] if count else b""
                    except (OSError, ValueError):
                        data = b""
                if not data:
                    self._drop()
                    return
                codec.receive_data(data)
                for event in codec.events():
                    if isinstance(event, Ping):
                        self.write(codec.send_pong(event.payload))
                        continue
                    if isinstance(event, (Close, Failed)):
                        if not self._closing_sent:
                            self.write(event.reply)
                        self._drop()
                        yield event
                        return
                    yield event
                data = b""
                if batch_ends:
                    yield None
        finally:
            # Only the reading greenlet may close the buffered reader; it
            # also tells pywsgi not to read another request from it.
            try:
                self.rfile.close()
            except (OSError, ValueError, RuntimeError):
                pass

    # -- closing -----------------------------------------------------------
    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start a close from our side; the reader sees the answer and ends."""
        if self.closed or self._closing_sent:
            return
        frame = self.codec.send_close(code, reason)
        self._closing_sent = True
        if not frame:  # hixie-75 has no close frame: closing is closing TCP
            self._drop()
        elif self._send(frame):
            call_later(CLOSE_WAIT, self._drop)

    def fail(self, code: int, reason: str) -> None:
        """Error close (§4.3): the dialect's close with ``code``, then TCP close."""
        if self.writable:
            self._closing_sent = True
            self._send(self.codec.send_close(code, reason))
        self._drop()

    def _drop(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.shutdown(_stdsocket.SHUT_RDWR)  # wakes the reader with EOF
        except OSError:
            pass


def upgrade(
    environ: dict,
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
    rfile = environ["wsgi.input"]
    sock = socket_of(environ)
    if sock is None:
        raise HandshakeFailed("no socket to upgrade (run under gevent.pywsgi)")
    write = start_response(accept.status, accept.headers)
    write(b"")
    if accept.key3_needed:
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
            rfile.close()
            raise HandshakeFailed("key3 not received within handshake_timeout")
        sock.sendall(accept.answer(key3))
    codec = handshake.make_codec(accept, max_message_size)
    return WebSocketConnection(codec, rfile, sock)
