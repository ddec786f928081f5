"""Noticing that a client hung up while its request waits (held poll, open stream).

Why: a held poll or an idle stream does not read from its socket, so a
client that goes away is only noticed at the next write, and whatever that
write carried would be lost. A read watcher on the loop (a small C watcher,
no greenlet) wakes the waiting request as soon as the socket turns readable;
the request then peeks: end of file means the client is gone and the
session's queue stays intact for the client's next request.
"""
from __future__ import annotations

import socket as _stdsocket
from typing import Any, Callable, Dict, Optional

import gevent

from ..protocol.outbox import FrameCache, Item
from .loop import close_watcher

#: Where the handler offers the connection's read watcher (a callable making
#: it once): a poll per delivery would otherwise make and free one per poll.
READ_WATCHER_KEY = "socketio_gevent.read_watcher"

_PEEK_NOW = _stdsocket.MSG_PEEK | _stdsocket.MSG_DONTWAIT

#: Where :class:`~socketio_gevent.edge.handler.SocketIOHandler` puts the
#: request's socket in the environ.
SOCKET_KEY = "socketio_gevent.socket"


def peek(sock: Any) -> Optional[bytes]:
    """What waits to be read, without reading it: ``b""`` at the peer's end
    of file, ``None`` if nothing has come yet (``OSError`` on a failed socket).
    One non-blocking syscall on gevent's own socket under the wrapper, with
    no timeout to set and restore around it."""
    raw = getattr(sock, "_sock", sock)
    try:
        data: bytes = raw.recv(1, _PEEK_NOW)
    except BlockingIOError:
        return None
    return data


def socket_of(environ: Dict[str, Any]) -> Any:
    """The request's gevent socket, or ``None``.

    From SocketIOHandler; under pywsgi's own handler, from the socket under
    ``wsgi.input`` (``tests/unit/test_gevent_names.py`` watches that path).
    """
    sock = environ.get(SOCKET_KEY)
    if sock is None:
        raw = getattr(environ.get("wsgi.input"), "raw", None)
        sock = getattr(raw, "_sock", None)
    return sock


class PeerWatch:
    __slots__ = ("_sock", "_wake", "_watcher", "_own")

    def __init__(self, environ: Dict[str, Any], wake: Callable[[], None]) -> None:
        self._sock = socket_of(environ)
        self._wake = wake
        self._watcher: Any = None
        #: The watcher is this request's (closed by :meth:`stop`), not the connection's.
        self._own = False
        if self._sock is not None:
            try:
                make = environ.get(READ_WATCHER_KEY)
                if make is not None:
                    self._watcher = make()  # the connection's, reused by each of its requests
                else:
                    self._watcher = gevent.get_hub().loop.io(self._sock.fileno(), 1)
                    self._own = True
                self._watcher.start(self._readable)
            except OSError:
                self._watcher = None

    def _readable(self) -> None:
        self._watcher.stop()  # level-triggered: look once, from the request's greenlet
        self._wake()

    def gone(self) -> bool:
        """Has the client closed its end? One non-blocking peek (a syscall)."""
        if self._sock is None:
            return False
        try:
            data = peek(self._sock)
        except OSError:
            return True
        if data is None:
            return False
        self.stop()  # data: a pipelined request, not ours to read; none: gone
        return not data

    def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if self._own:
            close_watcher(watcher)
        elif watcher is not None:
            watcher.stop()


class HeldRequest:
    """An HTTP request that stays open for a session (a held poll, a stream).

    What polls and streams share as a session's
    :class:`~socketio_gevent.edge.sessions.Connection`: ``wake``, ``end``
    and ``send_frame`` wake the waiting request, nothing is written directly
    (``offer`` declines: a response carries what is queued when it is
    written), and a client that hangs up is noticed by :class:`PeerWatch`.

    The request waits on a flag and a direct switch, not a gevent ``Event``
    with a ``Timeout``: one poll per delivery makes their setup and
    notification (two objects and a timer per poll) a tenth of a
    long-polling server's time, where a flag, a switch and a bare loop
    timer do the same.
    """

    __slots__ = ("transport", "ended", "peer", "frames", "_environ", "_woken", "_waiter")

    def __init__(self, transport: str, environ: Dict[str, Any]) -> None:
        self.transport = transport
        #: The session let go of this request, or its client hung up.
        self.ended = False
        #: Frames for this request alone (a heartbeat, an ack) waiting to be written.
        self.frames: Optional[str] = None
        self._environ = environ
        self.peer: Optional[PeerWatch] = None
        #: Something happened since the request last waited.
        self._woken = False
        #: The greenlet waiting in :meth:`_wait`, if one is.
        self._waiter: Any = None

    def watch_peer(self) -> None:
        if self.peer is None:
            self.peer = PeerWatch(self._environ, self._set)

    def stop_watching(self) -> None:
        if self.peer is not None:
            self.peer.stop()

    def _set(self) -> None:
        """Wake the waiting request (from any greenlet or the hub, any number of times)."""
        if not self._woken:
            self._woken = True
            if self._waiter is not None:
                gevent.get_hub().loop.run_callback(self._resume)

    def _resume(self) -> None:
        """In the hub: switch to the waiter, if it still waits (a timer may have woken it first)."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.switch()

    def _wait(self, timeout: Optional[float] = None) -> None:
        """Until :meth:`_set` (now, if it already was) or ``timeout`` seconds; then clear."""
        if not self._woken:
            hub = gevent.get_hub()
            timer = None
            if timeout is not None:
                timer = hub.loop.timer(max(timeout, 0.0))
                timer.start(self._resume)
            self._waiter = gevent.getcurrent()
            try:
                hub.switch()
            finally:
                self._waiter = None
                close_watcher(timer)
        self._woken = False

    # -- Connection ----------------------------------------------------------
    def wake(self) -> None:
        self._set()

    def end(self, reason: str) -> None:
        self.ended = True
        self._set()

    def offer(self, item: Item, frames: Optional[FrameCache]) -> bool:
        return False

    def send_frame(self, frame: str) -> None:
        self.frames = frame if self.frames is None else self.frames + frame
        self._set()

    # -- for the request's greenlet ------------------------------------------
    def take_frames(self) -> str:
        frames, self.frames = self.frames, None
        return frames or ""

    def abort(self) -> None:
        """Cut the request's connection (server side) and end it."""
        sock = socket_of(self._environ)
        if sock is not None:
            try:
                sock.shutdown(_stdsocket.SHUT_RDWR)
            except OSError:
                pass
        self.end("aborted")

    def hung_up(self) -> bool:
        """Ended, or the client closed its end (only a watched request can tell)."""
        if not self.ended and self.peer is not None and self.peer.gone():
            self.ended = True
        return self.ended
