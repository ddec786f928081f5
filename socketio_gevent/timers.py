"""Timers for close timeouts and heartbeats, on the gevent loop's own heap.

Why not a greenlet per session: an idle session would then cost a greenlet
stack just to sleep. A loop timer is a small C watcher on the event loop's
timer heap, so thousands of sessions share one scheduler. Callbacks run in
the hub: they must not block (they set events or spawn work).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import gevent
from gevent.event import Event


class Timer:
    """A one-shot timer; ``cancel`` is idempotent."""

    __slots__ = ("_watcher",)

    def __init__(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        loop = gevent.get_hub().loop
        self._watcher = loop.timer(max(delay, 0.0))
        self._watcher.start(self._fire, fn, args)

    def _fire(self, fn: Callable[..., Any], args: tuple) -> None:
        self.cancel()
        fn(*args)

    def cancel(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            self._watcher = None
            watcher.stop()
            watcher.close()


def call_later(delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
    return Timer(delay, fn, *args)


class IdleGate:
    """Wakes its waiters when the event loop runs out of other work.

    A libev idle watcher fires only in a loop turn with nothing else
    pending: at once on a quiet server, not while requests and timers keep
    arriving. Long polls wait here (up to a cap) before answering, so a busy
    server answers each poll with everything queued meanwhile instead of
    spending a whole HTTP round trip per message or two. Waiters that arrive
    while the gate is closed share one cap timer (a timer per poll was 5 %
    of a saturated long-polling profile), so each waits *at most* its cap.
    """

    def __init__(self) -> None:
        self.hub = gevent.get_hub()
        self._idle = self.hub.loop.idle()
        self._cap: Any = None
        self._waiting: List[Callable[[], Any]] = []

    def wait(self, cap: float) -> None:
        """Return once the loop is idle, or after ``cap`` seconds at most."""
        event = Event()
        self._waiting.append(event.set)
        if not self._idle.active:
            self._idle.start(self._open)
            self._cap = self.hub.loop.timer(cap)
            self._cap.start(self._open)
        event.wait()

    def _open(self) -> None:
        self._idle.stop()
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.stop()
            cap.close()
        waiting, self._waiting = self._waiting, []
        for wake in waiting:
            wake()


_gates: Dict[int, IdleGate] = {}


def idle_gate() -> IdleGate:
    """The gate of the current thread's hub."""
    hub = gevent.get_hub()
    gate = _gates.get(id(hub))
    if gate is None or gate.hub is not hub:
        gate = _gates[id(hub)] = IdleGate()
    return gate
