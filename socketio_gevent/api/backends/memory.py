"""The default backend: one process, delivery in the caller's greenlet."""
from __future__ import annotations

from typing import List

from .base import Backend, BusMessage, Deliver


class InProcessBackend(Backend):
    def __init__(self) -> None:
        self._deliver: List[Deliver] = []

    def attach(self, deliver: Deliver) -> None:
        self._deliver.append(deliver)

    def publish(self, message: BusMessage) -> None:
        for deliver in self._deliver:
            deliver(message)

    def close(self) -> None:
        self._deliver.clear()
