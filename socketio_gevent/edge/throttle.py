"""A warning that a flood must not turn into a flood of log lines."""
from __future__ import annotations

import time

__all__ = ["Throttled"]


class Throttled:
    """Counts occurrences and lets one log line through per ``period`` seconds.

    ``note()`` returns how many occurred since the last line when one is due
    (log it with that count), else 0.
    """

    __slots__ = ("period", "_count", "_said_at")

    def __init__(self, period: float = 60.0) -> None:
        self.period = period
        self._count = 0
        self._said_at = -period

    def note(self) -> int:
        self._count += 1
        now = time.monotonic()
        if now < self._said_at + self.period:
            return 0
        count, self._count, self._said_at = self._count, 0, now
        return count
