"""Runs one measurement: a fresh server pinned to CPU 0, the Node load
generator pinned to CPU 1, both with the fd limit raised to the hard limit.

The load generator prints phase markers ({"phase": ..., "cpu_us": ...}) as it
goes; at each the harness reads the server's CPU time and RSS from /proc and
both cores' busy time from /proc/stat, so figures cover only the measured
window (not node's start-up or the connecting, unless that is the point).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Dict, List, Tuple

from .workloads import BENCH, Case, ServerSpec, local_addresses_needed

LOADGEN = os.path.join(BENCH, "node", "loadgen.js")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_fd_limit() -> None:
    """preexec_fn: soft fd limit up to the hard one (20,000 here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def pinned(cpu: int, cmd: List[str]) -> List[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu)] + cmd
    return cmd


def tree(pid: int) -> List[int]:
    """``pid`` and its descendants (a cluster server: its workers and Redis)."""
    out = [pid]
    for parent in out:
        try:
            for tid in os.listdir("/proc/%d/task" % parent):
                with open("/proc/%d/task/%s/children" % (parent, tid)) as f:
                    out.extend(int(child) for child in f.read().split())
        except OSError:
            pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system time of all the threads (live and exited) of the process and its children."""
    total = 0
    for each in tree(pid):
        try:
            with open("/proc/%d/stat" % each) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def thread_ns(pid: int) -> Dict[str, int]:
    """tid -> nanoseconds on CPU (/proc/<pid>/task/*/schedstat), of the
    process and its children: finer than the 10 ms ticks of
    /proc/<pid>/stat, but blind to threads that exited."""
    out = {}
    for each in tree(pid):
        try:
            for tid in os.listdir("/proc/%d/task" % each):
                try:
                    with open("/proc/%d/task/%s/schedstat" % (each, tid)) as f:
                        out[tid] = int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass
        except OSError:
            pass
    return out


def cpu_between(a: dict, b: dict) -> float:
    """Server CPU seconds between two snapshots: per-thread nanoseconds when
    no thread exited in between, else the tick counts."""
    ta, tb = a["threads"], b["threads"]
    if ta and set(ta) <= set(tb):
        return sum(tb[t] - ta.get(t, 0) for t in tb) / 1e9
    return b["cpu"] - a["cpu"]


def rss_kib(pid: int) -> int:
    total = 0
    for each in tree(pid):
        try:
            with open("/proc/%d/status" % each) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def core_times() -> Dict[str, Tuple[int, int]]:
    """cpuN -> (busy, total) jiffies."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *vals = line.split()
                v = [int(x) for x in vals]
                idle = v[3] + (v[4] if len(v) > 4 else 0)
                out[name] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


class ServerProcess:
    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.proc = subprocess.Popen(
            pinned(0, list(spec.cmd)), cwd=BENCH, stdout=subprocess.PIPE, text=True,
            preexec_fn=raise_fd_limit,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise RuntimeError("%s did not start: %r" % (spec.name, line))
        #: One port, or several (a cluster: "listening on 127.0.0.1:P1,P2").
        self.ports = [int(p) for p in line.strip().rsplit(":", 1)[1].split(",")]
        self.port = self.ports[0]
        # keep reading whatever else it prints, so it never blocks on a full pipe
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _snapshot(server: ServerProcess, marker: dict) -> dict:
    return dict(
        marker, t=time.monotonic(), cpu=cpu_seconds(server.pid), threads=thread_ns(server.pid),
        rss=rss_kib(server.pid),
        cores=core_times(), gen_cpu=marker["cpu_us"] / 1e6, gen_t=marker["t_ms"] / 1000,
    )


def run_loadgen(server: ServerProcess, case: Case, smoke: bool) -> Tuple[dict, Dict[str, dict]]:
    """Runs the load generator against `server`; its result and the phase snapshots."""
    params = case.params(smoke)
    proto = server.spec.transports[case.transport][0]
    args = [case.mode, "--proto", proto, "--url", server.spec.url(case.transport, server.ports)]
    args += list(server.spec.loadgen_args)
    for key, value in params.items():
        args += ["--" + key, "%g" % value]
    local = local_addresses_needed(int(params.get("clients", 0)))
    if local > 1:
        args += ["--local-addresses", str(local)]
    snaps: Dict[str, dict] = {}
    result = None
    with tempfile.TemporaryFile("w+") as err:
        gen = subprocess.Popen(
            pinned(1, ["node", LOADGEN] + args), stdout=subprocess.PIPE, stderr=err, text=True,
            preexec_fn=raise_fd_limit,
        )
        timer = threading.Timer(case.timeout(smoke), gen.kill)
        timer.start()
        try:
            assert gen.stdout is not None
            for line in gen.stdout:
                msg = json.loads(line)
                if "phase" in msg:
                    snaps[msg["phase"]] = _snapshot(server, msg)
                else:
                    result = msg
            gen.wait()
        finally:
            timer.cancel()
            if gen.poll() is None:
                gen.kill()
        if gen.returncode != 0 or result is None:
            err.seek(0)
            raise RuntimeError("loadgen exited %s: %s" % (gen.returncode, err.read()[-1500:].strip()))
    return result, snaps


def derive(case: Case, result: dict, snaps: Dict[str, dict]) -> dict:
    """Server CPU, shares and per-unit costs over the case's window."""
    a, b = snaps[case.window[0]], snaps[case.window[1]]
    wall = max(1e-9, b["t"] - a["t"])
    cpu = cpu_between(a, b)
    out = dict(
        server_cpu_s=cpu,
        window_s=wall,
        server_cpu_share=cpu / wall,
        loadgen_cpu_share=(b["gen_cpu"] - a["gen_cpu"]) / max(1e-9, b["gen_t"] - a["gen_t"]),
    )
    # busy time of each core not accounted to the process pinned there: the
    # kernel's share of the networking and, above all, anything else running
    # on the machine (the noise to watch for)
    for core, own in (("cpu0", out["server_cpu_share"]), ("cpu1", out["loadgen_cpu_share"])):
        if core in a["cores"] and core in b["cores"]:
            busy = b["cores"][core][0] - a["cores"][core][0]
            total = b["cores"][core][1] - a["cores"][core][1]
            if total:
                out[core + "_busy"] = busy / total
                out[core + "_other"] = max(0.0, busy / total - own)
    if case.workload in ("echo", "large"):
        n = result.get("roundtrips")
        out["server_us_per_roundtrip"] = cpu / n * 1e6 if n else None
    elif case.workload in ("fanout", "longpoll"):
        n = result.get("deliveries")
        out["server_us_per_delivery"] = cpu / n * 1e6 if n else None
        if result.get("polls"):
            out["deliveries_per_poll"] = n / result["polls"]
    elif case.workload == "idle":
        before, held = snaps["start"]["rss"], snaps["end"]["rss"]
        opened = result.get("opened") or 0
        out.update(
            rss_before_kib=before, rss_held_kib=held, server_rss_mib=held / 1024,
            rss_kib_per_conn=(held - before) / opened if opened else None,
            all_held=result.get("held") == result.get("clients"),
        )
    return out


def measure(spec: ServerSpec, case: Case, smoke: bool) -> dict:
    server = ServerProcess(spec)
    try:
        time.sleep(0.05 if smoke else 0.3)
        result, snaps = run_loadgen(server, case, smoke)
    finally:
        server.stop()
    result.update(derive(case, result, snaps))
    return result
