"""Before/after on one machine: an older revision and the working tree, interleaved.

    bench/ab --base HEAD~3                       # every workload, 3 rounds each
    bench/ab --base e619c7f --workloads echo,longpoll --rounds 5

Why interleaved and normalised: on a shared 2-core machine the speed of the
whole machine drifts by more than most changes are worth (±20 % between
rounds was seen). So each round runs the base revision, then the working
tree, each with the same node socket.io server beside it, and the table
gives both raw medians and, per round, (after / node) / (before / node):
the drift hits the reference in the same interval and divides out.

The base revision is checked out into a temporary git worktree with its own
.venv; nothing in this tree changes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
REFERENCE = "node-socketio"
METRICS = [("rate", "rate/s", "%.0f"), ("server_us_per_roundtrip", "CPU µs/rt", "%.2f"),
           ("server_us_per_delivery", "CPU µs/dlv", "%.2f"), ("p99_ms", "p99 ms", "%.2f"),
           ("rss_kib_per_conn", "KiB/conn", "%.2f")]


def cost_metric(label: str) -> str:
    if label.startswith(("echo", "large")):
        return "server_us_per_roundtrip"
    if label.startswith("idle"):
        return "rss_kib_per_conn"
    return "server_us_per_delivery"


def prepare_base(rev: str, where: str) -> None:
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", where, rev], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "venv", os.path.join(where, ".venv")], check=True)
    subprocess.run([os.path.join(where, ".venv", "bin", "python"), "-m", "pip", "install", "--quiet", "-e", where],
                   check=True)
    for shared in (".venv-peers", os.path.join("node", "node_modules")):  # the peers, installed once
        target = os.path.join(where, "bench", shared)
        if not os.path.exists(target):
            os.symlink(os.path.join(BENCH, shared), target)


def run_round(root: str, args: argparse.Namespace, out: str) -> List[dict]:
    cmd = [os.path.join(root, ".venv", "bin", "python"), os.path.join(root, "bench", "run.py"), "--rounds", "1",
           "--workloads", args.workloads, "--servers", args.servers + "," + REFERENCE, "--json", out]
    subprocess.run(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return [r for r in json.load(f) if "error" not in r]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", default="echo,fanout,idle,longpoll,large")
    parser.add_argument("--servers", default="ours-ws,ours-polling,ours-plain-ws")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="socketio-gevent-ab-")
    base_root = os.path.join(tmp, "base")
    try:
        prepare_base(args.base, base_root)
        runs: Dict[str, List[Tuple[int, dict]]] = {"before": [], "after": []}
        for n in range(args.rounds):
            for side, root in (("before", base_root), ("after", ROOT)):
                print("round %d: %s" % (n + 1, side), file=sys.stderr, flush=True)
                runs[side] += [(n, r) for r in run_round(root, args, os.path.join(tmp, "%s-%d.json" % (side, n)))]
        report(runs, args)
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", base_root], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report(runs: Dict[str, List[Tuple[int, dict]]], args: argparse.Namespace) -> None:
    index = {side: {(n, r["label"], r["server"]): r for n, r in rows} for side, rows in runs.items()}
    cases = sorted({(label, server) for (_, label, server) in index["before"]}, key=lambda k: (k[0], k[1]))
    print("before: %s   after: the working tree   %d round(s), interleaved" % (args.base, args.rounds))
    print("%-44s %-14s %-11s %10s %10s %8s" % ("workload", "server", "metric", "before", "after", "change"))
    for label, server in cases:
        for key, name, fmt in METRICS:
            a = [r[key] for (n, lb, s), r in index["before"].items() if (lb, s) == (label, server) and r.get(key)]
            b = [r[key] for (n, lb, s), r in index["after"].items() if (lb, s) == (label, server) and r.get(key)]
            if a and b:
                ma, mb = statistics.median(a), statistics.median(b)
                print("%-44s %-14s %-11s %10s %10s %+7.1f%%" % (label[:44], server, name, fmt % ma, fmt % mb,
                                                                100 * (mb / ma - 1)))
    print("\nafter / before, each divided by %s's figure in the same interval (median of rounds; < 1 is better):"
          % REFERENCE)
    for label, server in cases:
        if server == REFERENCE:
            continue
        metric = cost_metric(label)
        ratios = []
        for n in range(args.rounds):
            a, b = index["before"].get((n, label, server)), index["after"].get((n, label, server))
            ra, rb = index["before"].get((n, label, REFERENCE)), index["after"].get((n, label, REFERENCE))
            if a and b and ra and rb and a.get(metric) and b.get(metric) and ra.get(metric) and rb.get(metric):
                ratios.append((b[metric] / rb[metric]) / (a[metric] / ra[metric]))
        if ratios:
            print("  %-44s %-14s %-24s %5.2f   rounds: %s" % (label[:44], server, metric, statistics.median(ratios),
                                                          " ".join("%.2f" % x for x in ratios)))


if __name__ == "__main__":
    sys.exit(main())
