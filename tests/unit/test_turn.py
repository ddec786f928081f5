"""socketio_gevent.edge.turn: one greenlet at a time, on real greenlets.

The holders wait on an ``Event`` the test sets, not on timers, so the
order is decided by the turn alone.
"""
from __future__ import annotations

from typing import List

import gevent
import pytest
from gevent.event import Event

from socketio_gevent.edge.turn import Turn


@pytest.fixture(autouse=True)
def fresh_clock() -> None:
    """An earlier test may have kept the loop from turning (a blocking
    subprocess): with a stale clock, the safety timeouts below would expire
    at once."""
    gevent.get_hub().loop.update_now()


def holders(turn: Turn, names: List[str], log: List[str], go: Event) -> List[gevent.Greenlet]:
    """One greenlet per name; each takes the turn, then waits for ``go`` inside it."""
    def hold(name: str) -> None:
        with turn:
            log.append(name + "+")
            go.wait()
            log.append(name + "-")
    started = [gevent.spawn(hold, name) for name in names]
    gevent.sleep(0)  # all started: the first holds the turn, the others wait for it
    return started


def test_uncontended_it_stays_a_flag() -> None:
    turn = Turn()
    for _ in range(3):
        with turn:
            pass
    assert turn._lock is None and not turn._held


def test_waiters_go_one_at_a_time_in_arrival_order() -> None:
    turn, log, go = Turn(), [], Event()  # type: ignore[var-annotated]
    started = holders(turn, ["a", "b", "c", "d"], log, go)
    assert log == ["a+"]
    go.set()
    gevent.joinall(started, timeout=5, raise_error=True)
    assert log == ["a+", "a-", "b+", "b-", "c+", "c-", "d+", "d-"]
    with turn:  # free again, now as a real lock
        pass
    assert turn._lock is not None and not turn._lock.locked()


def test_a_waiter_killed_before_its_turn_holds_nobody_up() -> None:
    turn, log, go = Turn(), [], Event()  # type: ignore[var-annotated]
    first, doomed, last = holders(turn, ["a", "b", "c"], log, go)
    doomed.kill()
    go.set()
    gevent.joinall([first, last], timeout=5, raise_error=True)
    assert log == ["a+", "a-", "c+", "c-"]


@pytest.mark.parametrize("contended", [False, True])
def test_an_exception_inside_gives_the_turn_back(contended: bool) -> None:
    turn, log, go = Turn(), [], Event()  # type: ignore[var-annotated]
    if contended:  # make it a real lock first
        started = holders(turn, ["a", "b"], log, go)
        go.set()
        gevent.joinall(started, timeout=5, raise_error=True)
        assert turn._lock is not None
    go.set()
    with pytest.raises(ValueError):
        with turn:
            raise ValueError("handler failed")
    gevent.joinall(holders(turn, ["z"], log, go), timeout=5, raise_error=True)
    assert log[-2:] == ["z+", "z-"]
