"""The events every WebSocket codec yields (docs/protocol.rst §4.3).

Contract shared by all dialects:

- ``Text`` / ``Binary``: one whole message (fragments already joined, text
  already validated as UTF-8).
- ``Ping``: the runner answers with ``codec.send_pong(payload)``.
- ``Pong``: informational.
- ``Close``: the peer closed. ``reply`` holds the bytes to write back (the
  dialect's close answer, possibly empty); then the TCP connection is closed.
- ``Failed``: the input broke the protocol or a limit. ``reply`` holds the
  dialect's error close (RFC 6455: a close frame with ``code``; hybi-03: a
  close frame with an empty body; hixie-76: ``FF 00``; hixie-75: nothing);
  the runner writes it and closes TCP. ``code`` is the RFC 6455 close code
  that names the failure (1002 protocol, 1007 bad UTF-8, 1009 too big) on
  every dialect, for logs.

After ``Close`` or ``Failed`` a codec yields nothing more.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union


class _Event:
    """Immutable by convention; plain slots because one is made per message
    (a frozen dataclass's ``__init__`` cost 3 % of an echo profile)."""

    __slots__ = ()

    def _fields(self) -> Tuple[object, ...]:
        names: Tuple[str, ...] = self.__slots__
        return tuple(getattr(self, name) for name in names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Event) and type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        names: Tuple[str, ...] = self.__slots__
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in names))


class Text(_Event):
    __slots__ = ("data",)

    def __init__(self, data: str) -> None:
        self.data = data


class Binary(_Event):
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Ping(_Event):
    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Pong(_Event):
    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Close(_Event):
    __slots__ = ("code", "reason", "reply")

    def __init__(self, code: Optional[int], reason: str, reply: bytes) -> None:
        #: ``None`` when the peer's close carried no code (or the dialect has none).
        self.code = code
        self.reason = reason
        self.reply = reply


class Failed(_Event):
    __slots__ = ("code", "reason", "reply")

    def __init__(self, code: int, reason: str, reply: bytes) -> None:
        self.code = code
        self.reason = reason
        self.reply = reply


Event = Union[Text, Binary, Ping, Pong, Close, Failed]
