"""Timers for close timeouts and heartbeats, on the gevent loop's own heap.

Why not a greenlet per session: an idle session would then cost a greenlet
stack just to sleep. A loop timer is a small C watcher on the event loop's
timer heap, so thousands of sessions share one scheduler. Callbacks run in
the hub: they must not block (they set events or spawn work).
"""
from __future__ import annotations

from typing import Any, Callable

import gevent


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
