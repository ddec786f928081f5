"""The benchmark's smoke run, so the bench never rots (issue 4).

Runs ``bench/run.py --smoke`` against our servers only (the peers are
never installed by the tests; the two-worker servers start a private
redis-server, which the test command installs) and checks that every workload completed and
counted what it should: echo round-trips, every fan-out and long-poll
broadcast delivered to every client, every idle connection held. It never
asserts a speed. The Node load generator's one dependency (``ws``) is
installed into ``bench/node`` here if it is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench")
NODE_DIR = os.path.join(BENCH, "node")

# workload -> cases (fan-out: server-timed, then client-triggered at 100k/s,
# at 10k/s (not for the plain WebSocket) and saturating; long-poll: gentle,
# saturating, and relayed beside its two-worker counterpart)
WS_WORKLOADS = {"echo": 1, "fanout": 4, "idle": 2, "large": 2}
EXPECTED = {
    "ours-ws": WS_WORKLOADS,
    "ours-ws-redis": WS_WORKLOADS,
    "ours-plain-ws": dict(WS_WORKLOADS, fanout=3),
    "ours-polling": {"longpoll": 3},
    "ours-polling-redis": {"longpoll": 1},
}


def ensure_node_deps() -> None:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("the benchmark's load generator needs node and npm on PATH")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "ws")):
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"],
            cwd=NODE_DIR, check=True, capture_output=True, timeout=240,
        )


@pytest.mark.timeout(420)
def test_bench_smoke_runs_every_workload_and_counts_right(tmp_path):
    ensure_node_deps()
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(BENCH, "run.py"), "--smoke", "--rounds", "1",
         "--servers", ",".join(EXPECTED), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert not [r for r in results if "error" in r]

    cases = Counter((r["server"], r["workload"]) for r in results)
    expected = Counter({(s, w): n for s, ws in EXPECTED.items() for w, n in ws.items()})
    assert cases == expected

    for r in results:
        where = "%s %s: %r" % (r["server"], r["label"], r)
        assert r["opened"] == r["clients"] and r["failed"] == 0, where
        if r["workload"] in ("echo", "large"):
            assert r["roundtrips"] > 0 and r["bad"] == 0, where
        elif r["workload"] in ("fanout", "longpoll"):
            # every client got every broadcast, once
            assert r["per_client"] == r["count"] * r["triggers"], where
            assert r["deliveries"] == r["clients"] * r["per_client"], where
            assert r["pct_delivered"] == 100, where
            assert r["clients_complete"] == r["clients"] and r["clients_over"] == 0, where
            assert r["stray"] == 0, where
        elif r["workload"] == "idle":
            assert r["held"] == r["clients"] and r["all_held"], where
            assert r["rss_kib_per_conn"] is not None, where
    # the table came out, with both processes' CPU shares
    assert "loadgen CPU share" in proc.stdout and "server CPU share" in proc.stdout


@pytest.mark.parametrize("script, args, says", [
    ("echo_path.py", ["--count", "300"], "µs per echo"),
    ("echo_path.py", ["--count", "300", "--floor"], "floor:"),
    ("poll_path.py", ["--count", "300"], "µs per poll"),
    ("poll_path.py", ["--count", "300", "--floor"], "floor:"),
    ("echo_inprocess.py", ["--clients", "5", "--seconds", "0.5"], "round trips"),
    ("fanout_inprocess.py", ["--clients", "20", "--broadcasts", "5", "--rounds", "1"], "per delivery"),
])
def test_the_in_process_benchmarks_run(script: str, args: list, says: str) -> None:
    """They reach into the package (a session socket or kept connection
    found by type, its watch closed): a change there must break this, not
    the next measurement."""
    done = subprocess.run([sys.executable, os.path.join(BENCH, script)] + args,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert says in done.stdout, done.stdout
