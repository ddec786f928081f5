"""Timers for close timeouts and heartbeats, on the gevent loop's own heap.

Why not a greenlet per session: an idle session would then cost a greenlet
stack just to sleep. A loop timer is a small C watcher on the event loop's
timer heap, so thousands of sessions share one scheduler. Callbacks run in
the hub: they must not block (they set events or spawn work).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Tuple, Type, TypeVar

import gevent
from gevent.event import Event

T = TypeVar("T")


def close_watcher(watcher: Any) -> None:
    """Stop a loop watcher (``None`` is fine) and free its C side at once."""
    if watcher is not None:
        watcher.stop()
        watcher.close()


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
        watcher, self._watcher = self._watcher, None
        close_watcher(watcher)


def call_later(delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
    return Timer(delay, fn, *args)


#: Process CPU share over a sampling window above which the server counts
#: as busy, and below which it no longer does (hysteresis: batching lowers
#: the load it responds to, and must not flap with it).
BUSY_ENTER = 0.95
BUSY_LEAVE = 0.7
LOAD_WINDOW = 0.1


class IdleGate:
    """Decides when a long poll with data answers: now-ish, or batched.

    A quiet server answers in the first loop turn with nothing else
    pending (a libev idle watcher fires then). A busy one (the process used
    more than ``BUSY_ENTER`` of a CPU over the last window) holds answers
    for the whole cap, so each response carries what queued meanwhile
    instead of one HTTP round trip per few messages; it answers at idle
    again once the load falls below ``BUSY_LEAVE``. Waiters that arrive
    while the gate is closed share one cap timer (a timer per poll was 5 %
    of a saturated long-polling profile), so each waits *at most* its cap.
    """

    def __init__(self) -> None:
        self.hub = gevent.get_hub()
        self._idle = self.hub.loop.idle()
        self._cap: Any = None
        self._waiting: List[Callable[[], Any]] = []
        self.busy = False
        self._sampled_at = time.monotonic()
        self._cpu_at = time.process_time()

    def wait(self, cap: float) -> None:
        """Return once the loop is idle (unless busy), or after ``cap`` seconds at most."""
        self._sample_load()
        event = Event()
        self._waiting.append(event.set)
        if self._cap is None:
            self._cap = self.hub.loop.timer(cap)
            self._cap.start(self._open)
        if not self.busy and not self._idle.active:
            self._idle.start(self._open)
        event.wait()

    def _sample_load(self) -> None:
        now = time.monotonic()
        span = now - self._sampled_at
        if span < LOAD_WINDOW:
            return
        cpu = time.process_time()
        load = (cpu - self._cpu_at) / span
        self._sampled_at, self._cpu_at = now, cpu
        self.busy = load > (BUSY_LEAVE if self.busy else BUSY_ENTER)

    def _open(self) -> None:
        self._idle.stop()
        cap, self._cap = self._cap, None
        close_watcher(cap)
        waiting, self._waiting = self._waiting, []
        for wake in waiting:
            wake()


_per_hub: Dict[Tuple[type, int], Any] = {}


def per_hub(cls: Type[T]) -> T:
    """The one ``cls()`` of the current thread's hub (it keeps ``.hub``).

    Loop-level helpers hold watchers of one loop, so each hub (thread) gets
    its own; a hub that was destroyed and whose id was reused gets a new one.
    """
    hub = gevent.get_hub()
    key = (cls, id(hub))
    found = _per_hub.get(key)
    if found is None or found.hub is not hub:
        found = _per_hub[key] = cls()
    return found


def idle_gate() -> IdleGate:
    return per_hub(IdleGate)
