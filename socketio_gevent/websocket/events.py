"""The events every WebSocket codec yields (PROTOCOL.md §4.3).

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

from dataclasses import dataclass
from typing import Optional, Union


@dataclass(frozen=True)
class Text:
    data: str


@dataclass(frozen=True)
class Binary:
    data: bytes


@dataclass(frozen=True)
class Ping:
    payload: bytes


@dataclass(frozen=True)
class Pong:
    payload: bytes


@dataclass(frozen=True)
class Close:
    #: ``None`` when the peer's close carried no code (or the dialect has none).
    code: Optional[int]
    reason: str
    reply: bytes


@dataclass(frozen=True)
class Failed:
    code: int
    reason: str
    reply: bytes


Event = Union[Text, Binary, Ping, Pong, Close, Failed]

# RFC 6455 §7.4.1 close codes used across the package.
NORMAL = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
UNSUPPORTED_DATA = 1003
INVALID_DATA = 1007
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011
