"""Two worker processes on one private Redis: the cross-process benchmark servers.

    cluster.py ours   # two bench/servers/ours.py with message_queue=redis://…
    cluster.py psio   # two bench/servers/python_socketio.py with a RedisManager

Starts redis-server on a free port (no persistence), then the two workers,
each on its own port, and prints "listening on 127.0.0.1:P1,P2" (the load
generator puts client i on port i mod 2, so a broadcast from one reaches
half its recipients through Redis). Everything inherits this process's CPU
pinning, and the harness counts the CPU of the whole process tree: the
workers and Redis. SIGTERM stops them all.

``CLUSTER_WORKERS=1`` in the environment starts one worker on the bus
instead: what Redis costs a broadcast, apart from what splitting the
clients between two processes on one core costs.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
PEER_PY = os.path.join(BENCH, ".venv-peers", "bin", "python")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis() -> Tuple[subprocess.Popen, int]:
    """A private redis-server on a free port, no persistence, once it answers."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.terminate()
                raise RuntimeError("redis-server did not start on port %d" % port) from None
            time.sleep(0.05)


def main() -> None:
    kind = sys.argv[1]
    procs: List[subprocess.Popen] = []

    def stop(*_: object) -> None:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        redis, port = start_redis()
    except RuntimeError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    procs.append(redis)
    url = "redis://127.0.0.1:%d/0" % port
    python, script = ((sys.executable, "ours.py") if kind == "ours" else (PEER_PY, "python_socketio.py"))
    ports = []
    for _ in range(int(os.environ.get("CLUSTER_WORKERS", "2"))):
        worker = subprocess.Popen([python, os.path.join(HERE, script), "--redis", url],
                                  stdout=subprocess.PIPE, text=True)
        procs.append(worker)
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if "listening on" not in line:
            print("a worker did not start: %r" % line, file=sys.stderr)
            stop()
        ports.append(line.strip().rsplit(":", 1)[1])
    print("listening on 127.0.0.1:%s" % ",".join(ports), flush=True)
    while all(proc.poll() is None for proc in procs):
        time.sleep(0.5)
    stop()


if __name__ == "__main__":
    main()
