"""Relayed requests on gevent: any request for any session, on any process.

A request whose session id names another process (``protocol.relay``) is
not answered here: this process (the *edge*) takes the client's socket, as
an upgrade does, and tunnels the request's head and every byte after it to
the owner through Redis. The owner opens a socket pair, serves one end with
its own pywsgi handler (so the request is its own code's, exactly as if the
client had connected to it) and sends back what that handler writes.

Why bytes and not sessions: every transport, dialect, heartbeat, timeout
and error answer is then the owner's, unchanged, and a new transport needs
no relay code. A client that hangs up at the edge is an end of file at the
owner, which handles it as it handles its own clients: a held poll takes
nothing from the queue, so the messages wait for the next request.

Both directions keep at most ``WINDOW`` bytes in flight (the receiver
reports what it wrote), so a slow client or a fast uploader holds bounded
memory here, in Redis and at the owner. A tunnel whose peer process dies
(its alive key lapses) is ended within a few seconds; a request for the
session of a process that is not among the bus's live members (dead, or a
made-up id) gets 404 at once (the client opens a new session), and one that
Redis cannot carry gets 503 at once.
"""
from __future__ import annotations

import collections
import secrets
import socket as _stdsocket
from typing import TYPE_CHECKING, Any, Deque, Dict, Optional, Set, Tuple

import gevent
from gevent import socket as gsocket
from gevent.event import Event

from ..protocol.relay import (CHUNK, WINDOW, RelayEntry, RelayError, TunnelSeq, entry, owner_of, plain_answer,
                              read_entry, relay_head)
from .connection import take_socket
from .gate import TICKET_KEY, CountedSocket
from .loop import call_later
from .peer import SOCKET_KEY, peek
from .throttle import Throttled

if TYPE_CHECKING:  # pragma: no cover
    from .middleware import SocketIOMiddleware
    from .redis_backend import RedisBackend

__all__ = ["Relay", "Tunnel", "Forward"]

#: Seconds the edge waits for the owner to accept a tunnel before it asks
#: Redis whether the owner is alive.
ACCEPT_TIMEOUT = 2.0
#: Seconds after which an owner that has sent nothing yet (a held poll, a
#: quiet stream) says it accepted; a quick answer says so by itself, one
#: Redis entry fewer per request.
ACCEPT_AFTER = 0.3
#: Seconds between checks that the processes at the other end of open tunnels live.
SWEEP_EVERY = 2.0


class Tunnel:
    """One relayed request's bytes, both ways, between a socket here and its twin there."""

    __slots__ = ("relay", "rid", "peer", "sock", "_out", "_in", "sent", "acked", "written", "reported",
                 "_window", "_inbox", "_ready", "accepted", "ended", "why", "write_timeout", "status")

    def __init__(self, relay: "Relay", rid: bytes, peer: bytes, sock: Any, write_timeout: float) -> None:
        self.relay = relay
        self.rid = rid
        self.peer = peer
        self.sock = sock
        self.write_timeout = write_timeout
        self._out = 0
        self._in = TunnelSeq()
        #: Bytes sent to the peer, and how many of them it reported written.
        self.sent = 0
        self.acked = 0
        #: Bytes of the peer's written to our socket, and the last count we reported.
        self.written = 0
        self.reported = 0
        self._window = Event()
        self._window.set()
        self._inbox: Deque[RelayEntry] = collections.deque()
        self._ready = Event()
        self.accepted = Event()
        self.ended = False
        self.why = ""
        #: The first line the peer's bytes began with (the owner's status line, at the edge).
        self.status = ""

    def send(self, kind: bytes, **fields: bytes) -> bool:
        self._out += 1
        if self.relay.backend.send_to(self.peer, entry(kind, self.rid, self._out, **fields)):
            return True
        self.abort("message bus buffer full")
        return False

    def receive(self, item: RelayEntry) -> None:
        """In the bus reader: never blocks."""
        verdict = self._in.accept(item.seq)
        if verdict is None:
            return  # a copy of one already taken
        if verdict is False:
            self.abort("relay entries lost")
            return
        self.accepted.set()  # anything from the peer says it took the tunnel
        kind = item.kind
        if kind == b"w":
            try:
                self.acked = int(item.fields[b"c"])
            except (KeyError, ValueError):
                self.abort("malformed window entry")
                return
            self._window.set()
        elif kind == b"a":
            pass
        elif kind == b"x":
            self.abort("ended by the other process")
        else:
            self._inbox.append(item)
            self._ready.set()

    def feed(self, data: bytes) -> None:
        """Bytes for our socket that did not come as a data entry (the owner's head)."""
        self._inbox.append(RelayEntry(b"d", self.rid, 0, {b"d": data}))
        self._ready.set()

    def abort(self, why: str) -> None:
        """End both directions now; closing the socket wakes whoever waits on it."""
        if not self.ended:
            self.ended = True
            self.why = why
            try:
                self.sock.close()
            except OSError:
                pass
        self._window.set()
        self._ready.set()
        self.accepted.set()

    def upstream(self, first: bytes = b"") -> None:
        """Our socket's bytes to the peer, ``WINDOW`` at most in flight, then its end."""
        sock = self.sock
        try:
            if first:
                self.sent += len(first)
                if not self.send(b"d", d=first):
                    return
            while not self.ended:
                while self.sent - self.acked >= WINDOW and not self.ended:
                    self._window.clear()
                    self._window.wait()
                if self.ended:
                    return
                try:
                    data = sock.recv(CHUNK)
                except OSError:
                    data = b""
                if not data:
                    self.send(b"e")
                    return
                self.sent += len(data)
                if len(data) < CHUNK and _at_end(sock):  # the answer and its end: one entry
                    self.send(b"d", d=data, z=b"1")
                    return
                if not self.send(b"d", d=data):
                    return
        except gevent.GreenletExit:
            pass

    def downstream(self) -> bool:
        """The peer's bytes to our socket until the peer's end (``True``) or an abort (``False``)."""
        sock = self.sock
        inbox = self._inbox
        while True:
            if not inbox:
                if self.ended:
                    return False
                self._ready.clear()
                self._ready.wait()
                continue
            item = inbox.popleft()
            if item.kind == b"e":
                return True
            if item.kind == b"o":
                continue  # a copy of the open, answered already
            data = item.fields.get(b"d", b"")
            if not self.written and not self.status:
                self.status = data[:200].split(b"\r\n", 1)[0].decode("latin-1")
            try:
                with gevent.Timeout(self.write_timeout):
                    sock.sendall(data)
            except (OSError, gevent.Timeout):
                self.send(b"x")
                self.abort("our side's socket failed")
                return False
            self.written += len(data)
            if b"z" in item.fields:
                return True  # the peer's last bytes
            if self.written - self.reported >= WINDOW // 4:
                self.reported = self.written
                self.send(b"w", c=b"%d" % self.written)


class Forward:
    """What ``serve_route`` returns for a session of another process: the
    handler runs it in place of writing a response (``SocketIOHandler.process_result``)."""

    __slots__ = ("relay", "owner")

    def __init__(self, relay: "Relay", owner: bytes) -> None:
        self.relay = relay
        self.owner = owner

    def __iter__(self) -> Any:
        return iter(())

    def run(self, handler: Any) -> str:
        """Tunnel the handler's request; the status (``200 OK``) for its access log."""
        return self.relay.forward(self.owner, handler)


class Relay:
    """The tunnels of one middleware, on a Redis backend."""

    def __init__(self, middleware: "SocketIOMiddleware", backend: "RedisBackend") -> None:
        self.middleware = middleware
        self.backend = backend
        self.log = middleware.listener.log
        self.tunnels: Dict[bytes, Tunnel] = {}
        self._sweeper: Optional[gevent.Greenlet] = None
        self._refused = Throttled(10.0)
        backend.on_relay = self.take
        middleware.sessions.sid_prefix = backend.origin.decode()
        middleware.listener.on("close", self.close)

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = gevent.spawn(self._sweep)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.kill(block=False)
            self._sweeper = None
        for tunnel in list(self.tunnels.values()):
            tunnel.abort("server closed")

    # -- routing -------------------------------------------------------------
    def route(self, sid: str) -> Optional[Forward]:
        """A :class:`Forward` if ``sid`` is a session of another live process, else
        ``None`` (answered here: unknown session). While Redis is away the
        request is forwarded, to be answered 503."""
        owner = owner_of(sid, self.backend.origin)
        if owner is None:
            return None
        if self.backend.writing and owner not in self.backend.members and not self._lives(owner):
            return None
        return Forward(self, owner)

    def _lives(self, owner: bytes) -> bool:
        """An owner missing from the members the writer last read: one that
        started since (up to a second ago), or a dead or made-up one. One
        ``EXISTS`` tells; no tunnel is opened and nothing waits."""
        try:
            return self.backend.alive([owner]).get(owner, False)
        except Exception:  # noqa: BLE001 (Redis failing: forwarded, the forward answers 503)
            return True

    # -- the edge --------------------------------------------------------------
    def forward(self, owner: bytes, handler: Any) -> str:
        self.start()
        raw, early = take_socket({SOCKET_KEY: handler.raw_socket, "wsgi.input": handler.rfile,
                                  TICKET_KEY: handler.ticket})
        ticket = None
        if isinstance(raw, CountedSocket):
            ticket, raw.ticket = raw.ticket, None  # released when the tunnel ends
        sock = gsocket.socket(raw.family, raw.type, raw.proto, raw.detach())
        try:
            return self._forward(owner, handler, sock, early)
        finally:
            sock.close()
            if ticket is not None:
                ticket.release()

    def _forward(self, owner: bytes, handler: Any, sock: Any, early: bytes) -> str:
        if not self.backend.writing:
            self._refuse("Redis is unreachable")
            return self._answer(sock, 503, "the process that owns this session cannot be reached", retry_after=1)
        head = relay_head(handler.requestline, handler.headers.pairs)
        rid = secrets.token_urlsafe(12).encode()
        options = self.middleware.listener.options
        tunnel = Tunnel(self, rid, owner, sock, options.write_timeout)
        self.tunnels[rid] = tunnel
        address = handler.client_address
        where = ("%s:%s" % (address[0], address[1]) if isinstance(address, tuple) and len(address) >= 2
                 else "").encode()
        pump: Optional[gevent.Greenlet] = None
        try:
            if not tunnel.send(b"o", f=self.backend.origin, h=head, a=where):
                return self._answer(sock, 503, "the message bus is full", retry_after=1)
            pump = gevent.spawn(tunnel.upstream, early)
            if not tunnel.accepted.wait(ACCEPT_TIMEOUT) or (tunnel.ended and not tunnel._inbox):
                return self._unanswered(sock, owner, tunnel)
            complete = tunnel.downstream()
            if not complete:
                self.log.info("relayed request for a session of %s ended: %s", owner.decode(), tunnel.why)
            status = tunnel.status.partition(" ")[2]
            return status or "502 no answer from the owner"
        finally:
            tunnel.abort("done")
            self.tunnels.pop(rid, None)
            if pump is not None:
                pump.kill(block=False)

    def _unanswered(self, sock: Any, owner: bytes, tunnel: Tunnel) -> str:
        """The owner did not accept: dead (404, the client starts a new session) or unreachable (503)."""
        try:
            alive = self.backend.alive([owner]).get(owner, False)
        except Exception as error:  # noqa: BLE001 (Redis itself failing: the client retries)
            self._refuse("Redis: %s" % error)
            return self._answer(sock, 503, "the process that owns this session cannot be reached", retry_after=1)
        if not alive:  # it died since the writer last looked
            return self._answer(sock, 404, "unknown or expired session")
        tunnel.send(b"x")
        self._refuse("the owner of a session did not answer within %s s" % ACCEPT_TIMEOUT)
        return self._answer(sock, 503, "the process that owns this session is busy", retry_after=1)

    def _answer(self, sock: Any, status: int, reason: str, retry_after: Optional[int] = None) -> str:
        try:
            with gevent.Timeout(self.middleware.listener.options.write_timeout):
                sock.sendall(plain_answer(status, reason, retry_after))
        except (OSError, gevent.Timeout):
            pass
        return "%d %s" % (status, reason)

    def _refuse(self, why: str) -> None:
        count = self._refused.note()
        if count:
            self.log.warning("relayed request(s) refused (%d): %s", count, why)

    # -- the owner -------------------------------------------------------------
    def take(self, fields: Dict[bytes, bytes]) -> None:
        """One entry from this process's inbox (in the bus reader: never blocks)."""
        try:
            item = read_entry(fields)
        except RelayError as error:
            self.log.warning("relay: skipped an entry: %s", error)
            return
        tunnel = self.tunnels.get(item.rid)
        if tunnel is not None:
            tunnel.receive(item)
        elif item.kind == b"o" and item.seq == 1:
            self._open(item)

    def _open(self, item: RelayEntry) -> None:
        server = self.middleware.listener.server
        peer = item.fields.get(b"f")
        head = item.fields.get(b"h")
        if peer is None or head is None:
            self.log.warning("relay: an open entry without its sender or head")
            return
        if server is None:
            self.log.warning("relay: a request for one of our sessions, but no server to serve it on")
            self.backend.send_to(peer, entry(b"x", item.rid, 1))
            return
        self.start()
        ours, theirs = gsocket.socketpair(_stdsocket.AF_UNIX, _stdsocket.SOCK_STREAM)
        tunnel = Tunnel(self, item.rid, peer, theirs, self.middleware.listener.options.write_timeout)
        tunnel.receive(item)  # entry 1, the open: the edge's next entry is 2
        tunnel.feed(head)  # the first bytes the handler reads
        self.tunnels[item.rid] = tunnel
        call_later(ACCEPT_AFTER, _accept_if_silent, tunnel)
        gevent.spawn(self._serve_owned, tunnel, ours, _address(item.fields.get(b"a", b"")), server)

    def _serve_owned(self, tunnel: Tunnel, ours: Any, address: Tuple[str, int], server: Any) -> None:
        """Our handler serves one end of the pair; the tunnel carries the other.
        Done when the handler has written its answer and closed its end."""
        handling = gevent.spawn(_handle_quietly, server, ours, address)
        inbound = gevent.spawn(self._owned_inbound, tunnel)
        try:
            tunnel.upstream()  # the handler's bytes to the edge, to their end
        finally:
            tunnel.abort("done")
            inbound.kill(block=False)
            handling.join(timeout=1)
            if not handling.dead:
                handling.kill(block=False)
            self.tunnels.pop(tunnel.rid, None)

    @staticmethod
    def _owned_inbound(tunnel: Tunnel) -> None:
        """The client's bytes to the handler; its end of file, as the handler would see it."""
        if tunnel.downstream():
            try:
                tunnel.sock.shutdown(_stdsocket.SHUT_WR)
            except OSError:
                pass

    # -- both ------------------------------------------------------------------
    def _sweep(self) -> None:
        """End the tunnels whose other process died (its alive key lapsed)."""
        while True:
            gevent.sleep(SWEEP_EVERY)
            # A tunnel not yet accepted is the edge's to judge (``_unanswered``).
            peers: Set[bytes] = {tunnel.peer for tunnel in self.tunnels.values() if tunnel.accepted.is_set()}
            if not peers:
                continue
            try:
                alive = self.backend.alive(sorted(peers))
            except Exception:  # noqa: BLE001 (Redis away: the bus's own warnings say so)
                continue
            for tunnel in list(self.tunnels.values()):
                if tunnel.accepted.is_set() and not alive.get(tunnel.peer, True):
                    tunnel.abort("the other process died")


def _at_end(sock: Any) -> bool:
    """Has the other end closed, with nothing more to read?"""
    try:
        return peek(sock) == b""
    except OSError:  # the next recv reports it
        return False


def _accept_if_silent(tunnel: Tunnel) -> None:
    """The owner's "accepted", if it has sent nothing else yet (the edge waits for one or the other)."""
    if not tunnel.ended and tunnel._out == 0:
        tunnel.send(b"a")


def _address(text: bytes) -> Tuple[str, int]:
    host, _, port = text.decode("ascii", "replace").rpartition(":")
    try:
        return host or "0.0.0.0", int(port)
    except ValueError:
        return "0.0.0.0", 0


def _handle_quietly(server: Any, sock: Any, address: Tuple[str, int]) -> None:
    try:
        server.handle(sock, address)
    finally:
        try:
            sock.close()
        except OSError:
            pass
