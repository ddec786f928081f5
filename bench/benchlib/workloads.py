"""The servers under test and the workloads (issue 4, item 3 (a)-(e)).

A server offers transports: "ws" (a WebSocket: loadgen protocol and path) and
"poll" (HTTP long-polling). A workload case needs one transport; servers
without it are skipped and shown as "-".
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
#: our servers run on the interpreter running the bench (./bench/run: .venv)
OURS_PY = sys.executable
PEER_PY = os.path.join(BENCH, ".venv-peers", "bin", "python")
EIO_WS = "/socket.io/?EIO=4&transport=websocket"
EIO_POLL = "/socket.io/"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    cmd: Tuple[str, ...]
    #: transport -> (loadgen protocol, path)
    transports: Dict[str, Tuple[str, str]]
    #: more arguments for the load generator (``--cross 1``: every poll relayed)
    loadgen_args: Tuple[str, ...] = ()
    #: Redis must be installed (bench/servers/cluster.py starts a private one)
    needs_redis: bool = False
    #: runs only the cases that name it (``Case.only``)
    named_only: bool = False

    @property
    def ours(self) -> bool:
        return self.name.startswith("ours")

    def missing(self) -> Optional[str]:
        """Why this server cannot run here (peers not installed), or None."""
        if self.needs_redis and shutil.which("redis-server") is None:
            return "redis-server is not installed (apt-get install redis-server)"
        if "psio" in self.cmd and not os.path.exists(PEER_PY):
            return "%s is missing (run bench/setup-peers)" % PEER_PY
        exe = self.cmd[0]
        if os.path.isabs(exe) and not os.path.exists(exe):
            return "%s is missing (run bench/setup-peers)" % exe
        if self.cmd[0] == "node" and not os.path.isdir(os.path.join(BENCH, "node", "node_modules", "socket.io")):
            return "bench/node/node_modules has no socket.io (run bench/setup-peers)"
        return None

    def url(self, transport: str, ports: Sequence[int]) -> str:
        """The load generator's ``--url``: one per port, comma-separated."""
        path = self.transports[transport][1]
        scheme = "ws" if transport == "ws" else "http"
        return ",".join("%s://127.0.0.1:%d%s" % (scheme, port, path) for port in ports)


_OURS = (OURS_PY, "servers/ours.py")
_CLUSTER = (OURS_PY, "servers/cluster.py")
SERVERS: Dict[str, ServerSpec] = {
    s.name: s
    for s in [
        ServerSpec("ours-ws", _OURS, {"ws": ("sio", "/socket.io/websocket")}),
        # the same, with the acks extension on (docs/protocol.rst §9)
        ServerSpec("ours-ws-acks", _OURS, {"ws": ("sio-acks", "/socket.io/websocket?acks=1")}),
        ServerSpec("ours-polling", _OURS, {"poll": ("sio-poll", "/socket.io/xhr-polling")}),
        ServerSpec("ours-plain-ws", _OURS, {"ws": ("raw", "/echo")}),
        ServerSpec("python-socketio", (PEER_PY, "servers/python_socketio.py"),
                   {"ws": ("eio", EIO_WS), "poll": ("eio-poll", EIO_POLL)}),
        ServerSpec("node-socketio", ("node", "node/sio_server.js"),
                   {"ws": ("eio", EIO_WS), "poll": ("eio-poll", EIO_POLL)}),
        ServerSpec("gevent-websocket", (PEER_PY, "servers/gevent_ws.py"), {"ws": ("raw", "/")}),
        # two processes on one Redis (bench/servers/cluster.py): clients split
        # between them, so a broadcast reaches half its recipients through Redis
        ServerSpec("ours-ws-redis", _CLUSTER + ("ours",), {"ws": ("sio", "/socket.io/websocket")},
                   needs_redis=True),
        # every poll and send lands on the process that does not own its
        # session and is relayed to the owner: the relay's added latency
        ServerSpec("ours-polling-redis", _CLUSTER + ("ours",), {"poll": ("sio-poll", "/socket.io/xhr-polling")},
                   loadgen_args=("--cross", "1"), needs_redis=True, named_only=True),
        ServerSpec("python-socketio-redis", _CLUSTER + ("psio",), {"ws": ("eio", EIO_WS)}, needs_redis=True),
    ]
}


@dataclass(frozen=True)
class Case:
    """One measured configuration of a workload."""

    workload: str          # echo | fanout | idle | longpoll | large
    mode: str              # loadgen mode
    transport: str         # ws | poll
    label_fmt: str         # str.format over the loadgen arguments
    args: Dict[str, float]
    smoke: Dict[str, float] = field(default_factory=dict)
    #: the phases between which CPU and wall time are measured
    window: Tuple[str, str] = ("start", "end")
    #: if set, the only servers this case runs on
    only: Tuple[str, ...] = ()

    def params(self, smoke: bool) -> Dict[str, float]:
        return dict(self.args, **self.smoke) if smoke else dict(self.args)

    def label(self, smoke: bool) -> str:
        return self.label_fmt.format(**self.params(smoke))

    def timeout(self, smoke: bool) -> float:
        p = self.params(smoke)
        run = p.get("duration", 0) + p.get("hold", 0) + p.get("count", 0) * p.get("interval", 0) / 1000
        return 120 + run * 3 + p.get("clients", 0) / 50  # generous: a hung run ends, a slow one does not


WORKLOADS: Dict[str, List[Case]] = {
    # (a) echo: send, await the echo, send again
    "echo": [
        Case("echo", "echo", "ws", "echo 16 B, {clients} clients",
             {"clients": 100, "duration": 10, "size": 16}, {"clients": 20, "duration": 1}),
    ],
    # (b) fan-out: one client triggers <count> broadcasts <interval> ms apart,
    # after <warmup> broadcasts that are not measured: the first few after
    # 1,000 connections open are slow on every server (and on the load
    # generator), and with 200 broadcasts the p99 is the worst two's tail.
    "fanout": [
        Case("fanout", "fanout", "ws",
             "fan-out {clients:,} clients x {count} @ {interval} ms, {warmup} before unmeasured",
             {"clients": 1000, "count": 200, "interval": 10, "warmup": 20}, {"clients": 20, "count": 10, "warmup": 2}),
        # client-triggered: one client sends <count> messages <interval> ms
        # apart and the server's message handler broadcasts each one, the
        # way an application relays a chat line (the handler's cost and the
        # sender's read path are in the figure, the server's timer is not)
        Case("fanout", "relay", "ws",
             "fan-out client-triggered {clients:,} clients x {count} @ {interval} ms, {warmup} before unmeasured",
             {"clients": 1000, "count": 200, "interval": 10, "warmup": 20}, {"clients": 20, "count": 10, "warmup": 2}),
        # the same at 10,000/s: python-socketio (one process or two on a
        # RedisManager) still holds a whole core at 40,000/s, so its CPU per
        # delivery is a cost only this low
        Case("fanout", "relay", "ws",
             "fan-out client-triggered {clients:,} clients x {count} @ {interval} ms, {warmup} before unmeasured",
             {"clients": 1000, "count": 100, "interval": 100, "warmup": 5}, {"clients": 20, "count": 10, "warmup": 2},
             only=("ours-ws", "ours-ws-redis", "python-socketio", "python-socketio-redis")),
        # the same, offering more than any server here delivers (333k/s)
        Case("fanout", "relay", "ws",
             "fan-out client-triggered saturating {clients:,} clients x {count} @ {interval} ms, "
             "{warmup} before unmeasured",
             {"clients": 1000, "count": 600, "interval": 3, "warmup": 20}, {"clients": 20, "count": 10, "warmup": 2}),
    ],
    # (c) idle: open and hold; RSS per connection
    "idle": [
        Case("idle", "idle", "ws", "idle {clients:,} connections",
             {"clients": 5000, "hold": 5}, {"clients": 50, "hold": 0.5}, window=("start", "opened")),
        Case("idle", "idle", "ws", "idle {clients:,} connections",
             {"clients": 19000, "hold": 5}, {"clients": 100, "hold": 0.5}, window=("start", "opened")),
    ],
    # (d) long-poll: fan-out to polling clients. The second case offers more
    # than a server can take: 40 clients trigger at once, 40 x 250 broadcasts
    # 1 ms apart (up to ~40 x 100 clients x 1,000/s offered; 20 triggers no
    # longer kept ours busy once its polls batch under load). Polls coalesce
    # what queued meanwhile, so deliveries/s keeps rising with the offered
    # rate; server CPU per delivery at the same offer compares fairly.
    "longpoll": [
        Case("longpoll", "poll", "poll", "long-poll {clients} clients x {count} @ {interval} ms",
             {"clients": 100, "count": 200, "interval": 10}, {"clients": 20, "count": 10}),
        Case("longpoll", "poll", "poll",
             "long-poll saturating {clients} clients x {triggers} x {count} @ {interval} ms",
             {"clients": 100, "triggers": 40, "count": 250, "interval": 1},
             {"clients": 20, "triggers": 4, "count": 10}),
        # every poll and send on the process that does not own the session,
        # relayed to the owner through Redis (ours-polling-redis), beside the
        # same on one process: what the relay adds to a delivery's latency
        Case("longpoll", "poll", "poll", "long-poll relayed {clients} clients x {count} @ {interval} ms",
             {"clients": 20, "count": 200, "interval": 50}, {"clients": 5, "count": 10},
             only=("ours-polling", "ours-polling-redis")),
    ],
    # (e) large messages
    "large": [
        Case("large", "echo", "ws", "echo 4 KiB, {clients} clients",
             {"clients": 10, "duration": 5, "size": 4096}, {"clients": 5, "duration": 0.5}),
        Case("large", "echo", "ws", "echo 64 KiB, {clients} clients",
             {"clients": 10, "duration": 5, "size": 65536}, {"clients": 5, "duration": 0.5}),
    ],
}


def applicable(server: ServerSpec, case: Case) -> bool:
    if case.only and server.name not in case.only:
        return False
    if server.named_only and server.name not in case.only:
        return False
    return case.transport in server.transports


#: connections per source address: past about this many sockets from one
#: address to one port, the kernel's search for a free ephemeral port in
#: connect() (even ports first) costs the load generator several seconds of
#: system time at 19,000 connections; spread over 127.0.0.1, .2, ... it does not
PER_SOURCE_ADDRESS = 5000


def local_addresses_needed(clients: int) -> int:
    """Source addresses (127.0.0.1, .2, ...) for `clients` sockets to one
    server port: enough to stay under PER_SOURCE_ADDRESS each and to fit in
    the ephemeral port range with a margin."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(v) for v in f.read().split())
        per = min(PER_SOURCE_ADDRESS, max(1000, high - low + 1 - 2000))
    except (OSError, ValueError):
        per = PER_SOURCE_ADDRESS
    return max(1, -(-clients // per))
