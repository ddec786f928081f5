"""One greenlet at a time, for a lock that is almost never contended.

A session's inbound messages reach the application one at a time (a
handler that blocks holds back the next message of its session, never
another session's). That lock is taken once per message and is nearly
always free: one reader serves a session. A gevent ``Semaphore`` did the
job, but its checks for use across threads and its hub lookup cost about
0.6 µs per message in place, of about 11 µs for a whole WebSocket echo
(``bench/echo_path.py``). :class:`Turn` is a flag until a second greenlet
actually waits; from then on it is a real ``Semaphore`` for that session.

Example::

    turn = Turn()
    with turn:
        deliver(message)
"""
from __future__ import annotations

from typing import Any, Optional

from gevent.lock import Semaphore

__all__ = ["Turn"]


class Turn:
    __slots__ = ("_held", "_lock")

    def __init__(self) -> None:
        #: Taken while uncontended (no ``_lock`` yet).
        self._held = False
        #: Made by the first greenlet that has to wait: created at 0, held by
        #: whoever holds the flag, and from then on the only state.
        self._lock: Optional[Semaphore] = None

    def __enter__(self) -> None:
        lock = self._lock
        if lock is not None:
            lock.acquire()
        elif self._held:  # the first wait: the holder now holds a real lock
            self._lock = lock = Semaphore(0)
            lock.acquire()
        else:
            self._held = True

    def __exit__(self, *exc: Any) -> None:
        lock = self._lock
        if lock is not None:
            lock.release()
        else:
            self._held = False
