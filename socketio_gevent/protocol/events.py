"""Named events and their answers (docs/protocol.rst §10), as annotated messages.

An event is an ordinary type-1 message: annotations ``e:<name>`` (and
``c:<id>`` when the sender wants an answer), the arguments as a JSON array
under ``j``. The answer is a message annotated ``ca:<id>`` with the
handler's results as a JSON array. A client that knows only the 2010
protocol sees both as annotated JSON messages, never as an error.

Built-in event names belong to the libraries (``message``, ``disconnect`` …):
they can never be sent as named events, and a received event with such a
name is handled as the ordinary message it is, so the two cannot be
confused.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .framing import encode_message
from .outbox import Annotations

__all__ = ["BUILTIN", "MAX_CALLBACKS", "Event", "Answer", "encode_event", "encode_answer", "encode_result",
           "read_event",
           "read_answer", "check_name", "Callbacks"]

#: What each built-in name is for, to say so when it is emitted.
BUILTIN: Dict[str, str] = {
    "message": "a message is sent with send(message)",
    "connect": "connections are events of the server and the client, not messages",
    "connection": "connections are events of the server, not messages",
    "disconnect": "to end a session call disconnect()",
    "reconnect": "reconnect is fired by a client when it opens a new session",
    "clientConnect": "clientConnect is fired by the listener",
    "clientMessage": "a message is sent with send(message)",
    "clientDisconnect": "to end a session call disconnect()",
    "close": "close is fired by the listener when it closes",
    "error": "error is reserved for the libraries",
    "connecting": "reserved: the 2010 browser client fires it while it connects",
    "connect_failed": "reserved: the 2010 browser client fires it when no transport connects",
}
#: Callbacks kept per sender for answers not yet received; past it the oldest is dropped.
MAX_CALLBACKS = 1000


class Event(NamedTuple):
    name: str
    args: List[Any]
    #: The sender's callback id, when it wants an answer.
    callback: Optional[int]


class Answer(NamedTuple):
    callback: int
    args: List[Any]


def check_name(name: Any) -> str:
    """``name`` if it may be emitted; otherwise an error that names the right call."""
    if not isinstance(name, str) or not name or "\n" in name:
        raise TypeError("an event name is a non-empty str without a newline, not %r" % (name,))
    if name in BUILTIN:
        raise ValueError("%r is a built-in event and cannot be emitted: %s" % (name, BUILTIN[name]))
    return name


def encode_event(name: str, args: Sequence[Any], callback: Optional[int] = None,
                 annotations: Annotations = None) -> str:
    """The type-1 frame of an event: ``1:20:e:chat\\nj\\n:["hi",3],``."""
    notes: Dict[str, Optional[str]] = {"e": check_name(name)}
    if callback is not None:
        notes["c"] = str(callback)
    if annotations:
        for key, value in annotations.items():
            if key not in ("e", "c", "ca"):
                notes[key] = value
    return encode_message(list(args), notes)


def encode_answer(callback: int, args: Sequence[Any]) -> str:
    """The answer to event ``callback``: ``1:12:ca:1\\nj\\n:[3],``."""
    return encode_message(list(args), {"ca": str(callback)})


def encode_result(callback: int, result: Any) -> Tuple[str, Optional[str]]:
    """The answer carrying a handler's result (``[result]``; ``[]`` for ``None``),
    and ``None``; or, when the result cannot travel as JSON, the answer ``[]``
    (the sender's callback still fires) and why, for the caller's log."""
    try:
        return encode_answer(callback, [] if result is None else [result]), None
    except (TypeError, ValueError) as exc:
        return encode_answer(callback, []), str(exc)


def _callback_id(value: Optional[str]) -> Optional[int]:
    if value is None or not (0 < len(value) <= 12 and value.isascii() and value.isdigit()):
        return None
    return int(value)


def read_event(message: Any, annotations: Dict[str, Optional[str]]) -> Optional[Event]:
    """The event a received message carries, or ``None`` for an ordinary message.

    A message whose ``e`` names a built-in event is an ordinary message. An
    event whose body is not a JSON array has that body as its one argument.
    """
    name = annotations.get("e")
    if not name or name in BUILTIN:
        return None
    args = message if isinstance(message, list) else [message]
    return Event(name, args, _callback_id(annotations.get("c")))


def read_answer(message: Any, annotations: Dict[str, Optional[str]]) -> Optional[Answer]:
    """The answer a received message carries, or ``None``."""
    if "ca" not in annotations:
        return None
    callback = _callback_id(annotations["ca"])
    if callback is None:
        return None
    return Answer(callback, message if isinstance(message, list) else [message])


class Callbacks:
    """A sender's callbacks waiting for answers: bounded, forgotten when its session ends."""

    __slots__ = ("_waiting", "_next", "limit")

    def __init__(self, limit: int = MAX_CALLBACKS) -> None:
        self._waiting: "OrderedDict[int, Callable[..., Any]]" = OrderedDict()
        self._next = 0
        self.limit = limit

    def add(self, fn: Callable[..., Any]) -> Tuple[int, Optional[Callable[..., Any]]]:
        """Keep ``fn``; ``(its id, the callback dropped to make room or None)``."""
        if not callable(fn):
            raise TypeError("callback is not callable: %r" % (fn,))
        self._next += 1
        dropped = None
        if len(self._waiting) >= self.limit:
            _, dropped = self._waiting.popitem(last=False)
        self._waiting[self._next] = fn
        return self._next, dropped

    def pop(self, callback: int) -> Optional[Callable[..., Any]]:
        return self._waiting.pop(callback, None)

    def clear(self) -> None:
        self._waiting.clear()

    def __len__(self) -> int:
        return len(self._waiting)
