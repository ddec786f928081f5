"""``max_connections``: how many sockets one listener keeps open at once.

Why a count of our own: past the process's file-descriptor limit ``accept``
fails, and then every new client, the log file and the Redis connection
fail with it. The gate refuses a connection while there are still
descriptors to spare, with an answer the client can read (``503`` and
``Retry-After``) and one log line a minute, like ``max_sessions``.

A connection holds a :class:`Ticket` from accept to close. A WebSocket
upgrade takes the socket away from pywsgi (:func:`~socketio_gevent.edge.connection.take_socket`);
its ticket moves with it and is given back when that socket closes.

Why at accept, not when the handler starts: in a burst gevent accepts
connections faster than their greenlets first run (half the descriptors
of a 4,000-connection burst belonged to handlers not yet started), so a
count taken by the handler lets the process run out of descriptors before
it refuses anyone. :meth:`ConnectionGate.watch` counts in the server's
accept loop, and a connection past the limit is answered and closed there,
without a greenlet.
"""
from __future__ import annotations

import os
import resource
import socket as _stdsocket
from typing import TYPE_CHECKING, Any, Dict, Optional

from gevent import monkey

from .throttle import Throttled

__all__ = ["ConnectionGate", "Ticket", "CountedSocket", "TICKET_KEY", "default_max_connections", "BUSY", "refuse"]

#: Where the handler puts the request's ticket in the environ.
TICKET_KEY = "socketio_gevent.ticket"

_BODY = b"too many connections: try again later\n"
#: The whole answer to a refused connection: written before anything is read.
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        b"Content-Length: %d\r\nRetry-After: 5\r\nConnection: close\r\n"
        b"X-Content-Type-Options: nosniff\r\n\r\n" % len(_BODY)) + _BODY


def default_max_connections() -> int:
    """The soft descriptor limit less a reserve (1 %, at least 128).

    The reserve is for what else the process opens (log files, Redis, the
    listening sockets) and for a refused connection between its accept and
    its close (answered in the same loop turn).
    """
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 1 << 20
    return max(16, soft - max(128, soft // 100))


class ConnectionGate:
    """Counts the open connections of one listener."""

    __slots__ = ("limit", "count", "log", "_refused", "_accepted")

    def __init__(self, limit: int, log: Any) -> None:
        self.limit = limit
        self.count = 0
        self.log = log
        self._refused = Throttled()
        #: Tickets taken at accept, by descriptor, until the handler claims them.
        self._accepted: Dict[int, Ticket] = {}

    def watch(self, server: Any) -> None:
        """Count ``server``'s connections in its accept loop (once per server).

        Wraps the gevent server's ``do_handle``, which runs for each accepted
        socket before its greenlet is spawned.
        """
        if getattr(server, "_socketio_gate", None) is self:
            return
        server._socketio_gate = self
        handle = server.do_handle
        accepted = self._accepted

        def do_handle(sock: Any, address: Any) -> None:
            ticket = self.enter()
            if ticket is None:
                refuse(sock)
                return
            fileno = sock.fileno()
            stale = accepted.get(fileno)
            if stale is not None:  # its handler never ran (killed with the server): the place is free
                stale.release()
            accepted[fileno] = ticket
            try:
                handle(sock, address)
            except BaseException:
                accepted.pop(fileno, None)
                ticket.release()
                raise

        server.do_handle = do_handle

    def claim(self, sock: Any) -> Optional["Ticket"]:
        """The ticket ``sock`` got at accept; for a socket accepted before
        :meth:`watch` (or by a server not watched), one taken now."""
        ticket = self._accepted.pop(sock.fileno(), None)
        return ticket if ticket is not None else self.enter()

    def enter(self) -> Optional["Ticket"]:
        """A ticket for a new connection, or ``None`` (then answer :data:`BUSY`)."""
        if self.count < self.limit:
            self.count += 1
            return Ticket(self)
        refused = self._refused.note()
        if refused:
            self.log.warning("refused %d connection(s): max_connections (%d) are open", refused, self.limit)
        return None


def refuse(sock: Any) -> None:
    """Answer :data:`BUSY` and close, never blocking (it runs in the accept loop).

    What the client already sent is read first: closing over unread bytes
    would reset the connection and take the answer with it.
    """
    fileno = sock.fileno()
    try:
        os.write(fileno, BUSY)  # a fresh socket's send buffer holds it whole
        os.read(fileno, 65536)
    except OSError:
        pass  # nothing sent yet (EAGAIN), or the client is gone
    try:
        sock.shutdown(_stdsocket.SHUT_WR)
    except OSError:
        pass
    sock.close()


class Ticket:
    """One connection's place at the gate; :meth:`release` is idempotent."""

    __slots__ = ("gate", "moved")

    def __init__(self, gate: ConnectionGate) -> None:
        self.gate: Optional[ConnectionGate] = gate
        #: The socket was taken over by an upgrade: its close releases this.
        self.moved = False

    def release(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.count -= 1


if TYPE_CHECKING:  # pragma: no cover
    _Socket = _stdsocket.socket
else:
    # The C-level socket class even after gevent.monkey.patch_all() (which
    # gunicorn's workers and any redis-py user run before importing us):
    # patched, ``socket.socket`` is gevent's Python wrapper, and every write
    # of an upgraded socket went through it (10 % of a broadcast's CPU).
    _Socket = monkey.get_original("socket", "socket")


class CountedSocket(_Socket):
    """A taken-over socket that gives its ticket back when closed."""

    __slots__ = ("ticket",)

    def __init__(self, family: int, kind: int, proto: int, fileno: int, ticket: Optional[Ticket]) -> None:
        super().__init__(family, kind, proto, fileno)
        self.ticket = ticket

    def close(self) -> None:
        ticket, self.ticket = self.ticket, None
        if ticket is not None:
            ticket.release()
        super().close()

    def __del__(self) -> None:  # dropped without close (a bug elsewhere): the count still returns
        ticket, self.ticket = getattr(self, "ticket", None), None
        if ticket is not None:
            ticket.release()
