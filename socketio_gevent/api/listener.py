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

from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Set, Union

from ..protocol.events import Event, encode_event, encode_result, read_answer, read_event
from ..protocol.options import Options
from ..protocol.origins import OriginPolicy
from ..protocol.outbox import Annotations, FrameCache, Item, encode_item
from .backends.base import Backend, Broadcast, BusMessage, Disconnect, except_set
from .backends.memory import InProcessBackend
from .clients import Client, SessionHandle
from .rooms import RoomTarget, room_name as _room_name
from .emitter import EventEmitter, Handler
from .log import make_logger
from .realms import Realm, RealmClient

__all__ = ["Listener"]

#: Recipients of one broadcast served between two turns of the event loop:
#: about 25 ms of sends at 50 µs each (a socket's send, with 19,000 open).
BROADCAST_SLICE = 500


def _nothing() -> None:
    pass


_OPTION_EVENTS = {
    "on_client_connect": "clientConnect",
    "on_client_message": "clientMessage",
    "on_client_disconnect": "clientDisconnect",
}


#: Flask-SocketIO's names for the listener's events, and ours.
_ALIASES = {"connect": "connection", "disconnect": "clientDisconnect"}
#: Events of the clients' libraries that a listener never fires.
_NOT_ON_LISTENER = {
    "reconnect": "reconnect is fired by the clients' libraries when they open a new session",
    "error": "handler errors go to the listener's log",
}


class Listener(EventEmitter):
    """The clients of one server, and the application's events.

    Events: ``connection`` (alias ``connect``) and ``clientConnect``
    (client), ``message`` (client, message, annotations), ``clientMessage``
    (message, client), ``clientDisconnect`` (alias ``disconnect``)
    (client), ``close`` () when :meth:`close` runs; and named events: any
    other name, ``fn(client, *args)``, whose result answers the sender's
    callback (docs/protocol.rst §10).
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
        #: Room name -> session ids of its members in this process.
        self._rooms: Dict[str, Set[str]] = {}
        #: Session id -> the rooms it joined (emptied when its session ends).
        self._joined: Dict[str, Set[str]] = {}
        for option, event in _OPTION_EVENTS.items():
            fn = getattr(self.options, option)
            if fn is not None:
                self.on(event, fn)
        #: Lets the event loop serve other connections in the middle of a long
        #: broadcast; the edge sets it (the api layer knows no event loop).
        self.let_others_run: Callable[[], None] = _nothing
        if backend is None:
            backend = self._default_backend()
        self.backend = backend
        self.backend.attach(self._deliver)
        self._started = False

    def _default_backend(self) -> Backend:
        if self.options.message_queue is None:
            return InProcessBackend()
        from ..edge.redis_backend import RedisBackend  # gevent and redis-py: only when asked for

        return RedisBackend(self.options.message_queue, self.options.channel, self.log)

    def start(self) -> None:
        """Open the backend's connections, once, in the serving process.

        ``listen()`` and the gunicorn worker call it; a server built by hand
        calls it before serving (after the fork, if it forks).
        """
        if not self._started:
            self._started = True
            self.backend.start()

    def health(self) -> Dict[str, Any]:
        """The state of the message bus (``connected``, counters), and the clients here."""
        health = self.backend.health()
        health["clients"] = len(self.clients)
        return health

    def add_listener(self, event: str, fn: Handler) -> None:
        """As on any emitter, with Flask-SocketIO's ``connect``/``disconnect``
        understood, and client-only events refused with the right name."""
        if event in _NOT_ON_LISTENER:
            raise ValueError("a Listener has no %r event: %s" % (event, _NOT_ON_LISTENER[event]))
        super().add_listener(_ALIASES.get(event, event), fn)

    def remove_listener(self, event: str, fn: Handler) -> None:
        super().remove_listener(_ALIASES.get(event, event), fn)

    # -- sending ---------------------------------------------------------
    def emit(
        self,
        event: str,
        *args: Any,
        to: Optional[str] = None,
        except_: Union[str, Iterable[str], None] = None,
        callback: Optional[Handler] = None,
    ) -> None:
        """Send the named event to every client, or to the members of room
        ``to`` (or the client whose session id it is), but ``except_``.

        A ``callback`` needs one recipient: ``to`` must be the session id of
        a client of this process (or use ``client.emit``).
        """
        if callback is not None:
            client = self.clients.get(to) if to is not None else None
            if client is None:
                raise ValueError("a callback needs one recipient: pass to=<session id> of a connected "
                                 "client, or call client.emit(..., callback=fn)")
            if client.session_id not in except_set(except_):
                client.emit(event, *args, callback=callback)
            return
        self.backend.publish(Broadcast(encode_event(event, args), except_set(except_),
                                       None if to is None else _room_name(to)))

    def broadcast(
        self,
        message: Any,
        except_: Union[str, Iterable[str], None] = None,
        annotations: Annotations = None,
        room: Optional[str] = None,
    ) -> None:
        """Send ``message`` to every client (or every member of ``room``) but
        those in ``except_`` (session ids)."""
        self.backend.publish(Broadcast(encode_item(message, annotations), except_set(except_), room))

    def to(self, room: str) -> RoomTarget:
        """Address the members of ``room``, or the client whose session id it is:
        ``listener.to("lobby").send("hi")``."""
        return RoomTarget(self, _room_name(room))

    def disconnect(self, sid: str) -> None:
        """End the session with this id, in this process or another on the bus."""
        self.backend.publish(Disconnect(sid))

    def _deliver(self, broadcast: BusMessage) -> None:
        if isinstance(broadcast, Disconnect):
            target = self._sessions.get(broadcast.sid)
            if target is not None:
                target.disconnect()
            return
        item = broadcast.item
        excluded = broadcast.except_
        room = broadcast.room
        if room is not None:
            members = self._rooms.get(room)
            if members is None:  # a session id is the room of its own client
                session = self._sessions.get(room)
                if session is not None and room not in excluded:
                    session.send(item, {})
                return
            sessions = self._sessions
            targets = [sessions[sid] for sid in members if sid in sessions and sid not in excluded]
        elif not excluded:  # the common case: one test less per client
            targets = list(self._sessions.values())
        else:
            targets = [session for sid, session in self._sessions.items() if sid not in excluded]
        self._send_each(targets, item)

    def _send_each(self, targets: List[SessionHandle], item: Item) -> None:
        """``item`` to every target, the loop turning every :data:`BROADCAST_SLICE`
        of them: a broadcast to 19,000 clients held the loop for up to 1.4 s,
        and every other client's round trip waited for it. The recipients are
        taken before the first send, and the calling greenlet goes on only
        when all have it, so its messages keep their order."""
        frames: FrameCache = {}
        if len(targets) <= BROADCAST_SLICE:
            for session in targets:
                session.send(item, frames)
            return
        for start in range(0, len(targets), BROADCAST_SLICE):
            if start:
                self.let_others_run()
            for session in targets[start:start + BROADCAST_SLICE]:
                session.send(item, frames)

    # -- rooms -----------------------------------------------------------
    @property
    def rooms(self) -> Dict[str, FrozenSet[str]]:
        """Every room with members in this process: name -> their session ids."""
        return {name: frozenset(members) for name, members in self._rooms.items()}

    def clients_in(self, room: str) -> List[Client]:
        """The clients of this process in ``room``."""
        return [self.clients[sid] for sid in sorted(self._rooms.get(room, ())) if sid in self.clients]

    def rooms_of(self, sid: str) -> FrozenSet[str]:
        """The rooms the client with this session id is in."""
        return frozenset(self._joined.get(sid, ()))

    def join_room(self, client: Client, room: str) -> None:
        """Put ``client`` in ``room`` (what ``client.join`` calls)."""
        sid = client.session_id
        if self.clients.get(sid) is not client:
            return  # a session that has ended joins nothing
        self._rooms.setdefault(room, set()).add(sid)
        self._joined.setdefault(sid, set()).add(room)

    def leave_room(self, client: Client, room: str) -> None:
        """Take ``client`` out of ``room`` (what ``client.leave`` calls)."""
        sid = client.session_id
        members = self._rooms.get(room)
        if members is not None:
            members.discard(sid)
            if not members:
                del self._rooms[room]
        joined = self._joined.get(sid)
        if joined is not None:
            joined.discard(room)
            if not joined:
                del self._joined[sid]

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
        self.fire("connection", client)
        self.fire("clientConnect", client)
        for realm in list(self._realms.values()):
            if realm.has_listeners("connection"):
                realm.fire("connection", RealmClient(realm, client))
        return client

    def session_message(self, client: Client, message: Any, annotations: Dict[str, Optional[str]]) -> None:
        if annotations:  # events and answers are annotated messages (§10)
            if "ca" in annotations:
                answer = read_answer(message, annotations)
                if answer is not None:
                    client.answered(answer)
                    return
            elif "e" in annotations:
                event = read_event(message, annotations)
                if event is not None:
                    self._event(client, event, annotations.get("r"))
                    return
        client.fire("message", message, annotations)
        handlers = self._handlers
        if handlers.get("message"):  # once per message: no call when nobody listens
            self.fire("message", client, message, annotations)
        if handlers.get("clientMessage"):
            self.fire("clientMessage", message, client)

    def _event(self, client: Client, event: Event, realm: Optional[str]) -> None:
        """Run a named event's handlers; answer the sender's callback with the
        first result that is not ``None`` (``[]`` when none gives one)."""
        if realm is None:
            result = client.fire(event.name, *event.args)
            other = self.fire(event.name, client, *event.args)
            if result is None:
                result = other
        else:  # a realm's handlers only (RealmClient.on)
            result = client.fire(realm + "\n" + event.name, *event.args)
        if event.callback is None:
            return
        answer, error = encode_result(event.callback, result)
        if error is not None:
            self.log.error("answer to %r is not JSON (%s): answered with no value", event.name, error)
        client.session.send(answer)

    def session_closed(self, client: Client, reason: str) -> None:
        if self.clients.get(client.session_id) is client:
            for room in list(self._joined.get(client.session_id, ())):
                self.leave_room(client, room)
            del self.clients[client.session_id]
            del self._sessions[client.session_id]

    def emit_disconnect(self, client: Client, reason: str) -> None:
        self.session_closed(client, reason)  # if the session closed inside ``connection``
        client.forget_callbacks()
        client.fire("disconnect")
        self.fire("clientDisconnect", client)

    def close(self) -> None:
        """End every session (without ``0:0:,``) and detach from the backend."""
        for session in list(self._sessions.values()):
            session.close("listener closed")
        self.fire("close")
        self.backend.close()
