"""CPU per Redis call on the bus's two hot commands: redis-py's client
methods against the same connection spoken to directly.

    .venv/bin/python bench/redis_calls.py [--calls 5000]

Why: a broadcast on the message bus is one ``XADD`` from its publisher and
one ``XREAD`` answer in every worker, so what one call costs in Python is
paid per broadcast per process. This starts a private ``redis-server`` on a
free port, makes the calls the backend makes (one entry of the size a short
broadcast has) both ways, and prints the CPU time per call of this process
(syscalls included, Redis's own time not).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(BENCH))
sys.path.insert(0, os.path.join(BENCH, "servers"))

from gevent import monkey  # noqa: E402

monkey.patch_all()

from cluster import start_redis  # noqa: E402
from socketio_gevent.edge import redis_backend as rb  # noqa: E402


def per_call(calls: int, fn: Callable[[int], Any]) -> float:
    began = time.process_time()
    for i in range(calls):
        fn(i)
    return (time.process_time() - began) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    server, port = start_redis()
    try:
        client = rb.connect("redis://127.0.0.1:%d/0" % port, 3.0)
        conn = client.connection
        entry = {b"o": b"x" * 12, b"s": b"1", b"t": b"b", b"m": b"y" * 64}
        key, inbox = b"bench:bus", b"bench:inbox"

        def pipelined_xadd(_: int) -> None:
            pipe = client.pipeline(transaction=False)
            pipe.xadd(key, entry, maxlen=100_000, approximate=True)
            pipe.execute()

        def direct_xadd(_: int) -> None:
            rb._pipeline(conn, [(b"XADD", key, b"MAXLEN", b"~", 100_000, b"*", *rb._flat(entry))])

        print("CPU µs per call, this process (%d calls each)" % args.calls)
        print("  XADD, redis-py pipeline      %6.1f" % per_call(args.calls, pipelined_xadd))
        print("  XADD, direct                 %6.1f" % per_call(args.calls, direct_xadd))
        ids = [entry_id for entry_id, _ in client.xrange(key, count=args.calls + 1)]

        def client_xread(i: int) -> None:
            client.xread({key: ids[i], inbox: b"0-0"}, count=1, block=1)

        def direct_xread(i: int) -> None:
            answer = rb._command(conn, b"XREAD", b"COUNT", 1, b"BLOCK", 1, b"STREAMS", key, inbox, ids[i], b"0-0")
            for _, entries in (answer.items() if isinstance(answer, dict) else answer):
                for _, fields in entries:
                    rb._fields(fields)

        print("  XREAD of one entry, redis-py %6.1f" % per_call(args.calls, client_xread))
        print("  XREAD of one entry, direct   %6.1f" % per_call(args.calls, direct_xread))
        client.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
