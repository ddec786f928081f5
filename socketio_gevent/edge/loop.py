"""Helpers on the gevent loop itself: timers, deadlines, the load gate, one helper per hub.

Why loop timers and not a greenlet per session: an idle session would then
cost a greenlet stack just to sleep. A loop timer is a small C watcher on
the loop's own heap, so thousands of sessions share one scheduler.
Callbacks run in the hub: they must not block (they set events, write
without waiting, or spawn work).
"""
from __future__ import annotations

import time
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar

import gevent
from gevent.event import Event
from gevent.monkey import get_original

T = TypeVar("T")


def close_watcher(watcher: Any) -> None:
    """Stop a loop watcher (``None`` is fine) and free its C side at once."""
    if watcher is not None:
        watcher.stop()
        watcher.close()


def let_others_run() -> None:
    """Let the loop serve other greenlets and poll for I/O, then come back.
    From the hub itself (a timer's callback) there is nothing to yield to."""
    if gevent.getcurrent() is not gevent.get_hub():
        gevent.sleep(0)


def now() -> float:
    """The loop's clock (monotonic seconds, as loop timers count them)."""
    return gevent.get_hub().loop.now()  # type: ignore[no-any-return]


class Timer:
    """A one-shot loop timer; ``cancel`` is idempotent."""

    __slots__ = ("_watcher",)

    def __init__(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        loop = gevent.get_hub().loop
        self._watcher: Any = loop.timer(max(delay, 0.0))
        self._watcher.start(self._fire, fn, args)

    def _fire(self, fn: Callable[..., Any], args: Tuple[Any, ...]) -> None:
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


class LoadGate:
    """Decides whether a long poll with data answers now, or batched.

    A quiet server answers at once: holding an answer would only add
    latency. A busy one (the process used more than ``BUSY_ENTER`` of a CPU
    over the last window) holds answers for the whole cap, so each response
    carries what queued meanwhile instead of one HTTP round trip per few
    messages; it answers at once again when the load falls below
    ``BUSY_LEAVE``. Waiters share one cap timer (a timer per poll was 5 %
    of a saturated long-polling profile), so each waits *at most* its cap.
    """

    def __init__(self) -> None:
        self.loop = gevent.get_hub().loop
        self._cap: Any = None
        self._waiting: List[Callable[[], Any]] = []
        self.busy = False
        self._sampled_at = time.monotonic()
        self._cpu_at = time.process_time()

    def holding(self) -> bool:
        """Is the server busy, so that answers with data should be held?"""
        self._sample_load()
        return self.busy

    def wait(self, cap: float) -> None:
        """Return after ``cap`` seconds at most (when the shared cap timer fires)."""
        event = Event()
        self.later(cap, event.set)
        event.wait()

    def later(self, cap: float, fn: Callable[[], Any]) -> None:
        """:meth:`wait` without a greenlet: ``fn()`` runs in the hub when the cap timer fires."""
        self._waiting.append(fn)
        if self._cap is None:
            self._cap = self.loop.timer(cap)
            self._cap.start(self._open)

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
        cap, self._cap = self._cap, None
        close_watcher(cap)
        waiting, self._waiting = self._waiting, []
        for wake in waiting:
            wake()


class Deadline:
    """One loop timer that throws ``exc()`` into the greenlet that last started it.

    Why not ``gevent.Timeout``: a keep-alive connection starts and cancels
    its deadline two or three times per request, and a ``Timeout``'s start
    (Python code, a new timer when it is created) was 5 % of a long-polling
    profile; a bare loop timer's stop and start are two C calls.
    """

    __slots__ = ("_timer", "_exc", "_greenlet")

    def __init__(self, seconds: float, exc: Type[BaseException]) -> None:
        self._timer: Any = gevent.get_hub().loop.timer(seconds)
        self._exc = exc
        self._greenlet: Any = None

    def start(self) -> None:
        """(Re)start: ``seconds`` from now."""
        timer = self._timer
        timer.stop()
        self._greenlet = gevent.getcurrent()
        timer.start(self._fire)

    def cancel(self) -> None:
        self._timer.stop()

    def close(self) -> None:
        close_watcher(self._timer)

    def _fire(self) -> None:
        greenlet, self._greenlet = self._greenlet, None
        if greenlet is not None and not greenlet.dead:
            greenlet.throw(self._exc())


class _PerHub:
    """This thread's helpers, and (weakly) the hub they were made for."""

    def __init__(self) -> None:
        self.hub: Optional["weakref.ReferenceType[Any]"] = None
        self.helpers: Dict[type, Any] = {}


#: One slot per OS thread: the original ``threading.local``, since a
#: monkey-patched one is per greenlet. A thread's helpers go with it.
_threads = get_original("_thread", "_local")()


def per_hub(cls: Type[T]) -> T:
    """The one ``cls()`` of the current thread's hub.

    Loop-level helpers hold watchers of one loop, so each hub gets its own.
    Nothing here keeps a hub alive: helpers are kept per thread and the hub
    only weakly, so a hub that is destroyed (and replaced) in a thread gets
    new helpers, and a thread that ends takes its helpers with it.
    """
    hub = gevent.get_hub()
    slot: Optional[_PerHub] = getattr(_threads, "slot", None)
    if slot is None:
        slot = _threads.slot = _PerHub()
    if slot.hub is None or slot.hub() is not hub:
        slot.hub = weakref.ref(hub)
        slot.helpers = {}
    helper = slot.helpers.get(cls)
    if helper is None:
        helper = slot.helpers[cls] = cls()
    return helper


def load_gate() -> LoadGate:
    return per_hub(LoadGate)
