"""The one interface a broadcast backend implements.

Contract: the listener ``attach``-es one ``deliver`` callable; ``publish``
must lead to ``deliver(message)`` being called once in every attached
listener, in this process or another, in publish order per publisher.
``deliver`` never blocks (it only queues on sessions). A message is a
:class:`Broadcast` or a :class:`Disconnect` (``protocol.bus``). ``start``
runs in the serving process (after a fork), before the first request.
"""
from __future__ import annotations

import abc
from typing import Any, Callable, Dict, FrozenSet, Iterable, Union

from ...protocol.bus import Broadcast, BusMessage, Disconnect

__all__ = ["Backend", "Broadcast", "BusMessage", "Deliver", "Disconnect", "except_set"]


Deliver = Callable[[BusMessage], None]


def except_set(except_: Union[str, Iterable[str], None]) -> FrozenSet[str]:
    """``Broadcast.except_`` from what the API takes: one session id, several, or none."""
    if except_ is None:
        return frozenset()
    if isinstance(except_, str):
        return frozenset((except_,))
    return frozenset(except_)


class Backend(abc.ABC):
    @abc.abstractmethod
    def attach(self, deliver: Deliver) -> None:
        """Register the listener's delivery function."""

    @abc.abstractmethod
    def publish(self, message: BusMessage) -> None:
        """Send ``message`` to every attached listener."""

    def start(self) -> None:  # noqa: B027 (optional: most backends hold nothing)
        """Open connections; called once the serving process runs (after a fork)."""

    def health(self) -> Dict[str, Any]:
        """What an operator checks: connected, counters of lost or dropped messages."""
        return {"backend": type(self).__name__, "connected": True}

    def close(self) -> None:  # noqa: B027 (optional: most backends hold nothing)
        """Release connections; the default has none."""
