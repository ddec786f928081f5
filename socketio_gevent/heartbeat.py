"""Heartbeats for streaming connections (PROTOCOL.md §5), on loop timers.

Every ``interval`` a ``2:n:n,`` frame goes out through ``send`` (directly on
the connection: heartbeats are never queued); if its echo has not come back
within ``timeout``, ``expire`` closes the connection and the session waits
``close_timeout`` for the client to come back. Timers run in the hub, so
``send`` and ``expire`` must not block.
"""
from __future__ import annotations

from typing import Callable, Optional

from .protocol.session import Heartbeats
from .timers import Timer, call_later


class Heartbeater:
    __slots__ = ("heartbeats", "interval", "timeout", "_send", "_expire", "_beat_timer", "_check_timer", "stopped")

    def __init__(
        self,
        heartbeats: Heartbeats,
        interval: Optional[float],
        timeout: Optional[float],
        send: Callable[[str], None],
        expire: Callable[[int], None],
    ) -> None:
        self.heartbeats = heartbeats
        self.interval = interval
        self.timeout = timeout
        self._send = send
        self._expire = expire
        self._beat_timer: Optional[Timer] = None
        self._check_timer: Optional[Timer] = None
        self.stopped = False

    def start(self) -> None:
        if self.interval:
            self._beat_timer = call_later(self.interval, self._beat)

    def _beat(self) -> None:
        if self.stopped:
            return
        self._send(self.heartbeats.beat())
        if self.timeout:
            self._check_timer = call_later(self.timeout, self._check, self.heartbeats.count)
        self._beat_timer = call_later(self.interval or 0, self._beat)

    def _check(self, number: int) -> None:
        if not self.stopped and self.heartbeats.overdue(number):
            self.stop()
            self._expire(number)

    def stop(self) -> None:
        self.stopped = True
        for timer in (self._beat_timer, self._check_timer):
            if timer is not None:
                timer.cancel()
        self._beat_timer = self._check_timer = None
