"""Where our server's time goes under one bench workload: a py-spy sampling profile.

    .venv/bin/python bench/profile.py longpoll            # the gentle long-poll case
    .venv/bin/python bench/profile.py echo --top 25
    .venv/bin/python bench/profile.py fanout --case 1     # client-triggered fan-out

Starts our bench server pinned to CPU 0 exactly as bench/run does, attaches
py-spy to it (sampling at --rate Hz, idle samples left out), drives it with
the same Node load generator on CPU 1, and prints two tables: self time (the
function on top of the stack) and inclusive time (anywhere on it), as shares
of all samples. bench/README.md quotes these before and after each change.
py-spy slows the server a little (it reads its memory at each sample); the
shares, not the speed, are what it is for.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Counter, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib.harness import ServerProcess, run_loadgen  # noqa: E402
from benchlib.workloads import SERVERS, WORKLOADS  # noqa: E402

#: the server each workload profiles
SERVER_FOR = {"echo": "ours-ws", "large": "ours-ws", "fanout": "ours-ws", "idle": "ours-ws",
              "longpoll": "ours-polling"}


def frame_name(frame: str) -> str:
    """``function (path/to/file.py:123)`` -> ``file.py:function`` (lines merged)."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    short = "/".join(parts[-2:]) if parts[-2:-1] and parts[-2] in ("edge", "protocol", "api", "websocket",
                                                                   "transports", "gevent") else parts[-1]
    return "%s:%s" % (short, func)


def summarise(raw: str) -> Tuple[int, Counter[str], Counter[str]]:
    total = 0
    own: Counter[str] = collections.Counter()
    anywhere: Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            anywhere[name] += n
    return total, own, anywhere


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--case", type=int, default=0, help="which case of the workload (0 = the first)")
    parser.add_argument("--server", help="default: ours-ws, or ours-polling for longpoll")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--raw", help="also keep py-spy's collapsed stacks in this file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one of the case's load generator arguments (--set count=1000: more samples)")
    args = parser.parse_args()
    pyspy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(pyspy):
        parser.error("py-spy is not installed: .venv/bin/python -m pip install py-spy")
    case = WORKLOADS[args.workload][args.case]
    for item in args.set:
        key, _, value = item.partition("=")
        case = dataclasses.replace(case, args=dict(case.args, **{key: float(value)}))
    spec = SERVERS[args.server or SERVER_FOR[args.workload]]
    server = ServerProcess(spec)
    out = args.raw or tempfile.mktemp(suffix=".txt")
    spy = subprocess.Popen([pyspy, "record", "--pid", str(server.pid), "--rate", str(args.rate),
                            "--format", "raw", "--output", out, "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # py-spy attached
        result, _ = run_loadgen(server, case, False)
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
        server.stop()
    with open(out) as f:
        total, own, anywhere = summarise(f.read())
    if not args.raw:
        os.unlink(out)
    if not total:
        print("no samples (py-spy: %s)" % (spy.stderr.read() if spy.stderr else ""), file=sys.stderr)
        return 1
    print("%s, %s: %d samples (non-idle) at %d Hz" % (spec.name, case.label(False), total, args.rate))
    brief = {k: result.get(k) for k in ("rate", "p50_ms", "p99_ms", "deliveries", "roundtrips", "polls")
             if result.get(k) is not None}
    print("load generator: %s" % ", ".join("%s %.5g" % kv for kv in brief.items()))
    tables: List[Tuple[str, Dict[str, int]]] = [("self", own), ("inclusive", anywhere)]
    for title, counter in tables:
        print("\n%s time, top %d" % (title, args.top))
        for name, n in sorted(counter.items(), key=lambda kv: -kv[1])[:args.top]:
            print("  %5.1f %%  %s" % (100 * n / total, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
