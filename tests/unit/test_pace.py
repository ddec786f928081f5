"""The inbound pace (docs/protocol.rst §6): a bucket of one second's worth that slows, never drops."""
from __future__ import annotations

import pytest

from socketio_gevent.protocol.options import Options
from socketio_gevent.protocol.pace import Pace


def test_a_burst_of_one_second_passes_then_the_rate_holds():
    pace = Pace(100.0, at=0.0)
    assert pace.spend(100, 0.0) == 0.0  # the bucket starts full
    assert pace.spend(1, 0.0) == pytest.approx(0.01)  # one message over: wait one interval
    # the caller waited; 50 more at 0.01 s: 1 token came back, 49 owed
    assert pace.spend(50, 0.01) == pytest.approx(0.5)


def test_the_bucket_refills_to_one_second_and_no_more():
    pace = Pace(10.0, at=0.0)
    pace.spend(10, 0.0)
    assert pace.spend(10, 100.0) == 0.0  # an hour of silence buys one second's worth, not more
    assert pace.spend(5, 100.0) == pytest.approx(0.5)


def test_a_steady_sender_at_the_rate_never_waits():
    pace = Pace(1000.0, at=0.0)
    waits = [pace.spend(1, i / 1000) for i in range(1, 5001)]
    assert max(waits) == 0.0


def test_twice_the_rate_is_paced_to_the_rate():
    pace, clock = Pace(200.0, at=0.0), 0.0
    for _ in range(2000):  # the client offers 400/s; the server waits as told
        clock += 1 / 400 + pace.spend(1, clock)
    # the first second's 200 pass at once, the other 1,800 at 200/s
    assert clock == pytest.approx((2000 - 200) / 200, abs=0.01)


@pytest.mark.parametrize("bad", [0, -1, True, "10", float("nan")])
def test_inbound_rate_is_validated(bad):
    with pytest.raises(ValueError, match="inbound_rate"):
        Options.build(inbound_rate=bad)


def test_inbound_rate_none_turns_it_off_and_max_queue_messages_may_be_set_or_not():
    assert Options.build(inbound_rate=None, max_queue_messages=None).inbound_rate is None
    assert Options.build().max_queue_messages is None and Options.build(max_queue_messages=5).max_queue_messages == 5
    with pytest.raises(ValueError, match="max_queue_messages"):
        Options.build(max_queue_messages=0)
