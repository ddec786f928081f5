"""Test an application's handlers without sockets or sleeps.

What Flask-SocketIO's ``test_client`` gives its users: a client that
connects to a :class:`~socketio_gevent.Listener` directly, sends messages
and named events, and collects what the application sends back, with
every handler run at once, in the caller. Messages go through the same
encoding and decoding as on the wire (§2, §10), so a handler sees exactly
what it would see from a browser, and a value that cannot travel fails
here too.

Example::

    from socketio_gevent import Listener
    from socketio_gevent.testing import TestClient

    listener = Listener()
    attach_my_handlers(listener)

    alice, bob = TestClient(listener), TestClient(listener)
    alice.send({"say": "hi"})
    assert bob.messages() == [({"said": "hi"}, {})]
    assert alice.emit("add", 1, 2, callback=True) == [3]   # the answer
    alice.disconnect()
"""
from __future__ import annotations

import secrets
from typing import Any, Dict, List, Optional, Tuple

from .api.clients import Client
from .api.listener import Listener
from .protocol.events import encode_answer, encode_event, read_answer, read_event
from .protocol.framing import decode_body, decode_payload
from .protocol.outbox import Annotations, BinaryMessage, FrameCache, Item, encode_item

__all__ = ["TestClient"]

Message = Tuple[Any, Dict[str, Optional[str]]]
_NO_ANSWER = object()


def _decode(item: Item) -> List[Message]:
    """What a client would receive for one written item."""
    if isinstance(item, BinaryMessage):
        return [(bytes(item.data), {})]
    out: List[Message] = []
    for frame in decode_payload(item):
        if frame.type == "1":
            message, annotations = decode_body(frame.data)
            out.append((message, dict(annotations)))
    return out


class _Session:
    """The session handle a :class:`Client` sends through, kept in memory."""

    transport = "test"

    def __init__(self, owner: "TestClient") -> None:
        self.owner = owner
        self.sid = "test-" + secrets.token_urlsafe(12)
        self.connected = True
        self.connections = 1
        self.acknowledged = 0
        self.pending = 0

    def send(self, item: Item, frames: Optional[FrameCache] = None) -> None:
        if self.connected:
            self.owner._arrived(item)

    def disconnect(self) -> None:
        self.owner._ended("disconnected by the application")

    def close(self, reason: str) -> None:
        self.owner._ended(reason)


class TestClient:
    """One client of ``listener``, connected on creation (its ``connection``
    handlers have run when the constructor returns).

    ``environ``: the WSGI environ the application sees as ``client.environ``
    (a minimal one by default).
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, listener: Listener, environ: Optional[Dict[str, Any]] = None) -> None:
        self.listener = listener
        self._messages: List[Message] = []
        self._events: List[Tuple[str, List[Any]]] = []
        self._answers: Dict[int, Any] = {}
        self._next_callback = 0
        self._session = _Session(self)
        self._held: List[Item] = []  # answers made while ``connection`` handlers run
        self._opening = True
        #: The server's :class:`~socketio_gevent.Client` for this test client.
        self.client: Client = listener.session_opened(
            self._session, environ if environ is not None else {"REQUEST_METHOD": "GET", "PATH_INFO": "/"})
        self._opening = False
        for item in self._held:  # as on the wire: they arrive after the handlers ran
            self._deliver(item)
        self._held = []

    # -- what the test does ---------------------------------------------------
    @property
    def session_id(self) -> str:
        return self._session.sid

    @property
    def connected(self) -> bool:
        return self._session.connected

    def send(self, message: Any, annotations: Annotations = None) -> None:
        """Send a message as a browser would; the handlers have run when this returns."""
        self._deliver(encode_item(message, annotations))

    def emit(self, event: str, *args: Any, callback: bool = False) -> Any:
        """Send a named event. With ``callback=True`` return the answer's
        arguments as a list (what a browser's callback would be called with)."""
        number = None
        if callback:
            self._next_callback += 1
            number = self._next_callback
        self._deliver(encode_event(event, args, number))
        if number is None:
            return None
        answer = self._answers.pop(number, _NO_ANSWER)
        if answer is _NO_ANSWER:
            raise AssertionError("the server did not answer event %r" % event)
        return answer

    def messages(self) -> List[Message]:
        """The messages received since the last call, as ``(message, annotations)``."""
        out, self._messages = self._messages, []
        return out

    def events(self) -> List[Tuple[str, List[Any]]]:
        """The named events received since the last call, as ``(name, args)``."""
        out, self._events = self._events, []
        return out

    def disconnect(self) -> None:
        """Leave as a browser does (``0:0:,``): the ``disconnect`` handlers run."""
        self._ended("client disconnected")

    # -- inside ------------------------------------------------------------------
    def _deliver(self, item: Item) -> None:
        if not self._session.connected:
            raise RuntimeError("this test client is disconnected")
        for message, notes in _decode(item):
            self.listener.session_message(self.client, message, notes)

    def _arrived(self, item: Item) -> None:
        for message, notes in _decode(item):
            answer = read_answer(message, notes) if notes else None
            if answer is not None:
                self._answers[answer.callback] = answer.args
                continue
            event = read_event(message, notes) if notes else None
            if event is not None:
                self._events.append((event.name, event.args))
                if event.callback is not None:  # like a browser with no handler: answer []
                    answer_item = encode_answer(event.callback, [])
                    if self._opening:
                        self._held.append(answer_item)
                    else:
                        self._deliver(answer_item)
                continue
            self._messages.append((message, notes))

    def _ended(self, reason: str) -> None:
        if not self._session.connected:
            return
        self._session.connected = False
        self.listener.session_closed(self.client, reason)
        self.listener.emit_disconnect(self.client, reason)

    def __repr__(self) -> str:
        return "<TestClient %s%s>" % (self.session_id, "" if self.connected else " disconnected")
