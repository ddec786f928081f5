"""Side-by-side benchmark: our server and its peers, one table of medians.

    ./bench/run                      # everything, 3 rounds
    ./bench/run --workloads echo,large --servers ours-ws,gevent-websocket --rounds 5

Each round starts every server in turn on 127.0.0.1 (pinned to CPU 0 with
taskset), drives it with the same Node load generator (pinned to CPU 1),
reads the server's CPU time from /proc, and stops it. Servers are
interleaved within a round so drift on a noisy machine hits all alike.
Figures are medians over the rounds; ratios are ours / peer from the same
rounds. Nothing here asserts a speed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OURS_PY = os.path.join(ROOT, ".venv", "bin", "python")
PEER_PY = os.path.join(BENCH, ".venv-peers", "bin", "python")
LOADGEN = os.path.join(BENCH, "node", "loadgen.js")
EIO_PATH = "/socket.io/?EIO=4&transport=websocket"


@dataclass
class Server:
    name: str
    cmd: List[str]
    proto: str  # loadgen protocol: raw | sio | eio
    path: str


SERVERS: Dict[str, Server] = {
    s.name: s
    for s in [
        Server("ours-ws", [OURS_PY, "servers/ours.py"], "sio", "/socket.io/websocket"),
        Server("ours-plain-ws", [OURS_PY, "servers/ours.py"], "raw", "/echo"),
        Server("python-socketio", [PEER_PY, "servers/python_socketio.py"], "eio", EIO_PATH),
        Server("node-socketio", ["node", "node/sio_server.js"], "eio", EIO_PATH),
        Server("gevent-websocket", [PEER_PY, "servers/gevent_ws.py"], "raw", "/"),
    ]
}

#: workload name -> list of (label, loadgen arguments)
WORKLOADS = {
    "echo": [("echo 16 B", ["echo", "--clients", "100", "--duration", "10", "--size", "16"])],
    "large": [
        ("echo 4 KiB", ["echo", "--clients", "10", "--duration", "5", "--size", "4096"]),
        ("echo 64 KiB", ["echo", "--clients", "10", "--duration", "5", "--size", "65536"]),
    ],
}


def cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pinned(cpu: int, cmd: List[str]) -> List[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu)] + cmd
    return cmd


def start_server(server: Server) -> "tuple[subprocess.Popen, int]":
    proc = subprocess.Popen(pinned(0, server.cmd), cwd=BENCH, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError("%s did not start: %r" % (server.name, line))
    return proc, int(line.strip().rsplit(":", 1)[1])


def run_loadgen(args: List[str], timeout: float) -> "tuple[dict, float]":
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(pinned(1, ["node", LOADGEN] + args), capture_output=True, text=True, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError("loadgen failed: %s" % out.stderr[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(out.stdout.strip().splitlines()[-1]), cpu


def measure(server: Server, label: str, args: List[str]) -> dict:
    proc, port = start_server(server)
    try:
        time.sleep(0.3)
        url = "ws://127.0.0.1:%d%s" % (port, server.path)
        cpu0 = cpu_seconds(proc.pid)
        wall0 = time.monotonic()
        result, gen_cpu = run_loadgen(args + ["--proto", server.proto, "--url", url], timeout=300)
        wall = time.monotonic() - wall0
        cpu = cpu_seconds(proc.pid) - cpu0
        result.update(
            server=server.name,
            workload=label,
            server_cpu_s=cpu,
            server_cpu_share=cpu / wall,
            loadgen_cpu_share=gen_cpu / wall,
            server_us_per_roundtrip=(cpu / result["roundtrips"] * 1e6) if result.get("roundtrips") else None,
        )
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


METRICS = [
    ("rate", "round-trips/s", "%.0f"),
    ("mib_s", "MiB/s", "%.2f"),
    ("p50_ms", "p50 ms", "%.2f"),
    ("p99_ms", "p99 ms", "%.2f"),
    ("server_us_per_roundtrip", "server CPU µs/rt", "%.1f"),
    ("server_cpu_share", "server CPU share", "%.2f"),
    ("loadgen_cpu_share", "loadgen CPU share", "%.2f"),
]


def median(values: List[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def print_table(results: List[dict], servers: List[str], rounds: int) -> None:
    labels = []
    for r in results:
        if r["workload"] not in labels:
            labels.append(r["workload"])
    width = max(14, *(len(s) for s in servers))
    print("\nmedians of %d round(s); %d cores; server on CPU 0, load generator on CPU 1" % (rounds, os.cpu_count() or 1))
    for label in labels:
        print("\n%s" % label)
        print("  %-18s" % "" + "".join("%*s" % (width + 2, s) for s in servers))
        for key, title, fmt in METRICS:
            row = []
            for s in servers:
                value = median([r.get(key) for r in results if r["server"] == s and r["workload"] == label])
                row.append(fmt % value if value is not None else "-")
            if all(v == "-" for v in row):
                continue
            print("  %-18s" % title + "".join("%*s" % (width + 2, v) for v in row))
        ours = [s for s in servers if s.startswith("ours")]
        peers = [s for s in servers if not s.startswith("ours")]
        for o in ours:
            mine = median([r["rate"] for r in results if r["server"] == o and r["workload"] == label])
            ratios = []
            for p in peers:
                theirs = median([r["rate"] for r in results if r["server"] == p and r["workload"] == label])
                if mine and theirs:
                    ratios.append("%.2fx %s" % (mine / theirs, p))
            if ratios:
                print("  %s throughput vs: %s" % (o, ", ".join(ratios)))


def smoke_args(gen_args: List[str]) -> List[str]:
    """The same workload scaled down to seconds (for the test suite's smoke run)."""
    small = {"--clients": "5", "--duration": "1"}
    out = list(gen_args)
    for i in range(1, len(out) - 1):
        if out[i] in small:
            out[i + 1] = small[out[i]]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write every measurement to this file")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, about a second each: proves the bench runs")
    args = parser.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    workloads = [w for w in args.workloads.split(",") if w]
    results: List[dict] = []
    for round_no in range(1, args.rounds + 1):
        for workload in workloads:
            for label, gen_args in WORKLOADS[workload]:
                if args.smoke:
                    gen_args = smoke_args(gen_args)
                for name in servers:
                    result = measure(SERVERS[name], label, gen_args)
                    results.append(result)
                    print("round %d %-16s %-12s %8.0f rt/s  cpu %.2f" % (
                        round_no, name, label, result.get("rate") or 0, result["server_cpu_share"]), flush=True)
    print_table(results, servers, args.rounds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
