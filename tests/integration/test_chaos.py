"""Nothing lost across cuts (docs/protocol.rst §9), shown under chaos, short.

A proxy between the Python client and a real server cuts connections at
random moments both ways, and delays and splits what it passes on
(tests/integration/chaos.py; ``bench/chaos`` runs the long version). With
the acks extension every numbered message arrives exactly once and in
order, on all seven transports. With it off (the 2010 protocol) the same
chaos loses messages, which the run measures, so the difference shows.
"""
from __future__ import annotations

from .chaos import TRANSPORTS, report, run


def test_with_acks_nothing_is_lost_duplicated_or_reordered_on_any_transport():
    result = run(sessions=28, messages=60, cuts=400, acks=True, seed=7)
    print(report(result))
    assert result["cuts"] >= 100, "the proxy hardly cut: the test proves nothing"
    assert set(result["table"]) == set(TRANSPORTS)
    totals = result["totals"]
    for key in ("lost up", "lost down", "duplicated up", "duplicated down", "out_of_order up", "out_of_order down"):
        assert totals.get(key, 0) == 0, report(result)
    assert totals["sent up"] >= 28 * 60 and totals["sent down"] >= 28 * 60


def test_without_acks_the_same_chaos_loses_messages():
    result = run(sessions=14, messages=60, cuts=300, acks=False, seed=7)
    print(report(result))
    totals = result["totals"]
    assert totals.get("lost up", 0) + totals.get("lost down", 0) > 0, report(result)
