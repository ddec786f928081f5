"""Side-by-side benchmark: our server and its peers, one table of medians per workload.

    ./bench/run                      # everything, 3 rounds
    ./bench/run --workloads echo,large --servers ours-ws,gevent-websocket --rounds 5
    ./bench/run --smoke --rounds 1   # tiny sizes, seconds: proves the bench runs

Workloads (issue 4): echo (100 clients, 10 s), fanout (1,000 clients, 200
broadcasts 10 ms apart), idle (5,000 then 19,000 held WebSocket
connections), longpoll (100 xhr-polling clients, 200 broadcasts, and a
saturating 2,000 at 1 ms), large (4 KiB and 64 KiB echo). Servers: ours-ws,
ours-polling (long-poll only), ours-plain-ws (our WebSocket without the
socket.io framing), python-socketio, node-socketio, gevent-websocket (the
floor; no polling), and two workers on a private Redis: ours-ws-redis,
python-socketio-redis (its RedisManager), ours-polling-redis (every poll
relayed to the worker that owns its session; its own case only). A server
without a workload's transport shows "-".

Each measurement starts a fresh server on 127.0.0.1 pinned to CPU 0 (taskset)
and drives it with the same Node load generator pinned to CPU 1; both get the
hard fd limit. The server's CPU time and RSS come from /proc, read at the
load generator's phase markers, so CPU per unit covers only the measured
window. Servers are interleaved within a round so drift on a noisy machine
hits all alike; figures are medians over the rounds; ratios are medians of
per-round ours / peer. Each table shows both processes' CPU shares and marks
a run "loadgen-bound" when the generator saturated its core before the
server did. Nothing here asserts a speed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib.harness import fd_limit, measure  # noqa: E402
from benchlib.report import print_tables  # noqa: E402
from benchlib.workloads import SERVERS, WORKLOADS, applicable  # noqa: E402


def progress(round_no: int, name: str, label: str, r: dict) -> str:
    if "error" in r:
        return "round %d %-16s %-44s ERROR %s" % (round_no, name, label, r["error"].splitlines()[0][:200])
    w = r["workload"]
    if w in ("echo", "large"):
        what = "%8.0f rt/s  %.1f µs/rt" % (r.get("rate") or 0, r.get("server_us_per_roundtrip") or 0)
    elif w in ("fanout", "longpoll"):
        what = "%8.0f dlv/s  %.2f µs/dlv  p99 %.1f ms  %.1f%% delivered" % (
            r.get("rate") or 0, r.get("server_us_per_delivery") or 0, r.get("p99_ms") or 0,
            r.get("pct_delivered") or 0)
    else:
        what = "%d/%d held  %.1f KiB/conn  open %.1f s" % (
            r.get("held", 0), r.get("clients", 0), r.get("rss_kib_per_conn") or 0, r.get("open_seconds") or 0)
    return "round %d %-16s %-44s %s  cpu %.2f gen %.2f" % (
        round_no, name, label, what, r["server_cpu_share"], r["loadgen_cpu_share"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated: " + ", ".join(SERVERS))
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS))
    parser.add_argument("--cases", default="",
                        help="only the cases whose label contains this text, e.g. '@ 100 ms'")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write every measurement to this file")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds each: proves the bench runs")
    args = parser.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = [s for s in servers if s not in SERVERS] + [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error("unknown server or workload: %s" % ", ".join(unknown))
    for name in list(servers):
        why = SERVERS[name].missing()
        if why:
            print("skipping %s: %s" % (name, why), file=sys.stderr)
            servers.remove(name)
    biggest = max((c.params(args.smoke).get("clients", 0) for w in workloads for c in WORKLOADS[w]), default=0)
    if biggest + 100 > fd_limit():
        print("note: the hard fd limit (%d) is below %d connections + margin; some opens will fail"
              % (fd_limit(), biggest), file=sys.stderr)

    results: List[dict] = []
    t0 = time.monotonic()
    for round_no in range(1, args.rounds + 1):
        for workload in workloads:
            for case in WORKLOADS[workload]:
                label = case.label(args.smoke)
                if args.cases not in label:
                    continue
                for name in servers:
                    spec = SERVERS[name]
                    if not applicable(spec, case):
                        continue
                    meta = dict(round=round_no, server=name, workload=workload, label=label)
                    try:
                        result = measure(spec, case, args.smoke)
                    except Exception as exc:  # one failed run must not lose the others
                        result = dict(error="%s: %s" % (type(exc).__name__, exc))
                    result.update(meta)
                    results.append(result)
                    print(progress(round_no, name, label, result), flush=True)
    print_tables(results, servers, args.rounds)
    print("\n(%d measurements in %.0f s)" % (len(results), time.monotonic() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
