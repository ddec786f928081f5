"""Realms: named channels multiplexed over each client's one session (docs/protocol.rst §7).

``listener.realm("chat")`` hands every connecting client wrapped as a
:class:`RealmClient`, whose ``message`` handlers see only messages annotated
``r:chat`` and whose ``send``/``broadcast`` add that annotation.

Example::

    chat = listener.realm("chat")

    @chat.on("connection")
    def joined(client):
        client.on("message", lambda message, annotations: client.broadcast(message))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional, Union

from ..protocol.events import check_name, encode_event
from ..protocol.outbox import Annotations
from .backends.base import Broadcast, except_set
from .clients import Client
from .emitter import EventEmitter

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Listener

__all__ = ["Realm", "RealmClient"]


def with_realm(annotations: Annotations, name: str) -> Dict[str, Optional[str]]:
    merged = dict(annotations or {})
    merged["r"] = name
    return merged


class Realm(EventEmitter):
    """A named channel; ``broadcast`` reaches every client, annotated."""

    def __init__(self, listener: "Listener", name: str) -> None:
        super().__init__(listener.log)
        self.listener = listener
        self.name = name

    def broadcast(
        self,
        message: Any,
        except_: Union[str, Iterable[str], None] = None,
        annotations: Annotations = None,
    ) -> None:
        self.listener.broadcast(message, except_, with_realm(annotations, self.name))

    def emit(self, event: str, *args: Any, except_: Union[str, Iterable[str], None] = None) -> None:
        """Send the named event to every client, in this realm (annotated ``r``)."""
        self.listener.backend.publish(Broadcast(
            encode_event(event, args, None, {"r": self.name}), except_set(except_)))


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
        if event not in ("message", "disconnect"):  # a named event of this realm (§10)
            self.client.on(self.realm.name + "\n" + check_name(event), fn)
            return fn
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
        self.client.send(message, with_realm(annotations, self.realm.name))

    def emit(self, event: str, *args: Any, callback: Optional[Any] = None) -> None:
        self.client.emit_with(event, args, callback, {"r": self.realm.name})

    def broadcast(self, message: Any, annotations: Annotations = None) -> None:
        self.client.broadcast(message, with_realm(annotations, self.realm.name))

    def __repr__(self) -> str:
        return "<RealmClient %s in %r>" % (self.client.session_id, self.realm.name)
