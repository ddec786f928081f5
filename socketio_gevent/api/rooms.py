"""Rooms: server-side groups of clients (nothing changes on the wire).

A client joins and leaves rooms (``client.join("lobby")``); the listener
addresses a room's members (``listener.to("lobby").send(...)``). A
session id is also the name of a room holding just its client, so the
same call reaches one client by id. Membership lives in the listener of
each process; a broadcast carries the room's name through the backend and
every process delivers it to its own members, which is what lets rooms
span processes without sharing member lists.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Union

from ..protocol.outbox import Annotations

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Listener

__all__ = ["RoomTarget", "room_name"]


def room_name(name: Any) -> str:
    """A room name as given, or an error saying what a room name is."""
    if not isinstance(name, str) or not name:
        raise TypeError("a room name is a non-empty str, not %r" % (name,))
    return name


class RoomTarget:
    """The members of one room (or one client, by session id), as a target."""

    __slots__ = ("listener", "room")

    def __init__(self, listener: "Listener", room: str) -> None:
        self.listener = listener
        self.room = room

    def send(
        self,
        message: Any,
        annotations: Annotations = None,
        except_: Union[str, Iterable[str], None] = None,
    ) -> None:
        """Send ``message`` to every member but those in ``except_`` (session ids)."""
        self.listener.broadcast(message, except_=except_, annotations=annotations, room=self.room)

    broadcast = send

    def emit(self, event: str, *args: Any, except_: Union[str, Iterable[str], None] = None) -> None:
        """Send the named event to every member but ``except_`` (docs/protocol.rst §10)."""
        self.listener.emit(event, *args, to=self.room, except_=except_)

    def __repr__(self) -> str:
        return "<RoomTarget %r>" % (self.room,)
