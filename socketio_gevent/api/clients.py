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

from ..protocol.events import Answer, Callbacks, check_name, encode_event
from ..protocol.outbox import Annotations, FrameCache, Item, encode_item
from .emitter import EventEmitter, Handler
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


#: Events a Client never fires, with what to use instead.
_NOT_ON_CLIENT = {
    "connect": "a Client is connected when you get it: use listener.on('connection', fn(client))",
    "connection": "a Client is connected when you get it: use listener.on('connection', fn(client))",
    "clientConnect": "use listener.on('clientConnect', fn(client))",
    "clientMessage": "use client.on('message', fn(message, annotations))",
    "clientDisconnect": "use client.on('disconnect', fn())",
    "close": "use listener.on('close', fn())",
    "reconnect": "reconnect is fired by the clients' libraries, not on the server",
    "error": "handler errors go to the listener's log",
}


class Client(EventEmitter):
    """One session as the application sees it.

    Events: ``message`` (message, annotations), ``disconnect`` (), and named
    events (``on("chat", fn(*args))``; ``fn``'s result answers the sender's
    callback, docs/protocol.rst §10).
    """

    def __init__(self, listener: "Listener", session: SessionHandle, environ: Dict[str, Any]) -> None:
        super().__init__(listener.log)
        self.listener = listener
        self.session = session
        self.session_id: str = session.sid
        #: The WSGI environ of the request that opened the session.
        self.environ = environ
        #: Callbacks of our emits waiting for answers (made on the first one).
        self._callbacks: Optional[Callbacks] = None

    def add_listener(self, event: str, fn: Handler) -> None:
        """As on any emitter, but a name this class never fires is an error, not silence."""
        if event in _NOT_ON_CLIENT:
            raise ValueError("a Client has no %r event: %s" % (event, _NOT_ON_CLIENT[event]))
        super().add_listener(event, fn)

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

    def emit(self, event: str, *args: Any, callback: Optional[Handler] = None) -> None:
        """Send the named event ``event`` with ``args`` (JSON-able) to this client.

        ``callback`` is called with the client's answer (its handler's result),
        once; never if the session ends first.
        """
        self.emit_with(event, args, callback, None)

    def emit_with(self, event: str, args: Any, callback: Optional[Handler], annotations: Annotations) -> None:
        """:meth:`emit` with annotations (what a realm adds)."""
        check_name(event)
        number = None
        if callback is not None:
            if self._callbacks is None:
                self._callbacks = Callbacks()
            number, dropped = self._callbacks.add(callback)
            if dropped is not None:
                self.log.warning("client %s: over %d callbacks wait for answers; the oldest is dropped",
                                 self.session_id, self._callbacks.limit)
        self.session.send(encode_event(event, args, number, annotations))

    def answered(self, answer: Answer) -> None:
        """The client answered one of our events: call its callback (once)."""
        fn = self._callbacks.pop(answer.callback) if self._callbacks is not None else None
        if fn is None:
            return  # unknown or already answered: nothing to call
        try:
            fn(*answer.args)
        except Exception:  # user code
            self.log.exception("callback for answer %d raised", answer.callback)

    def forget_callbacks(self) -> None:
        """The session ended: no answer can come (and nothing is kept)."""
        self._callbacks = None

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
