"""What the in-process benchmarks share: which checkout they measure.

Why a ``--root``: to compare two revisions on one noisy machine, the same
script alternates between this checkout and an older one checked out with
``git worktree add``; the package is imported from ``--root`` only after
the arguments are read.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from typing import Callable

__all__ = ["arguments", "best_wall", "syscall_floor"]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def arguments(doc: str, add: Callable[[argparse.ArgumentParser], None]) -> argparse.Namespace:
    """The script's arguments (``add`` declares its own), with ``--root`` put first on ``sys.path``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--root", default=ROOT,
                        help="the checkout whose socketio_gevent is measured (default: this one)")
    add(parser)
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    return args


def syscall_floor(client: socket.socket, served: socket.socket, request: bytes, answer: bytes, count: int) -> None:
    """One exchange's four syscalls with nothing between them: what a path's
    own Python is measured above (the ``--floor`` of the path scripts)."""
    for _ in range(count):
        client.send(request)
        served.recv(65536)
        served.send(answer)
        client.recv(4096)


def best_wall(run: Callable[[int], None], count: int, rounds: int = 5) -> float:
    """Seconds per call of ``run(count)``'s loop, the best of ``rounds``
    after a warm-up: the least disturbed run is the path's own cost."""
    run(2000)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run(count)
        best = min(best, time.perf_counter() - start)
    return best / count
