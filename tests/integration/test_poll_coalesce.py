"""poll_coalesce: a busy server answers long polls with more per response,
a quiet one at once (socketio_gevent.edge.loop.LoadGate).

Each gate test uses a gate of its own: the shared one remembers the load
of whatever ran before."""
from __future__ import annotations

import time

import gevent
import pytest

from socketio_gevent.edge import loop
from socketio_gevent.edge.loop import LOAD_WINDOW, LoadGate

from .helpers import handshake, poll_frames


def _keep_a_cpu_busy(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_waiters_share_one_cap_and_open_together():
    gate = LoadGate()
    order = []

    def waiter(name):
        gate.wait(0.05)
        order.append(name)

    started = time.monotonic()
    gevent.joinall([gevent.spawn(waiter, n) for n in "abc"])
    assert sorted(order) == ["a", "b", "c"]
    assert time.monotonic() - started < 1.0  # the cap, not more (pytest-timeout catches a hang)


def _quiet_within(gate, seconds=10.0):
    """Does the gate stop holding once this process is quiet? (Work a test
    before left behind, a flood being drained, may keep it busy a moment.)"""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        gevent.sleep(2 * LOAD_WINDOW)  # a window with no CPU use of ours
        if not gate.holding():
            return True
    return False


def test_a_quiet_server_does_not_hold():
    assert _quiet_within(LoadGate())


def test_a_busy_server_holds_until_its_load_falls():
    gate = LoadGate()
    _keep_a_cpu_busy(3 * LOAD_WINDOW)
    assert gate.holding() is True
    assert gate.holding() is True  # within the window: not sampled again
    assert _quiet_within(gate)  # and once the load is gone, at once again


def _sender(client, count):
    for i in range(count):
        client.send(str(i))
        gevent.sleep(0)


def _all_frames(conn, sid, count):
    first = poll_frames(conn, sid)
    received = list(first)
    while len(received) < count:
        received.extend(poll_frames(conn, sid))
    assert [f.data for f in received] == [":%d" % i for i in range(count)]
    return first


@pytest.mark.parametrize("kept", [False, True], ids=["greenlet", "loop"])
@pytest.mark.parametrize("coalesce, busy, all_in_first", [(0.5, True, True), (0.5, False, False),
                                                          (0, True, False)])
def test_a_poll_carries_what_queued_meanwhile_only_on_a_busy_server(serve, monkeypatch, coalesce, busy,
                                                                    all_in_first, kept):
    """``kept``: the poll is held by the loop (edge.keepalive: the connection
    had a poll answered before), not by pywsgi's handler greenlet."""
    served = serve(poll_coalesce=coalesce)
    conn = served.http()
    sid = handshake(conn)
    client = served.listener.clients[sid]
    if kept:
        client.send("before")
        assert [f.data for f in poll_frames(conn, sid)] == [":before"]
        assert len(served.server.handler_class.lean.parked) == 1
    monkeypatch.setattr(loop.load_gate(), "holding", lambda: busy)  # the load, as the gate measured it
    g = gevent.spawn_later(0.05, _sender, client, 50)  # while the poll is held
    first = _all_frames(conn, sid, 50)
    g.join()
    assert (len(first) == 50) is all_in_first


def test_poll_coalesce_is_validated(serve):
    with pytest.raises(ValueError):
        serve(poll_coalesce=-1)
    with pytest.raises(ValueError):
        serve(poll_coalesce="soon")
