"""The application API (PROTOCOL.md §7): Listener, Client, realms.

This layer never sees a byte: transports hand it decoded messages through
:class:`~socketio_gevent.sessions.Session`, and what the application sends is
encoded once here and queued on sessions.

Example::

    listener = socketio_gevent.listen(server)

    @listener.on("connection")
    def connected(client):
        client.send("welcome")
        client.on("message", lambda message, annotations: client.broadcast(message))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, Mapping, Optional, Union

from .backends.base import Backend, Broadcast
from .backends.memory import InProcessBackend
from .events import EventEmitter
from .log import make_logger
from .options import Options
from .origins import OriginPolicy
from .protocol.framing import encode_message
from .protocol.session import BinaryMessage, Item

if TYPE_CHECKING:  # pragma: no cover
    from .sessions import Session

Annotations = Optional[Mapping[str, Optional[str]]]

_OPTION_EVENTS = {
    "on_client_connect": "clientConnect",
    "on_client_message": "clientMessage",
    "on_client_disconnect": "clientDisconnect",
}


def encode_item(message: Any, annotations: Annotations = None) -> Item:
    """Encode a message once, in the form every session queues (§2, §4.3).

    Bytes without annotations stay binary so WebSocket dialects that have
    binary frames can send them as such; everything else becomes a frame.
    """
    if isinstance(message, (bytes, bytearray, memoryview)) and not annotations:
        return BinaryMessage(bytes(message))
    return encode_message(message, annotations)


def _except_set(except_: Union[str, Iterable[str], None]) -> frozenset:
    if except_ is None:
        return frozenset()
    if isinstance(except_, str):
        return frozenset((except_,))
    return frozenset(except_)


class Listener(EventEmitter):
    """Owns the sessions of one server and emits the application's events.

    Events: ``connection`` and ``clientConnect`` (client), ``clientMessage``
    (message, client), ``clientDisconnect`` (client).
    """

    def __init__(self, server: Any = None, backend: Optional[Backend] = None, **options: Any) -> None:
        super().__init__()
        self.server = server
        self.options = Options.build(**options)
        self.log = make_logger(self.options.log)
        self.origin_policy = OriginPolicy(self.options.origins)
        #: Every registered, connected client by session id.
        self.clients: Dict[str, Client] = {}
        #: Every live session, including those delivering a last ``0:0:,``.
        self.sessions: Dict[str, "Session"] = {}
        self._realms: Dict[str, Realm] = {}
        for option, event in _OPTION_EVENTS.items():
            fn = getattr(self.options, option)
            if fn is not None:
                self.on(event, fn)
        #: The Flash policy server this listener is registered with, if any.
        self.policy_service: Any = None
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
        excluded = broadcast.except_
        item = broadcast.item
        if not excluded:  # the common case: one test less per client
            for client in list(self.clients.values()):
                client._session.push(item)
            return
        for sid, client in list(self.clients.items()):
            if sid not in excluded:
                client._session.push(item)

    # -- realms ----------------------------------------------------------
    def realm(self, name: str) -> "Realm":
        if not name or "\n" in name:
            raise ValueError("a realm name must be non-empty and have no newline")
        realm = self._realms.get(name)
        if realm is None:
            realm = self._realms[name] = Realm(self, name)
        return realm

    # -- called by sessions ------------------------------------------------
    def _client_connected(self, client: "Client") -> None:
        self.clients[client.session_id] = client
        self.emit("connection", client)
        self.emit("clientConnect", client)
        for realm in list(self._realms.values()):
            if realm.has_listeners("connection"):
                realm.emit("connection", RealmClient(realm, client))

    def _client_message(self, client: "Client", message: Any, annotations: Dict[str, Optional[str]]) -> None:
        client.emit("message", message, annotations)
        self.emit("clientMessage", message, client)

    def _client_disconnected(self, client: "Client") -> None:
        client.emit("disconnect")
        self.emit("clientDisconnect", client)

    def close(self) -> None:
        """End every session (without ``0:0:,``) and detach from the backend."""
        for session in list(self.sessions.values()):
            session.close("listener closed")
        self.backend.close()
        if self.policy_service is not None:
            from .flashpolicy import unregister

            unregister(self, self.policy_service)
            self.policy_service = None


class Client(EventEmitter):
    """One session as the application sees it (§7).

    Events: ``message`` (message, annotations) and ``disconnect``.
    """

    def __init__(self, listener: Listener, session: "Session", environ: dict) -> None:
        super().__init__()
        self.listener = listener
        self._session = session
        self.session_id: str = session.sid
        #: The WSGI environ of the request that opened the session.
        self.environ = environ
        self.connected = True
        #: How many requests have opened (or reopened) the session.
        self.connections = 0
        self.transport: str = session.transport

    def send(self, message: Any, annotations: Annotations = None) -> None:
        """Queue ``message`` (str, bytes or a JSON-able value) for this client."""
        self._session.push(encode_item(message, annotations))

    def broadcast(self, message: Any, annotations: Annotations = None) -> None:
        """Send to every client but this one."""
        self.listener.broadcast(message, except_=self.session_id, annotations=annotations)

    def disconnect(self) -> None:
        """Send ``0:0:,`` and end the session."""
        self._session.close("disconnected by the application", notify_client=True)

    def __repr__(self) -> str:
        return "<Client %s %s%s>" % (
            self.session_id, self.transport, "" if self.connected else " disconnected"
        )


def _with_realm(annotations: Annotations, name: str) -> Dict[str, Optional[str]]:
    merged = dict(annotations or {})
    merged["r"] = name
    return merged


class Realm(EventEmitter):
    """A named channel multiplexed over every client's one session (§7).

    ``connection`` hands each connecting client wrapped as a
    :class:`RealmClient`; ``broadcast`` reaches every client, annotated.
    """

    def __init__(self, listener: Listener, name: str) -> None:
        super().__init__()
        self.listener = listener
        self.name = name

    def broadcast(
        self,
        message: Any,
        except_: Union[str, Iterable[str], None] = None,
        annotations: Annotations = None,
    ) -> None:
        self.listener.broadcast(message, except_, _with_realm(annotations, self.name))


class RealmClient:
    """A client seen through one realm: only ``r:<name>`` messages, sends annotated."""

    def __init__(self, realm: Realm, client: Client) -> None:
        self.realm = realm
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def on(self, event: str, fn: Optional[Any] = None) -> Any:
        if fn is None:
            def decorator(f: Any) -> Any:
                self.on(event, f)
                return f
            return decorator
        if event == "message":
            realm_name = self.realm.name

            def filtered(message: Any, annotations: Dict[str, Optional[str]]) -> None:
                if annotations.get("r") == realm_name:
                    fn(message, annotations)

            self.client.on("message", filtered)
        else:
            self.client.on(event, fn)
        return fn

    def send(self, message: Any, annotations: Annotations = None) -> None:
        self.client.send(message, _with_realm(annotations, self.realm.name))

    def broadcast(self, message: Any, annotations: Annotations = None) -> None:
        self.client.broadcast(message, _with_realm(annotations, self.realm.name))

    def __repr__(self) -> str:
        return "<RealmClient %s in %r>" % (self.client.session_id, self.realm.name)
