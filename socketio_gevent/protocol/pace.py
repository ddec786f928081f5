"""How fast one session may send: a token bucket that slows, never drops.

A client that sends faster than ``inbound_rate`` messages per second is not
cut and loses nothing: the edge stops reading from it for the time the
bucket needs to refill, so TCP (or the answer to its POST) pushes back on
that client alone. That is the rule of docs/protocol.rst §6: one client's
burst can slow that client, never end other clients' sessions, because the
broadcasts it causes are bounded by its own rate.

The bucket holds one second's worth (``rate`` messages), so a burst that
size passes at once; the clock is passed in, as in the session machine.
"""
from __future__ import annotations

__all__ = ["Pace"]


class Pace:
    """Token bucket over messages; :meth:`spend` says how long to wait."""

    __slots__ = ("rate", "tokens", "at")

    def __init__(self, rate: float, at: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = at

    def spend(self, count: int, at: float) -> float:
        """Take ``count`` messages received at ``at``; seconds to pause reading.

        The messages are always accepted (they were read already); a debt
        is paid by waiting, so the average never passes ``rate``.
        """
        rate = self.rate
        tokens = self.tokens + (at - self.at) * rate
        if tokens > rate:
            tokens = rate
        tokens -= count
        self.tokens = tokens
        self.at = at
        return -tokens / rate if tokens < 0 else 0.0
