"""Relayed requests: a request for a session of another process, carried to it.

Sessions live in the process that created them (their handlers run there);
a session id starts with that process's name on the bus. A request that a
load balancer sends elsewhere is *tunnelled* to the owner: the process that
received it (the edge) sends the request's head and then every byte of the
client's connection; the owner serves them on a socket pair with its own
handler, exactly as a local request, and its bytes come back the same way.
Every transport, dialect, timeout, heartbeat and error is thereby the
owner's own code; nothing about a session is copied between processes.

This module is the sans-IO half: the entries of one tunnel, the head the
owner is given, the edge's own answers when the owner cannot be reached.

Entries (flat ``{bytes: bytes}`` maps, sent to ``<channel>:relay:<process>``):

- ``k`` kind: ``o`` open (edge to owner: ``f`` the edge's name, ``h`` the
  head, ``a`` the client's address), ``a`` accepted (owner to edge), ``d``
  data, ``e`` end of this direction's bytes, ``w`` window (``c``: bytes the
  sender has written to its socket so far), ``x`` abort.
- ``i`` the tunnel's id, ``n`` its sequence number in that direction
  (1, 2, 3…): a copy (a write retried after its answer was lost) is
  dropped, a gap (an entry lost) aborts the tunnel, never corrupts it.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

__all__ = ["ORIGIN_LENGTH", "owner_of", "relay_head", "RelayEntry", "TunnelSeq", "entry", "read_entry",
           "plain_answer", "RelayError"]

#: Characters of a process's name at the start of the ids of its sessions.
ORIGIN_LENGTH = 12
#: Bytes a sender may have in flight before the receiver reports them written:
#: a slow client (or a fast one) holds at most this much in Redis and in memory.
WINDOW = 256 * 1024
#: Bytes per data entry.
CHUNK = 64 * 1024
_ID_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

#: Hop-by-hop headers the edge drops: the tunnel is its own connection.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})

Entry = Dict[bytes, bytes]


class RelayError(ValueError):
    """An entry that is not a tunnel's (another program, or another version)."""


def owner_of(sid: str, own: bytes) -> Optional[bytes]:
    """The process that owns session ``sid`` if it is another one, else ``None``.

    ``None`` for our own sessions and for ids that name no process (those
    are answered here: unknown session).
    """
    if len(sid) <= ORIGIN_LENGTH:
        return None
    origin = sid[:ORIGIN_LENGTH].encode("ascii", "replace")
    if origin == own or not _ID_CHARS.issuperset(origin):
        return None
    return origin


def relay_head(request_line: str, headers: Sequence[Tuple[str, str]]) -> bytes:
    """The head the owner serves: as received, but for one request only.

    A plain request gets ``Connection: close`` (the owner's answer then ends
    with its connection, and the edge knows it is complete without parsing
    it); an upgrade keeps ``Connection``/``Upgrade`` as sent.
    """
    names = {name.lower(): value for name, value in headers}
    upgrade = "upgrade" in names and "upgrade" in names.get("connection", "").lower()
    lines: List[str] = [request_line.rstrip("\r\n")]
    for name, value in headers:
        lower = name.lower()
        if lower in _HOP_BY_HOP and not (upgrade and lower in ("connection", "upgrade")):
            continue
        lines.append("%s: %s" % (name, value))
    if not upgrade:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def plain_answer(status: int, reason: str, retry_after: Optional[int] = None) -> bytes:
    """A complete HTTP/1.1 answer the edge writes itself (the owner is gone or unreachable)."""
    body = (reason + "\n").encode("utf-8")
    phrase = {404: "Not Found", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    head = ["HTTP/1.1 %d %s" % (status, phrase), "Content-Type: text/plain; charset=UTF-8",
            "Content-Length: %d" % len(body), "X-Content-Type-Options: nosniff", "Connection: close"]
    if retry_after is not None:
        head.append("Retry-After: %d" % retry_after)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class RelayEntry(NamedTuple):
    kind: bytes
    rid: bytes
    seq: int
    fields: Mapping[bytes, bytes]


def entry(kind: bytes, rid: bytes, seq: int, **fields: bytes) -> Entry:
    """One entry of tunnel ``rid``; ``fields`` by their one-letter names (``d=``, ``h=``…)."""
    out: Entry = {b"k": kind, b"i": rid, b"n": b"%d" % seq}
    for name, value in fields.items():
        out[name.encode()] = value
    return out


def read_entry(fields: Mapping[bytes, bytes]) -> RelayEntry:
    try:
        kind = fields[b"k"]
        rid = fields[b"i"]
        seq = int(fields[b"n"])
    except (KeyError, ValueError):
        raise RelayError("not a tunnel entry") from None
    if kind not in (b"o", b"a", b"d", b"e", b"w", b"x"):
        raise RelayError("unknown tunnel entry kind %r" % (kind,))
    return RelayEntry(kind, rid, seq, fields)


class TunnelSeq:
    """The receiving side's order check for one tunnel direction."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = 0

    def accept(self, seq: int) -> Optional[bool]:
        """``True``: the next entry, take it; ``None``: a copy, drop it;
        ``False``: entries were lost, the tunnel must end."""
        if seq <= self.last:
            return None
        if seq != self.last + 1:
            return False
        self.last = seq
        return True
