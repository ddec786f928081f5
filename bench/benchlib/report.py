"""The tables: one per workload case, medians over rounds, servers as columns,
then one ratio line per "ours" server (median of the per-round ratios
ours / peer, so each ratio compares figures from the same round)."""
from __future__ import annotations

import os
import statistics
from typing import Callable, Dict, List, Optional, Tuple

# key, title, format
Row = Tuple[str, str, str]

SHARES: List[Row] = [
    ("server_cpu_share", "server CPU share", "%.2f"),
    ("loadgen_cpu_share", "loadgen CPU share", "%.2f"),
    ("cpu0_other", "core 0 other busy", "%.2f"),
    ("cpu1_other", "core 1 other busy", "%.2f"),
]

ROWS: Dict[str, List[Row]] = {
    "echo": [
        ("rate", "round-trips/s", "%.0f"),
        ("p50_ms", "p50 ms", "%.2f"),
        ("p99_ms", "p99 ms", "%.2f"),
        ("server_us_per_roundtrip", "server CPU µs/rt", "%.1f"),
    ],
    "large": [
        ("mib_s", "MiB/s", "%.1f"),
        ("rate", "round-trips/s", "%.0f"),
        ("p99_ms", "p99 ms", "%.2f"),
        ("server_us_per_roundtrip", "server CPU µs/rt", "%.1f"),
    ],
    "fanout": [
        ("rate", "deliveries/s", "%.0f"),
        ("server_us_per_delivery", "server CPU µs/dlv", "%.2f"),
        ("p50_ms", "p50 ms", "%.2f"),
        ("p99_ms", "p99 ms", "%.2f"),
        ("pct_delivered", "% delivered", "%.2f"),
        ("open_seconds", "open s", "%.2f"),
    ],
    "idle": [
        ("rss_kib_per_conn", "RSS KiB/conn", "%.1f"),
        ("server_rss_mib", "server RSS MiB", "%.0f"),
        ("open_seconds", "open s", "%.2f"),
        ("opened", "opened", "%.0f"),
        ("held", "held after hold", "%.0f"),
        ("failed", "failed opens", "%.0f"),
    ],
    "longpoll": [
        ("rate", "deliveries/s", "%.0f"),
        ("server_us_per_delivery", "server CPU µs/dlv", "%.2f"),
        ("p50_ms", "p50 ms", "%.2f"),
        ("p99_ms", "p99 ms", "%.2f"),
        ("pct_delivered", "% delivered", "%.2f"),
        ("deliveries_per_poll", "deliveries/poll", "%.1f"),
    ],
}

# the figures compared in the ratio lines: key, title, higher is better
RATIOS: Dict[str, List[Tuple[str, str, bool]]] = {
    "echo": [("rate", "round-trips/s", True)],
    "large": [("mib_s", "MiB/s", True)],
    "fanout": [("server_us_per_delivery", "server CPU/delivery", False), ("p99_ms", "p99", False),
               ("rate", "deliveries/s", True)],
    "idle": [("rss_kib_per_conn", "RSS/conn", False)],
    "longpoll": [("rate", "deliveries/s", True), ("p99_ms", "p99", False)],
}

NEAR_FULL = 0.9  # a CPU share this high means that side is saturated
CORE_FULL = 0.95  # ... and so does a core this busy

#: A server this busy at an offered rate is past it: its CPU per delivery is
#: its core divided by what it kept up with (it batches more the further
#: behind it falls), not what a delivery costs it at that rate. Such cells
#: are marked and left out of the cost ratios; throughput and latency speak.
SATURATED = 0.95
#: the per-delivery costs that only mean a cost below saturation
RATE_BOUND = ("server_us_per_delivery",)
SAT_MARK = "*"


def saturated(r: dict) -> bool:
    return (r.get("server_cpu_share") or 0) >= SATURATED


def median(values: List[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def bound(server_share: Optional[float], gen_share: Optional[float],
          core0: Optional[float] = None, core1: Optional[float] = None) -> str:
    """Which side ran out of CPU: "server", "loadgen-bound", "both", or "-"
    (neither: the workload's pacing or latency set the pace). A side is out
    of CPU when its process's share is near 1.0, or when its core is full
    anyway (other load on the machine took the rest)."""
    if server_share is None or gen_share is None:
        return "-"
    s = server_share >= NEAR_FULL or (core0 or 0) >= CORE_FULL
    g = gen_share >= NEAR_FULL or (core1 or 0) >= CORE_FULL
    return "both" if s and g else "server" if s else "loadgen-bound" if g else "-"


def print_tables(results: List[dict], servers: List[str], rounds: int, out: Callable[[str], None] = print) -> None:
    ok = [r for r in results if "error" not in r]
    labels: List[Tuple[str, str]] = []
    for r in results:
        if (r["workload"], r["label"]) not in labels:
            labels.append((r["workload"], r["label"]))
    width = max(14, *(len(s) for s in servers)) + 2
    out("\nmedians of %d round(s); %d cores; server on CPU 0, load generator on CPU 1"
        % (rounds, os.cpu_count() or 1))

    def of(server: str, label: str, key: str) -> List[Optional[float]]:
        return [r.get(key) for r in ok if r["server"] == server and r["label"] == label]

    for workload, label in labels:
        out("\n" + label)
        out("  %-20s" % "" + "".join("%*s" % (width, s) for s in servers))
        marked = []
        for key, title, fmt in ROWS[workload] + SHARES:
            cells = []
            for s in servers:
                value = median(of(s, label, key))
                cell = fmt % value if value is not None else "-"
                if value is not None and key in RATE_BOUND and is_saturated(ok, s, label):
                    cell += SAT_MARK
                    marked.append(s)
                cells.append(cell)
            if any(c != "-" for c in cells):
                out("  %-20s" % title + "".join("%*s" % (width, c) for c in cells))
        bounds = cells_bound(ok, servers, label)
        out("  %-20s" % "bound by" + "".join("%*s" % (width, c) for c in bounds))
        if rounds > 1:
            key = RATIOS[workload][0][0]
            title = next(t for k, t, _ in ROWS[workload] if k == key)
            cells = []
            for s in servers:
                vals = [v for v in of(s, label, key) if v is not None]
                mid = median(vals)
                cells.append("±%.0f%%" % (50 * (max(vals) - min(vals)) / mid) if vals and mid else "-")
            out("  %-20s" % ("± " + title) + "".join("%*s" % (width, c) for c in cells))
        failed = sorted({r["server"] for r in results if r["label"] == label and "error" in r})
        if failed:
            out("  failed: %s" % ", ".join(failed))
        loadgen_bound = [s for s, c in zip(servers, bounds) if c == "loadgen-bound"]
        if loadgen_bound:
            out("  note: loadgen-bound for %s: the generator's core saturated before the server's, so "
                "rates and times there understate the server; compare server CPU per unit" % ", ".join(loadgen_bound))
        if marked:
            out("  %s %s at >= %d %% CPU at the offered rate: its CPU per delivery is its core over what it "
                "kept up with, not a cost (read its deliveries/s, p50 and p99; cost ratios leave it out)"
                % (SAT_MARK, ", ".join(marked), SATURATED * 100))
        for line in ratio_lines(ok, servers, workload, label):
            out(line)


def is_saturated(ok: List[dict], server: str, label: str) -> bool:
    """The server's median CPU share in this case reached :data:`SATURATED`."""
    share = median([r.get("server_cpu_share") for r in ok if r["server"] == server and r["label"] == label])
    return share is not None and share >= SATURATED


def cells_bound(ok: List[dict], servers: List[str], label: str) -> List[str]:
    res = []
    for s in servers:
        rs = [r for r in ok if r["server"] == s and r["label"] == label]
        res.append(bound(*(median([r.get(k) for r in rs]) for k in (
            "server_cpu_share", "loadgen_cpu_share", "cpu0_busy", "cpu1_busy"))) if rs else "-")
    return res


def ratio_lines(ok: List[dict], servers: List[str], workload: str, label: str) -> List[str]:
    by_round: Dict[Tuple[int, str], dict] = {(r["round"], r["server"]): r for r in ok if r["label"] == label}
    ours = [s for s in servers if s.startswith("ours")]
    peers = [s for s in servers if not s.startswith("ours")]
    lines = []
    for o in ours:
        # a variant ("ours-ws-acks", "ours-ws-redis") is also compared with what it varies ("ours-ws")
        base = None
        for suffix in ("-acks", "-redis"):
            if o.endswith(suffix) and o[:-len(suffix)] in servers:
                base = o[:-len(suffix)]
        for key, title, higher in RATIOS[workload]:
            parts = []
            for p in ([base] if base else []) + peers:
                ratios = []
                skipped = 0
                for (rnd, s), r in by_round.items():
                    other = by_round.get((rnd, p), {})
                    theirs = other.get(key)
                    if s == o and r.get(key) and theirs:
                        if key in RATE_BOUND and (saturated(r) or saturated(other)):
                            skipped += 1  # not a cost: see SATURATED
                            continue
                        ratios.append(r[key] / theirs)
                if ratios:
                    parts.append("%.2fx %s" % (median(ratios), p))
                elif skipped:
                    parts.append("n/a (saturated) %s" % p)
            if parts:
                lines.append("  %s / peer, %s (%s is better): %s" % (
                    o, title, "higher" if higher else "lower", ", ".join(parts)))
    return lines
