"""The one interface a broadcast backend implements.

Contract: the listener ``attach``-es one ``deliver`` callable; ``publish``
must lead to ``deliver(broadcast)`` being called once in every attached
listener, in this process or another, in publish order per publisher.
``deliver`` never blocks (it only queues on sessions).
"""
from __future__ import annotations

import abc
from typing import Callable, FrozenSet, Iterable, NamedTuple, Optional, Union

from ...protocol.outbox import Item


class Broadcast(NamedTuple):
    #: The message, encoded once for every client (a frame or binary).
    item: Item
    #: Session ids that must not receive it.
    except_: FrozenSet[str]
    #: Only the members of this room (or the session with this id) receive it;
    #: ``None``: every client. Each process delivers to its own members, so a
    #: backend carries the name, never a member list.
    room: Optional[str] = None


Deliver = Callable[[Broadcast], None]


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
    def publish(self, broadcast: Broadcast) -> None:
        """Send ``broadcast`` to every attached listener."""

    def close(self) -> None:  # noqa: B027 (optional: most backends hold nothing)
        """Release connections; the default has none."""
