"""What the in-process benchmarks share: which checkout they measure.

Why a ``--root``: to compare two revisions on one noisy machine, the same
script alternates between this checkout and an older one checked out with
``git worktree add``; the package is imported from ``--root`` only after
the arguments are read.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

__all__ = ["arguments"]

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
