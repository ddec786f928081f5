"""poll_coalesce: a busy server answers long polls with more per response,
a quiet one at once (socketio_gevent.edge.loop.IdleGate).

Each gate test uses a gate of its own: the shared one remembers the load
of whatever ran before."""
from __future__ import annotations

import gevent
import pytest

import time

from socketio_gevent.edge.loop import LOAD_WINDOW, IdleGate

from .helpers import handshake, poll_frames


def _spinner(steps, done):
    for _ in range(steps):
        gevent.sleep(0)  # other work is always pending while it runs
    done.append("spinner")


def test_the_gate_opens_only_when_other_work_is_done():
    done = []
    g = gevent.spawn(_spinner, 300, done)
    gevent.sleep(0)  # the spinner is running
    IdleGate().wait(30)
    done.append("gate")
    assert done == ["spinner", "gate"]
    g.join()


def test_the_gate_opens_at_its_cap_on_a_server_that_never_rests():
    stop = []

    def forever():
        while not stop:
            gevent.sleep(0)

    g = gevent.spawn(forever)
    gevent.sleep(0)
    IdleGate().wait(0.05)  # returns (or pytest-timeout fails the test)
    assert g.dead is False
    stop.append(True)
    g.join()


def _order_against_a_timer(gate, cap):
    """Did the gate open before a timer at half its cap?"""
    order = []
    timer = gevent.spawn_later(cap / 2, order.append, "half the cap")
    gate.wait(cap)
    order.append("gate")
    timer.join()
    return order


def test_a_quiet_server_answers_at_the_first_idle_turn():
    gate = IdleGate()
    gevent.sleep(2 * LOAD_WINDOW)  # a window with no CPU use
    assert _order_against_a_timer(gate, 0.4) == ["gate", "half the cap"]
    assert gate.busy is False


def test_a_busy_server_holds_answers_for_the_whole_cap():
    gate = IdleGate()
    end = time.process_time() + 3 * LOAD_WINDOW
    while time.process_time() < end:  # the process keeps a CPU busy
        pass
    assert _order_against_a_timer(gate, 0.4) == ["half the cap", "gate"]
    assert gate.busy is True
    gevent.sleep(2 * LOAD_WINDOW)  # and once the load is gone, at idle again
    assert _order_against_a_timer(gate, 0.4) == ["gate", "half the cap"]
    assert gate.busy is False


@pytest.mark.parametrize("coalesce, all_in_first", [(0.5, True), (0, False)])
def test_a_poll_on_a_busy_server_carries_what_queued_meanwhile(serve, coalesce, all_in_first):
    served = serve(poll_coalesce=coalesce)
    conn = served.http()
    sid = handshake(conn)
    client = served.listener.clients[sid]

    def sender():
        for i in range(50):
            client.send(str(i))
            gevent.sleep(0)

    g = gevent.spawn_later(0.05, sender)  # while the poll is held
    first = poll_frames(conn, sid)
    received = list(first)
    while len(received) < 50:
        received.extend(poll_frames(conn, sid))
    g.join()
    assert [f.data for f in received] == [":%d" % i for i in range(50)]
    assert (len(first) == 50) is all_in_first


def test_poll_coalesce_is_validated(serve):
    with pytest.raises(ValueError):
        serve(poll_coalesce=-1)
    with pytest.raises(ValueError):
        serve(poll_coalesce="soon")
