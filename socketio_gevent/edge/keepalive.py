"""Keep-alive polling connections served by the loop, not by a greenlet each.

Why: a long-polling client makes one request per delivery. Under pywsgi
each of them costs its connection's greenlet four switches (the request
arrives, the poll waits, the poll is woken, the connection waits for the
next request) and pywsgi's per-request loop around the lean path
(:mod:`~socketio_gevent.edge.lean`). Here, once a connection has been
answered on the lean path, its socket is taken from pywsgi as an upgrade
takes it, and becomes a read watcher of the reactor
(:mod:`~socketio_gevent.edge.reactor`):

- a request that arrives is parsed from the bytes read
  (:func:`~socketio_gevent.protocol.request_headers.parse_head`) and served
  by a reactor worker, through the same middleware route as on pywsgi;
- a poll with nothing to carry is held by its session as a plain object
  (:class:`HeldPoll`): when the session wakes it, its answer is written
  from the hub, in the loop turn after the broadcast, with every other
  poll that broadcast woke, and no greenlet runs for it.

Only the common case is served here: a whole lean HTTP/1.1 request, head
and body, in the bytes read. Anything else (a request that is not lean, a
head or a body still on its way, an HTTP error to answer) goes back to
pywsgi with the bytes read so far, on a new handler greenlet, which answers
exactly as it does on a new connection; so every HTTP rule and limit of the
handler still holds.
"""
from __future__ import annotations

import io
import socket as _stdsocket
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional, Tuple

import gevent
from gevent import socket as gsocket

from ..protocol.outbox import FrameCache, Item
from ..protocol.request_headers import Head, parse_head
from .connection import ReceiveBuffer, detach_socket
from .gate import CountedSocket
from .lean import LeanRequest, answer_bytes, internal_error, lean_environ
from .loop import close_watcher, load_gate, per_hub
from .polling import HELD, HOLD_KEY, payload_of
from .reactor import Watch, dispatcher

if TYPE_CHECKING:  # pragma: no cover
    from .handler import SocketIOHandler
    from .lean import LeanPath
    from .sessions import LiveSession

#: Bytes a client may send while its poll is held or its answer is still
#: being written (a pipelined request): past this the connection closes.
MAX_PENDING = 65536 + 4096
#: The longest header block a kept connection remembers for its next poll (a
#: browser's is one or two KiB): a peer's 64 KiB heads are read, not kept.
MAX_KEPT_BLOCK = 8192


class HeldPoll:
    """A poll the loop holds: its session's connection while it waits."""

    __slots__ = ("transport", "ended", "frames", "_owner")

    def __init__(self, transport: str, owner: "KeepAlive") -> None:
        self.transport = transport
        #: The session let go of this poll, or its client hung up.
        self.ended = False
        #: Frames for this poll alone (a heartbeat, an ack).
        self.frames: Optional[str] = None
        self._owner = owner

    def wake(self) -> None:
        self._owner.woken(self)

    def end(self, reason: str) -> None:
        self.ended = True
        self._owner.woken(self)

    def offer(self, item: Item, frames: Optional[FrameCache]) -> bool:
        return False  # an answer carries what is queued when it is written

    def send_frame(self, frame: str) -> None:
        self.frames = frame if self.frames is None else self.frames + frame
        self._owner.woken(self)

    def hung_up(self) -> bool:
        return self.ended

    def abort(self) -> None:
        """Cut the poll's connection (server side); the session keeps its queue."""
        self._owner.abort()

    def take_frames(self) -> str:
        frames, self.frames = self.frames, None
        return frames or ""


class _Hub:
    """What the kept connections of one hub share: the receive buffer, the
    reactor, and the polls woken since the hub last looked at them (one loop
    callback for all that one broadcast woke, not one each)."""

    __slots__ = ("loop", "buffer", "dispatcher", "woken", "_pending")

    def __init__(self) -> None:
        self.loop = gevent.get_hub().loop
        self.buffer = per_hub(ReceiveBuffer)
        self.dispatcher = dispatcher()
        self.woken: List[Any] = []
        self._pending = False

    def look_later(self, connection: "KeepAlive", poll: HeldPoll) -> None:
        self.woken.append((connection, poll))
        if not self._pending:
            self._pending = True
            self.loop.run_callback(self._look)

    def _look(self) -> None:
        self._pending = False
        woken, self.woken = self.woken, []
        for connection, poll in woken:
            try:
                connection.look(poll)
            except Exception:  # a bug in one answer must not strand the others
                connection.path.log.exception("answering a held poll failed")
                connection.close()


class _Prefixed(io.RawIOBase):
    """A socket's reader that first gives back the bytes already read from it."""

    def __init__(self, data: bytes, sock: Any) -> None:
        super().__init__()
        self._data = data
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._data
        if data:
            n = min(len(buffer), len(data))
            buffer[:n] = data[:n]
            self._data = data[n:]
            return n
        return self._sock.recv_into(buffer)  # type: ignore[no-any-return]


def park(handler: "SocketIOHandler", path: "LeanPath") -> None:
    """Take ``handler``'s connection from pywsgi, between two requests, for the loop."""
    sock, early = detach_socket(handler.raw_socket, handler.rfile, handler.ticket)
    KeepAlive(path, handler, sock, early)


class KeepAlive:
    """One keep-alive connection between lean requests, or holding a poll."""

    __slots__ = ("path", "server", "address", "handler_class", "sock", "_watch", "_pending", "_poll", "_session",
                 "_finish", "_coalesce", "_coalesced", "_scheduled", "_out", "_writer", "_closing", "_closed",
                 "_serving", "_idle", "_idle_since", "_expiry", "_expiry_after", "_logged", "_started", "_hub", "_head",
                 "_scheme", "_access_log")

    def __init__(self, path: "LeanPath", handler: "SocketIOHandler", sock: CountedSocket, early: bytes) -> None:
        self.path = path
        self.server = handler.server
        self.address = handler.client_address
        self.handler_class = type(handler)
        self.sock = sock
        #: The server's URL scheme and access log (None: it logs nothing), read once, not per request.
        self._scheme = path.url_scheme(self.server)
        self._access_log = path.access_log(self.server)
        #: Bytes read and not served yet.
        self._pending = early
        #: The poll held, with its session, its answer's maker and its coalescing cap
        #: (``_coalesced``: it waits for the cap now).
        self._poll: Optional[HeldPoll] = None
        self._session: Optional["LiveSession"] = None
        self._finish: Optional[Callable[[Optional[str]], Iterable[bytes]]] = None
        self._coalesce = 0.0
        self._coalesced = False
        #: A look at the held poll is due in the hub.
        self._scheduled = False
        #: Bytes of an answer the socket has not taken yet.
        self._out = bytearray()
        self._writer: Any = None
        #: Close once the answer being written is out.
        self._closing = False
        self._closed = False
        #: A worker is in :meth:`_serve`.
        self._serving = False
        self._hub = hub = per_hub(_Hub)
        #: The idle timer, when one is running, and since when the connection is idle (None: busy).
        self._idle: Any = None
        self._idle_since: Optional[float] = None
        self._expiry: Any = None
        self._expiry_after: Optional[float] = None
        #: The access-log line of the request held (its line and start), if the server logs.
        self._logged: Any = None
        #: Where the request being served puts its status and headers (``start_response``).
        self._started: List[Any] = []
        #: The last head read: the next one's headers are its own if they are the same bytes.
        self._head: Optional[Head] = None
        path.parked.add(self)
        self._watch: Optional[Watch] = hub.dispatcher.watch(sock.fileno(), self)
        if early:
            hub.dispatcher.readable(self._watch)
        else:
            self._start_idle()

    # -- reading and serving (in a reactor worker) -------------------------
    def on_readable(self) -> None:
        if self._closed:
            return
        buffer = self._hub.buffer
        try:
            count = self.sock.recv_into(buffer.view)
        except BlockingIOError:
            count = -1
        except OSError:
            count = 0
        if count == 0:
            self.close()  # the client is gone; a held poll leaves the queue intact
            return
        if count > 0:
            data = bytes(buffer.view[:count])
            self._pending = self._pending + data if self._pending else data
        if self._poll is not None or self._out:
            if len(self._pending) > MAX_PENDING:
                self.path.log.warning("closed a polling connection that sent %d bytes while its poll was held",
                                      len(self._pending))
                self.close()
            return
        self._serve()

    def _serve(self) -> None:
        """Serve the whole lean requests read, in order; anything else goes to pywsgi."""
        self._stop_idle()
        self._serving = True
        try:
            while self._pending and self._poll is None and not self._out and not self._closing and not self._closed:
                data = self._pending
                head = parse_head(data, self._head)
                self._head = head if head is not None and len(head.block) <= MAX_KEPT_BLOCK else None
                lean = self._lean(head, data) if head is not None else None
                if lean is None:
                    self._hand_back()
                    return
                assert head is not None
                request, end = lean
                self._pending = data[end:]
                self._serve_one(head, request, data[head.size:end])
        finally:
            self._serving = False
        self._settle()

    def _lean(self, head: Head, data: bytes) -> Optional[Tuple[LeanRequest, int]]:
        """The lean request ``head`` starts and where it ends in ``data``, if it
        is one and all of it is there."""
        headers = head.headers
        if head.version != "HTTP/1.1" or (headers.get("connection") or "").lower() == "close":
            return None
        length = headers.get("content-length")
        content_length = int(length) if length is not None else None  # digits: parse_head checked
        request = self.path.route_for(head.method, head.target, headers, content_length)
        end = head.size + (content_length or 0)  # (a GET with a body is not lean)
        if request is None or len(data) < end:
            return None
        return request, end

    def _serve_one(self, head: Head, request: LeanRequest, body: bytes) -> None:
        environ = lean_environ(head.method, request, head.headers, self._scheme, self.sock,
                               self.sock.ticket, io.BytesIO(body) if head.method == "POST" else None, len(body))
        environ[HOLD_KEY] = self.hold
        if self._access_log is not None:
            self._logged = ("%s %s %s" % (head.method, head.target, head.version), time.time())
        started: List[Any] = []
        self._started = started
        result = self.path.serve(request, environ, started, head.method)
        if result is not HELD:
            self._respond(started, result)

    # -- a held poll -------------------------------------------------------
    def hold(self, session: "LiveSession", transport: str, duration: Optional[float], coalesce: float,
             resume: Optional[int], finish: Callable[[Optional[str]], Iterable[bytes]]) -> Any:
        """:data:`~socketio_gevent.edge.polling.Hold`: attach a poll and answer it when it is due."""
        poll = HeldPoll(transport, self)
        session.attach(poll, resume)
        if session.failure is not None:
            return finish(None)
        self._poll, self._session, self._finish = poll, session, finish
        self._coalesce, self._coalesced = coalesce, False
        if duration is not None:
            if self._expiry is None or self._expiry_after != duration:
                close_watcher(self._expiry)
                self._expiry = gevent.get_hub().loop.timer(max(duration, 0.0))
                self._expiry_after = duration
            self._expiry.start(self._due, poll, True)
        self._due(poll)
        return HELD

    def woken(self, poll: HeldPoll) -> None:
        """The session woke ``poll``: look at it in the hub, once per loop turn.

        Not at once: the caller is inside the session (a broadcast), and what
        it queues next in the same run should go in the same answer."""
        if not self._scheduled and poll is self._poll:
            self._scheduled = True
            self._hub.look_later(self, poll)

    def look(self, poll: HeldPoll) -> None:
        self._scheduled = False
        self._due(poll)

    def _due(self, poll: HeldPoll, expired: bool = False) -> None:
        """Answer ``poll`` if it has something to carry (or its time is up);
        a busy server first holds it the coalescing cap (``poll_coalesce``)."""
        if poll is not self._poll:
            return  # answered already
        if self._coalesced and not expired and not poll.ended:
            return  # held until the cap: what is queued meanwhile goes in the same answer
        session = self._session
        assert session is not None
        if not (expired or poll.ended or poll.frames is not None or session.has_queued()):
            return
        if not self._coalesced and self._coalesce and not poll.ended and session.has_queued():
            gate = load_gate()
            if gate.holding():
                self._coalesced = True
                gate.later(self._coalesce, lambda: self._due(poll, True))
                return
        self._answer(poll, session)

    def _answer(self, poll: HeldPoll, session: "LiveSession") -> None:
        finish = self._finish
        assert finish is not None
        self._poll = self._session = self._finish = None
        if self._expiry is not None:
            self._expiry.stop()
        try:
            payload = payload_of(session, poll)
        finally:
            session.detach(poll)
        started = self._started
        try:
            body = b"".join(finish(payload))
        except Exception:
            self.path.log.exception("polling answer failed")
            body = internal_error(started)
        self._respond(started, body)
        if not self._serving:
            self._settle()

    # -- writing -----------------------------------------------------------
    def _respond(self, started: List[Any], body: bytes) -> None:
        if self._closed:
            return
        data, closes = answer_bytes(started[0], started[1], body, False)
        if closes:
            self._closing = True
        logged, self._logged = self._logged, None
        if logged is not None:
            self._log(logged, started[0], len(data))
        if self._out:
            self._out += data
            return
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self.close()
            return
        if sent < len(data):
            self._out += data[sent:]
            self._writer = gevent.get_hub().loop.io(self.sock.fileno(), 2)
            self._writer.start(self._flush)

    def _flush(self) -> None:
        """In the hub: the socket takes more of the answer."""
        out = self._out
        try:
            sent = self.sock.send(out)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        del out[:sent]
        if not out:
            writer, self._writer = self._writer, None
            close_watcher(writer)
            self._settle()

    def _settle(self) -> None:
        """Between requests: close if the answer said so, serve what came
        meanwhile, or wait for the next request (``handshake_timeout`` at most)."""
        if self._closed or self._serving or self._poll is not None or self._out:
            return
        if self._closing:
            self._shut()
        elif self._pending:
            assert self._watch is not None
            self._hub.dispatcher.readable(self._watch)  # served by a worker, never in the hub
        else:
            self._start_idle()

    def _log(self, logged: Any, status: str, length: int) -> None:
        """pywsgi's access-log line."""
        log = self._access_log
        if log is None:
            return
        line, started_at = logged
        address = self.address[0] if isinstance(self.address, tuple) else self.address
        log.write('%s - - [%s] "%s" %s %s %.6f\n' % (address or "-", datetime.now().replace(microsecond=0), line,
                                                     status.split()[0], length, time.time() - started_at))

    # -- idle --------------------------------------------------------------
    def _start_idle(self) -> None:
        """Idle from now. The timer is lazy: it is not moved per request (two
        loop calls each), it finds out when it fires whether the connection
        was busy meanwhile, and waits again for what is left."""
        timeout = self.path.idle_timeout
        if timeout is None:
            return
        self._idle_since = self._hub.loop.now()
        if self._idle is None:
            self._arm_idle(timeout)

    def _stop_idle(self) -> None:
        self._idle_since = None

    def _arm_idle(self, delay: float) -> None:
        close_watcher(self._idle)
        self._idle = self._hub.loop.timer(max(delay, 0.0))
        self._idle.start(self._idle_expired)

    def _idle_expired(self) -> None:
        """No next request within ``handshake_timeout``: closed, as pywsgi's path closes it."""
        timeout = self.path.idle_timeout
        assert timeout is not None
        since = self._idle_since
        if since is None:  # busy: look again a whole timeout later
            self._arm_idle(timeout)
            return
        left = since + timeout - self._hub.loop.now()
        if left > 0.001:
            self._arm_idle(left)
        else:
            self.close()

    # -- ending ------------------------------------------------------------
    def _stop_watchers(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()
        for watcher in (self._idle, self._expiry, self._writer):
            close_watcher(watcher)
        self._idle = self._expiry = self._writer = None
        self.path.parked.discard(self)

    def _shut(self) -> None:
        """Close after an answer that said ``Connection: close``: the client reads it to its end."""
        self._shutdown_and_close(_stdsocket.SHUT_WR)

    def abort(self) -> None:
        """Cut the connection at once, as a network failure would (the client sees it end)."""
        self._shutdown_and_close(_stdsocket.SHUT_RDWR)

    def _shutdown_and_close(self, how: int) -> None:
        try:
            self.sock.shutdown(how)
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        """Close the connection; a poll it held leaves its session's queue intact."""
        if self._closed:
            return
        self._closed = True
        poll, session = self._poll, self._session
        self._poll = self._session = self._finish = None
        self._stop_watchers()
        self.sock.close()  # gives the connection's place at the gate back
        if poll is not None and session is not None:
            poll.ended = True
            session.detach(poll)

    def _hand_back(self) -> None:
        """A request this path does not serve: the connection goes back to
        pywsgi, with the bytes read so far, on a handler greenlet of its own."""
        data, self._pending = self._pending, b""
        self._closed = True
        self._stop_watchers()
        sock = self.sock
        ticket, sock.ticket = sock.ticket, None
        family, kind, proto = sock.family, sock.type, sock.proto
        fileno = sock.detach()
        gsock = gsocket.socket(family, kind, proto, fileno)
        rfile = io.BufferedReader(_Prefixed(data, gsock), max(len(data), 2048))
        handler = self.handler_class(gsock, self.address, self.server, rfile)
        handler.ticket = ticket
        if ticket is not None:
            ticket.moved = False
        spawn = getattr(self.server, "_spawn", None) or gevent.spawn
        spawn(handler.handle)
