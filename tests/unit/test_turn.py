"""socketio_gevent.edge.turn: one greenlet at a time, on real greenlets."""
from __future__ import annotations

from typing import List

import gevent
import pytest

from socketio_gevent.edge.turn import Turn


def holders(turn: Turn, names: List[str], log: List[str], pause: float = 0.01) -> List[gevent.Greenlet]:
    """One greenlet per name; each takes the turn, yields inside it, logs in and out."""
    def hold(name: str) -> None:
        with turn:
            log.append(name + "+")
            gevent.sleep(pause)
            log.append(name + "-")
    return [gevent.spawn(hold, name) for name in names]


def test_uncontended_it_stays_a_flag() -> None:
    turn = Turn()
    for _ in range(3):
        with turn:
            pass
    assert turn._lock is None and not turn._held


def test_waiters_go_one_at_a_time_in_arrival_order() -> None:
    turn, log = Turn(), []  # type: ignore[var-annotated]
    gevent.joinall(holders(turn, ["a", "b", "c", "d"], log), timeout=5, raise_error=True)
    assert log == ["a+", "a-", "b+", "b-", "c+", "c-", "d+", "d-"]
    with turn:  # free again, now as a real lock
        pass
    assert turn._lock is not None and not turn._lock.locked()


def test_a_waiter_killed_before_its_turn_holds_nobody_up() -> None:
    turn, log = Turn(), []  # type: ignore[var-annotated]
    first, doomed, last = holders(turn, ["a", "b", "c"], log, pause=0.05)
    gevent.sleep(0.01)  # a holds it, b and c wait
    doomed.kill()
    gevent.joinall([first, last], timeout=5, raise_error=True)
    assert log == ["a+", "a-", "c+", "c-"]


@pytest.mark.parametrize("contended", [False, True])
def test_an_exception_inside_gives_the_turn_back(contended: bool) -> None:
    turn, log = Turn(), []  # type: ignore[var-annotated]
    if contended:  # make it a real lock first
        gevent.joinall(holders(turn, ["a", "b"], log), timeout=5, raise_error=True)
    with pytest.raises(ValueError):
        with turn:
            raise ValueError("handler failed")
    waiter = holders(turn, ["z"], log, pause=0)[0]
    waiter.join(timeout=1)
    assert log[-2:] == ["z+", "z-"]
