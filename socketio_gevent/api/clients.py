"""The server's view of one connected client (docs/protocol.rst §7).

A :class:`Client` never touches a socket: it sends through its session's
:class:`SessionHandle`, the one narrow interface the gevent edge offers
the application layer, and receives what the listener hands it.

Example::

    @listener.on("connection")
    def connected(client):
        client.send("welcome")
        client.on("message", lambda message, annotations: client.broadcast(message))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Optional, Protocol

from ..protocol.outbox import Annotations, FrameCache, Item, encode_item
from .emitter import EventEmitter
from .rooms import room_name

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Listener

__all__ = ["Client", "SessionHandle"]


class SessionHandle(Protocol):
    """What a client needs of its session (``socketio_gevent.edge.sessions.LiveSession``)."""

    @property
    def sid(self) -> str: ...

    @property
    def transport(self) -> str: ...

    @property
    def connected(self) -> bool: ...

    @property
    def connections(self) -> int: ...

    @property
    def acknowledged(self) -> int: ...

    @property
    def pending(self) -> int: ...

    def send(self, item: Item, frames: Optional[FrameCache] = None) -> None:
        """Write or queue one encoded item."""

    def disconnect(self) -> None:
        """Send ``0:0:,``, then end the session."""

    def close(self, reason: str) -> None:
        """End the session without telling the client."""


class Client(EventEmitter):
    """One session as the application sees it.

    Events: ``message`` (message, annotations) and ``disconnect``.
    """

    def __init__(self, listener: "Listener", session: SessionHandle, environ: Dict[str, Any]) -> None:
        super().__init__(listener.log)
        self.listener = listener
        self.session = session
        self.session_id: str = session.sid
        #: The WSGI environ of the request that opened the session.
        self.environ = environ

    @property
    def connected(self) -> bool:
        """True until the session ends (also through a reconnection's grace time)."""
        return self.session.connected

    @property
    def transport(self) -> str:
        """The transport of the latest request that opened the session."""
        return self.session.transport

    @property
    def connections(self) -> int:
        """How many requests have opened (or reopened) the session."""
        return self.session.connections

    @property
    def acknowledged(self) -> int:
        """How many of our messages the client acknowledged (acks extension, §9; else 0)."""
        return self.session.acknowledged

    @property
    def pending(self) -> int:
        """Our messages not known to have reached the client: written but not
        acknowledged, or still queued. Read in a ``disconnect`` handler, it is
        what may be lost (without the acks extension, only the queued ones)."""
        return self.session.pending

    def send(self, message: Any, annotations: Annotations = None) -> None:
        """Queue ``message`` (str, bytes or a JSON-able value) for this client."""
        self.session.send(encode_item(message, annotations))

    def broadcast(self, message: Any, annotations: Annotations = None, room: Optional[str] = None) -> None:
        """Send to every client (or every member of ``room``) but this one."""
        self.listener.broadcast(message, except_=self.session_id, annotations=annotations, room=room)

    # -- rooms (server-side only: nothing changes on the wire) -------------
    @property
    def rooms(self) -> FrozenSet[str]:
        """The rooms this client is in (it leaves them all when its session ends)."""
        return self.listener.rooms_of(self.session_id)

    def join(self, room: str) -> None:
        """Enter ``room``: ``listener.to(room)`` now reaches this client."""
        self.listener.join_room(self, room_name(room))

    def leave(self, room: str) -> None:
        """Leave ``room`` (nothing happens if this client is not in it)."""
        self.listener.leave_room(self, room_name(room))

    def disconnect(self) -> None:
        """Send ``0:0:,`` and end the session."""
        self.session.disconnect()

    def __repr__(self) -> str:
        return "<Client %s %s%s>" % (
            self.session_id, self.transport, "" if self.connected else " disconnected"
        )
