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
from typing import Any, Deque, List, Optional

import gevent
from gevent import getcurrent

log = logging.getLogger("socketio_gevent")

#: Idle workers kept for the next burst; more are started while handlers block.
MAX_IDLE_WORKERS = 4


class Readable:
    """What a watched socket's owner provides (duck-typed)."""

    def on_readable(self) -> None:
        """Runs in a worker: read what is there, handle it, then :meth:`Watch.resume`."""


class Watch:
    """One socket's read watcher; paused while its owner is queued or served."""

    __slots__ = ("_watcher", "_owner", "_dispatcher")

    def __init__(self, dispatcher: "Dispatcher", fd: int, owner: Readable) -> None:
        self._dispatcher = dispatcher
        self._owner = owner
        self._watcher = dispatcher.loop.io(fd, 1)

    def resume(self) -> None:
        """Call again when the socket turns readable (level-triggered)."""
        watcher = self._watcher
        if watcher is not None and not watcher.active:
            watcher.start(self._dispatcher.readable, self._owner, self)

    def pause(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
            watcher.close()


class Dispatcher:
    """Serves readable sockets from a few worker greenlets, one per hub."""

    def __init__(self) -> None:
        self.hub = gevent.get_hub()
        self.loop = self.hub.loop
        self._ready: Deque[Readable] = deque()
        self._idle: List[Any] = []
        self._wake_pending = False

    def watch(self, fd: int, owner: Readable) -> Watch:
        return Watch(self, fd, owner)

    # -- in the hub --------------------------------------------------------
    def readable(self, owner: Readable, watch: Watch) -> None:
        """Loop callback: queue the socket; workers run after this loop turn."""
        watch.pause()
        self._ready.append(owner)
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
        if self._idle:
            self._idle.pop().switch()
        else:
            gevent.spawn(self._work)

    # -- in a worker -------------------------------------------------------
    def _work(self) -> None:
        ready = self._ready
        hub = self.hub
        while True:
            while ready:
                owner = ready.popleft()
                if ready and not self._wake_pending:
                    # Should this handler block, the rest is not stranded.
                    self._wake_pending = True
                    self.loop.run_callback(self._wake)
                try:
                    owner.on_readable()
                except Exception:  # a bug in one connection must not stop the others
                    log.exception("error while serving a connection")
            if len(self._idle) >= MAX_IDLE_WORKERS:
                return
            self._idle.append(getcurrent())
            hub.switch()


_dispatchers: "dict[int, Dispatcher]" = {}


def dispatcher() -> Dispatcher:
    """The dispatcher of the current thread's hub."""
    hub = gevent.get_hub()
    found: Optional[Dispatcher] = _dispatchers.get(id(hub))
    if found is None or found.hub is not hub:
        found = _dispatchers[id(hub)] = Dispatcher()
    return found
