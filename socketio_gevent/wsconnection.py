"""One upgraded WebSocket connection on gevent: bytes between a socket and a codec.

This is the only place that reads or writes an upgraded socket, so socket
errors are mapped to "peer gone" here and nowhere else. Writes go straight
to the socket under a lock, so frames from different greenlets never
interleave. Reading has two forms:

- :meth:`WebSocketConnection.events`, a blocking iterator for a greenlet
  that owns the connection (``wsgi.websocket`` routes, where the
  application calls ``receive()``);
- :meth:`WebSocketConnection.detach` + :meth:`WebSocketConnection.read_events`,
  for sessions: the socket leaves pywsgi's greenlet and is read from a loop
  watcher (:mod:`socketio_gevent.reactor`), one non-blocking read per wake-up.

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
from gevent.socket import wait_write

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
    __slots__ = ("codec", "rfile", "sock", "raw", "closed", "_write_lock", "_closing_sent")

    def __init__(self, codec: Any, rfile: Any, sock: Any) -> None:
        self.codec = codec
        self.rfile = rfile
        #: gevent's socket while pywsgi's greenlet reads (``None`` once detached).
        self.sock = sock
        #: The non-blocking OS socket under it: every write goes here.
        self.raw = getattr(sock, "_sock", sock)
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

        One non-blocking ``send`` on the OS socket first; only what it does
        not take waits for writability on the loop (gevent's ``sendall``
        would ask the kernel for the buffer size on every call, a syscall
        the common case, the whole frame fitting, does not need).
        """
        if not self.writable:
            return False
        return self._send(data)

    def _send(self, data: bytes) -> bool:
        if not data:
            return True
        with self._write_lock:
            return self._write_all(data)

    def _write_all(self, data: Any) -> bool:
        """Under the write lock: all of ``data``, waiting while the socket is full."""
        raw = self.raw
        try:
            try:
                sent = raw.send(data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                view = memoryview(data)[sent:]
                while view:
                    wait_write(raw.fileno())
                    try:
                        view = view[raw.send(view):]
                    except BlockingIOError:
                        pass
        except (OSError, ValueError):
            self._drop()
            return False
        return True

    def try_write(self, data: bytes) -> int:
        """Send what the socket takes now, never waiting: bytes sent, -1 if the peer is gone.

        Returns 0 without sending while another write holds the socket, so
        frames never interleave. Lets a broadcast write to a thousand
        sockets from one greenlet and leave only the slow ones to a flusher.
        """
        if self.closed or self._closing_sent:
            return -1
        if self._write_lock.locked():
            return 0
        try:
            return self.raw.send(data)
        except BlockingIOError:
            return 0
        except (OSError, ValueError):
            self._drop()
            return -1

    def _send_soon(self, data: bytes) -> None:
        """Send without ever blocking the caller (it may be the hub): what the
        socket does not take now goes from a greenlet, after any write in flight."""
        if not self._write_lock.locked():
            try:
                sent = self.raw.send(data)
            except BlockingIOError:
                sent = 0
            except (OSError, ValueError):
                self._drop()
                return
            if sent == len(data):
                return
            data = data[sent:]
            # Taken now, so no other frame slips in before the rest of this one.
            self._write_lock.acquire(blocking=False)
            gevent.spawn(self._send_rest, data)
            return
        gevent.spawn(self._send, data)

    def _send_rest(self, data: bytes) -> None:
        try:
            self._write_all(data)
        finally:
            self._write_lock.release()  # taken for us by _send_soon

    def send_text(self, text: str) -> bool:
        return self.write(self.codec.send_text(text))

    def send_binary(self, data: bytes) -> bool:
        return self.write(self.codec.send_binary(data))

    # -- reading -----------------------------------------------------------
    def _buffered(self) -> bytes:
        """What pywsgi's reader already holds (bytes that came with the handshake)."""
        sock = self.sock
        previous = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            return self.rfile.read1(65536) or b""
        except (BlockingIOError, OSError, ValueError):
            return b""
        finally:
            sock.settimeout(previous)

    def _events_of(self, data: bytes) -> Iterator[Event]:
        """Feed bytes to the codec and yield its events; pings are answered.

        ``Close`` / ``Failed`` is yielded before it is answered, so a consumer
        can first write what it owes for the messages ahead of it; resuming
        the iterator then writes the close answer and ends the connection.
        """
        codec = self.codec
        codec.receive_data(data)
        for event in codec.events():
            kind = type(event)
            if kind is Ping:
                self.write(codec.send_pong(event.payload))
                continue
            yield event
            if kind is Close or kind is Failed:
                if not self._closing_sent:
                    self.write(event.reply)
                self._drop()
                return

    def events(self) -> Iterator[Event]:
        """Every event until the peer closes, fails or goes away (blocking)."""
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
                yield from self._events_of(data)
                data = b""
        finally:
            # Only the reading greenlet may close the buffered reader; it
            # also tells pywsgi not to read another request from it.
            try:
                self.rfile.close()
            except (OSError, ValueError, RuntimeError):
                pass

    def detach(self) -> Iterator[Event]:
        """Take the socket away from pywsgi (its greenlet may then end).

        Returns the events of the bytes pywsgi had already read past the
        handshake. Afterwards pywsgi sees a closed reader (no next request)
        and a detached socket (its close is a no-op); the file descriptor is
        ours and :meth:`release` closes it.
        """
        data = self._buffered()
        try:
            self.rfile.close()
        except (OSError, ValueError, RuntimeError):
            pass
        sock = self.sock
        family, kind, proto = sock.family, sock.type, sock.proto
        self.raw = _stdsocket.socket(family, kind, proto, sock.detach())
        self.raw.setblocking(False)
        self.sock = self.rfile = None
        return self._events_of(data) if data else iter(())

    def read_events(self) -> Optional[Iterator[Event]]:
        """One non-blocking read (detached connections): its events, ``None`` once ended."""
        if self.closed:
            return None
        try:
            count = self.raw.recv_into(_RECEIVE_VIEW)
        except BlockingIOError:
            return iter(())
        except (OSError, ValueError):
            count = 0
        if not count:
            self._drop()
            return None
        return self._events_of(_RECEIVE_BUFFER[:count])

    def release(self) -> None:
        """Close a detached socket's descriptor, after any write in flight."""
        self._drop()
        if self._write_lock.locked():
            gevent.spawn(self._release_after_write)
        else:
            self.raw.close()

    def _release_after_write(self) -> None:
        with self._write_lock:
            self.raw.close()

    # -- closing -----------------------------------------------------------
    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start a close from our side; the reader sees the answer and ends.

        Never blocks, so timers in the hub may call it.
        """
        if self.closed or self._closing_sent:
            return
        frame = self.codec.send_close(code, reason)
        self._closing_sent = True
        if not frame:  # hixie-75 has no close frame: closing is closing TCP
            self._drop()
            return
        self._send_soon(frame)
        call_later(CLOSE_WAIT, self._drop)

    def fail(self, code: int, reason: str) -> None:
        """Error close (§4.3): the dialect's close with ``code``, then TCP close."""
        if self.writable:
            self._closing_sent = True
            self._send_soon(self.codec.send_close(code, reason))
        self._drop()

    def _drop(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.raw.shutdown(_stdsocket.SHUT_RDWR)  # wakes the reader with EOF
        except (OSError, ValueError):
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
