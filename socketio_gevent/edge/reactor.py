"""Reading many upgraded sockets without a greenlet per socket.

Why: a greenlet blocked in ``recv`` keeps its saved C stack (about 5 KiB
per idle connection, by tracemalloc) and costs two switches per message.
Here each socket is a read watcher on the gevent loop (a small C struct).
When sockets turn readable, the loop's callbacks only queue them; one
worker greenlet then serves every queued socket in a row, so a burst of
messages on a hundred sockets costs one switch, not two hundred.

Application handlers run in the workers and may block (a database call, a
``gevent.sleep``). A blocked worker holds only the socket it is serving:
the queue is picked up by another worker, started when needed, so one slow
handler never delays other clients. A socket is never queued twice nor
served by two workers at once, so each connection's messages stay in order.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Any, Deque, List, Protocol

import gevent
from gevent import getcurrent

from .loop import close_watcher, per_hub

log = logging.getLogger("socketio_gevent")

#: Idle workers kept for the next burst; more are started while handlers block.
MAX_IDLE_WORKERS = 4


class Readable(Protocol):
    """What a watched socket's owner provides."""

    def on_readable(self) -> None:
        """Runs in a worker: read what is there and handle it (``Watch.close`` when done)."""


_IDLE, _QUEUED, _SERVING = 0, 1, 2


class Watch:
    """One socket's read watcher.

    It stays started: starting and stopping a libev watcher per message is
    two calls for nothing while the socket is served at once. Only when the
    socket turns readable again while it is still queued or being served (a
    blocked handler) is the watcher stopped, or the level-triggered loop
    would wake for it on every turn; serving it restarts the watcher.
    """

    __slots__ = ("_watcher", "owner", "_dispatcher", "_state", "_stopped")

    def __init__(self, dispatcher: "Dispatcher", fd: int, owner: Readable) -> None:
        self._dispatcher = dispatcher
        self.owner = owner
        self._state = _IDLE
        self._stopped = False
        self._watcher = dispatcher.loop.io(fd, 1)
        self._watcher.start(dispatcher.readable, self)

    def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        close_watcher(watcher)


class Dispatcher:
    """Serves readable sockets from a few worker greenlets, one per hub."""

    def __init__(self) -> None:
        self.hub = gevent.get_hub()
        self.loop = self.hub.loop
        self._ready: Deque[Watch] = deque()
        self._idle: List[Any] = []
        self._wake_pending = False

    def watch(self, fd: int, owner: Readable) -> Watch:
        return Watch(self, fd, owner)

    # -- in the hub --------------------------------------------------------
    def readable(self, watch: Watch) -> None:
        """Loop callback: queue the socket; workers run after this loop turn."""
        if watch._state != _IDLE:  # still queued or served: wait for that to end
            watch._stopped = True
            if watch._watcher is not None:
                watch._watcher.stop()
            return
        watch._state = _QUEUED
        self._ready.append(watch)
        if not self._wake_pending:
            self._wake_pending = True
            self.loop.run_callback(self._wake)

    def _wake(self) -> None:
        """Start serving the queue, unless it is already empty.

        Runs in the hub, so any worker still inside a handler is blocked:
        the queue goes to an idle worker (or a new one) instead of waiting.
        """
        self._wake_pending = False
        if not self._ready:
            return
        while self._idle:
            worker = self._idle.pop()
            if not worker.dead:  # a worker killed while parked is skipped
                worker.switch()
                return
        gevent.spawn(self._work)

    # -- in a worker -------------------------------------------------------
    def _work(self) -> None:
        ready = self._ready
        hub = self.hub
        while True:
            while ready:
                watch = ready.popleft()
                if ready and not self._wake_pending:
                    # Should this handler block, the rest is not stranded.
                    self._wake_pending = True
                    self.loop.run_callback(self._wake)
                watch._state = _SERVING
                try:
                    watch.owner.on_readable()
                except Exception:  # a bug in one connection must not stop the others
                    log.exception("error while serving a connection")
                finally:  # even if this worker is killed: the socket is watched again
                    watch._state = _IDLE
                    if watch._stopped:
                        watch._stopped = False
                        if watch._watcher is not None:
                            watch._watcher.start(self.readable, watch)
            if len(self._idle) >= MAX_IDLE_WORKERS:
                return
            self._idle.append(getcurrent())
            hub.switch()


def dispatcher() -> Dispatcher:
    """The dispatcher of the current thread's hub."""
    return per_hub(Dispatcher)
