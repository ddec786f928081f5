"""The application API (docs/protocol.rst §7): the Listener.

This layer never sees a byte. Sessions (``socketio_gevent.edge.sessions``)
tell the listener through four calls (``session_opened``,
``session_message``, ``session_closed``, ``emit_disconnect``); the listener
answers through each client's session handle. What the application sends is encoded once
here; a broadcast is framed once per wire format, by the first connection
of that format, and the bytes travel with it to the others.

Example::

    listener = socketio_gevent.listen(server)

    @listener.on("connection")
    def connected(client):
        client.send("welcome")
        client.on("message", lambda message, annotations: client.broadcast(message))
"""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, Optional, Union

from ..protocol.options import Options
from ..protocol.origins import OriginPolicy
from ..protocol.outbox import Annotations, FrameCache, encode_item
from .backends.base import Backend, Broadcast
from .backends.memory import InProcessBackend
from .clients import Client, SessionHandle
from .emitter import EventEmitter
from .log import make_logger
from .realms import Realm, RealmClient

__all__ = ["Listener"]

_OPTION_EVENTS = {
    "on_client_connect": "clientConnect",
    "on_client_message": "clientMessage",
    "on_client_disconnect": "clientDisconnect",
}


def _except_set(except_: Union[str, Iterable[str], None]) -> FrozenSet[str]:
    if except_ is None:
        return frozenset()
    if isinstance(except_, str):
        return frozenset((except_,))
    return frozenset(except_)


class Listener(EventEmitter):
    """The clients of one server, and the application's events.

    Events: ``connection`` and ``clientConnect`` (client), ``clientMessage``
    (message, client), ``clientDisconnect`` (client), and ``close`` (no
    arguments) when :meth:`close` runs.
    """

    def __init__(self, server: Any = None, backend: Optional[Backend] = None, **options: Any) -> None:
        self.options = Options.build(**options)
        super().__init__(make_logger(self.options.log))
        #: The ``gevent.pywsgi.WSGIServer`` given to ``listen()``, if any.
        self.server = server
        self.origin_policy = OriginPolicy(self.options.origins)
        #: Every connected client by session id.
        self.clients: Dict[str, Client] = {}
        #: Their sessions, by the same ids (what broadcasts write through).
        self._sessions: Dict[str, SessionHandle] = {}
        self._realms: Dict[str, Realm] = {}
        for option, event in _OPTION_EVENTS.items():
            fn = getattr(self.options, option)
            if fn is not None:
                self.on(event, fn)
        self.backend = backend if backend is not None else InProcessBackend()
        self.backend.attach(self._deliver_broadcast)

    # -- sending ---------------------------------------------------------
    def broadcast(
        self,
        message: Any,
        except_: Union[str, Iterable[str], None] = None,
        annotations: Annotations = None,
    ) -> None:
        """Send ``message`` to every client but those in ``except_`` (sids)."""
        self.backend.publish(Broadcast(encode_item(message, annotations), _except_set(except_)))

    def _deliver_broadcast(self, broadcast: Broadcast) -> None:
        item = broadcast.item
        frames: FrameCache = {}
        excluded = broadcast.except_
        if not excluded:  # the common case: one test less per client
            for session in list(self._sessions.values()):
                session.send(item, frames)
            return
        for sid, session in list(self._sessions.items()):
            if sid not in excluded:
                session.send(item, frames)

    # -- realms ----------------------------------------------------------
    def realm(self, name: str) -> Realm:
        if not name or "\n" in name:
            raise ValueError("a realm name must be non-empty and have no newline")
        realm = self._realms.get(name)
        if realm is None:
            realm = self._realms[name] = Realm(self, name)
        return realm

    # -- what sessions call (edge.sessions.Application) ---------------------
    def session_opened(self, session: SessionHandle, environ: Dict[str, Any]) -> Client:
        client = Client(self, session, environ)
        self.clients[client.session_id] = client
        self._sessions[client.session_id] = session
        self.emit("connection", client)
        self.emit("clientConnect", client)
        for realm in list(self._realms.values()):
            if realm.has_listeners("connection"):
                realm.emit("connection", RealmClient(realm, client))
        return client

    def session_message(self, client: Client, message: Any, annotations: Dict[str, Optional[str]]) -> None:
        client.emit("message", message, annotations)
        self.emit("clientMessage", message, client)

    def session_closed(self, client: Client, reason: str) -> None:
        if self.clients.get(client.session_id) is client:
            del self.clients[client.session_id]
            del self._sessions[client.session_id]

    def emit_disconnect(self, client: Client, reason: str) -> None:
        self.session_closed(client, reason)  # if the session closed inside ``connection``
        client.emit("disconnect")
        self.emit("clientDisconnect", client)

    def close(self) -> None:
        """End every session (without ``0:0:,``) and detach from the backend."""
        for session in list(self._sessions.values()):
            session.close("listener closed")
        self.emit("close")
        self.backend.close()
