"""A Python client for programs (and tests) that talk to a socketio_gevent server.

It speaks what the browser client speaks: the ``3:`` handshake, ``T:L:D,``
frames, annotations, heartbeat echoes and ``0:0:,``, on every transport
(``socketio_gevent.client.links``), and the acks extension
(docs/protocol.rst §9) when the server agrees: every message in both
directions arrives exactly once and in order across cuts. A lost connection
is reopened within the same session, with backoff, for ``resume_timeout``
seconds; when the server says the session is gone, a new one is opened and
``reconnect`` tells how many messages may have been lost. It runs on gevent
and needs no monkey-patching.

Example::

    client = SocketClient("http://127.0.0.1:8080", transport="websocket")
    client.connect()
    client.send({"hello": "world"})
    message, annotations = client.receive(timeout=5)
    client.disconnect()
"""
from __future__ import annotations

import random
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue

from ..api.emitter import EventEmitter
from ..protocol.acks import (ACK, ACK_DELAY, ACK_EVERY, SEQ, Incoming, Outgoing, ack_frame, is_message,
                             parse_count, seq_frame)
from ..protocol.errors import ProtocolError
from ..protocol.events import Callbacks, check_name, encode_event, encode_result, read_answer, read_event
from ..protocol.framing import (DISCONNECT, DISCONNECT_FRAME, HEARTBEAT, MESSAGE, SESSION_ID, Frame,
                                decode_body, decode_payload, encode_frame)
from ..protocol.outbox import Item, encode_item
from .links import TRANSPORTS, ConnectError, Link, SessionGone, make_link

__all__ = ["SocketClient", "ConnectError", "SessionGone", "TRANSPORTS"]

Received = Tuple[Any, Dict[str, Optional[str]]]


def backoff(attempt: int) -> float:
    """Seconds before reconnection attempt ``attempt`` (0, 1, …): grows, capped, with jitter."""
    return float(min(2.0, 0.05 * (2 ** attempt)) * (0.5 + random.random() / 2))


#: Events this client never fires, with what to use instead.
_NOT_ON_CLIENT = {
    "connection": "the client fires 'connect' once its session is open",
    "clientConnect": "that is a server event: the client fires 'connect'",
    "clientMessage": "the client fires 'message'",
    "clientDisconnect": "the client fires 'disconnect'",
    "close": "the client fires 'disconnect'",
    "error": "handler errors go to the client's log",
}


class SocketClient(EventEmitter):
    """Events: ``connect``, ``message`` (message, annotations), ``disconnect``
    (reason) and ``reconnect`` (a dict: ``unacknowledged``, how many of our
    messages the old session never acknowledged, so may be lost; ``received``,
    how many of the server's we had)."""

    def __init__(
        self,
        url: str,
        resource: str = "socket.io",
        transport: str = "xhr-polling",
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 30.0,
        deflate: bool = True,
        log: Any = None,
        acks: bool = True,
        reconnect: bool = True,
        resume_timeout: float = 8.0,
    ) -> None:
        super().__init__(log)
        if transport not in TRANSPORTS:
            raise ValueError("the Python client speaks %s (got %r)" % (", ".join(TRANSPORTS), transport))
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.resource = resource
        self.transport = transport
        self.headers = list((headers or {}).items())
        self.timeout = timeout
        self.deflate = deflate
        #: Ask for the acks extension; ``acks`` is then whether the server agreed.
        self.want_acks = acks
        self.acks = False
        self.reconnect = reconnect
        self.resume_timeout = resume_timeout
        self.session_id: Optional[str] = None
        self.connected = False
        #: Our sends that went out without acknowledgements and failed (may be lost).
        self.unconfirmed = 0
        self._sent = Outgoing()
        self._got = Incoming()
        self._outq: List[Item] = []
        self._controls: List[str] = []
        self._fresh = True  # the link carried none of our messages yet: start with 5:
        #: Connections and poll answers so far: a link that ends with none new never got through.
        self._reached = 0
        self._inbox: "Queue[Received]" = Queue()
        self._link: Optional[Link] = None
        self._ready = Event()   # a link is up
        self._work = Event()    # something to send
        self._idle = Event()    # nothing left to send (or to have acknowledged)
        self._idle.set()
        self._closed = Event()
        #: ``disconnect()`` queued ``0:0:,``: a link that ends now is not resumed.
        self._leaving = False
        #: Our emits' callbacks waiting for answers (dropped with a lost session).
        self._callbacks = Callbacks()
        self._got_sid = Event()
        self._opening = False
        # sends numbered in queue order, and how many the sender has tried once
        self._queued = 0
        self._tried = 0
        #: Which session the ledgers belong to (a new one after a renewal).
        self._epoch = 0
        self._progress = Event()
        self._ack_timer: Any = None
        self._reader: Optional[gevent.Greenlet] = None
        self._sender: Optional[gevent.Greenlet] = None

    # -- what links ask ----------------------------------------------------
    @property
    def received(self) -> int:
        """How many of the server's messages we have (the ``a=`` of a resume)."""
        return self._got.count

    @property
    def acknowledged(self) -> int:
        """How many of our messages the server acknowledged (acks extension)."""
        return self._sent.acked

    @property
    def pending(self) -> int:
        """Our messages not yet acknowledged (sent or queued)."""
        return len(self._sent.items) + sum(1 for item in self._outq if is_message(item))

    def new_connection(self) -> None:
        """A new connection or poll answer: the server numbers its messages afresh."""
        self._got.expect = None
        self._reached += 1

    # -- life --------------------------------------------------------------
    def connect(self, sid: str = "") -> "SocketClient":
        """Open a session (or resume ``sid``); returns once connected."""
        self._closed.clear()
        self._leaving = False
        link = self._open(sid)
        self._reader = gevent.spawn(self._life, link)
        if not self._got_sid.wait(self.timeout):
            self.close()
            raise ConnectError("server sent no session id")
        self._sender = gevent.spawn(self._send_loop)
        self.connected = True
        self.fire("connect")
        return self

    def _open(self, sid: str) -> Link:
        link = make_link(self)
        params = {"acks": "1"} if (self.want_acks and not sid) else {}
        if sid:
            self.session_id = sid
            self._got_sid.set()
        opening = link.open(sid, params)
        if opening is not None:
            self._handle(decode_payload(opening))
        self._install(link)
        return link

    def _install(self, link: Link) -> None:
        self._link = link
        self._fresh = True
        self._ready.set()
        self._work.set()  # resend what is unacknowledged

    def _life(self, link: Link) -> None:
        """The reader: run links, resume or renew the session when one is lost."""
        try:
            self._live(link)
        except Exception:  # our bug: say so, and end this client rather than hang
            self.log.exception("socketio_gevent client: error in the reader")
            self._lost("internal error")

    def _live(self, link: Link) -> None:
        reason = "closed"
        failures = 0
        while not self._closed.is_set():
            reached = self._reached
            try:
                reason = link.run(self._handle, self._binary)
            except SessionGone:
                reason = "session gone"
                if self._leaving:
                    break  # we said 0:0:, the server ended it as asked
                link = self._renew(link)
                continue
            except (ConnectError, ProtocolError) as exc:
                reason = "%s" % exc
                self.log.warning("connection failed: %s", reason)
            if self._closed.is_set():
                break
            if self._leaving:  # the server closes after our 0:0:, nothing to resume
                reason = "client disconnected"
                break
            self._ready.clear()
            link.close()
            if not self.reconnect:
                break
            self.log.info("connection lost (%s); resuming session %s", reason, self.session_id)
            if self._reached == reached:
                # This link never got through (a polling link resumes without a
                # request, so only its first poll can fail): wait before the next.
                gevent.sleep(backoff(failures))
                failures = min(failures + 1, 6)
            else:
                failures = 0
            link = self._resume(link)
        self._lost(reason)

    def _resume(self, old: Link) -> Link:
        """Reopen the same session, with backoff, for ``resume_timeout`` at most."""
        deadline = time.monotonic() + self.resume_timeout
        attempt = 0
        while not self._closed.is_set():
            if self.session_id is None:
                # cut before the 3: frame came: open the session again, from the start
                try:
                    return self._open("")
                except OSError as exc:
                    self.log.info("could not open a session: %s", exc)
                    gevent.sleep(backoff(attempt))
                    attempt = min(attempt + 1, 6)
                    continue
            try:
                link = make_link(self)
                link.open(self.session_id, {})
                self._install(link)
                return link
            except SessionGone:
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    self.log.info("could not resume session %s: %s", self.session_id, exc)
                    break
                gevent.sleep(backoff(attempt))
                attempt += 1
        return self._renew(old)

    def _renew(self, old: Link) -> Link:
        """The session is gone: open a new one, and say what may have been lost."""
        old.close()
        self._ready.clear()
        info = {"unacknowledged": len(self._sent.items) if self.acks else self.unconfirmed,
                "received": self._got.count}
        self._sent, self._got = Outgoing(), Incoming()
        self._callbacks.clear()  # the new session cannot answer the old one's events
        self._epoch += 1
        self._controls = []  # echoes and acks belonged to the old session
        self._outq = [item for item in self._outq if item is not DISCONNECT_FRAME]
        self.acks = False
        self.session_id = None
        self._got_sid.clear()
        attempt = 0
        while not self._closed.is_set():
            try:
                link = self._open("")
                break
            except OSError as exc:
                self.log.info("could not open a new session: %s", exc)
                gevent.sleep(backoff(attempt))
                attempt = min(attempt + 1, 6)
        else:
            return old
        self.log.info("session renewed: %s", info)
        gevent.spawn(self._announce_reconnect, info)
        return link

    def _announce_reconnect(self, info: Dict[str, int]) -> None:
        self._got_sid.wait(self.timeout)
        self.fire("reconnect", info)

    # -- receiving ---------------------------------------------------------
    def _handle(self, frames: List[Frame]) -> None:
        got = self._got
        for frame in frames:
            kind = frame.type
            if kind == MESSAGE:
                if not self.acks or got.accept():
                    self._deliver(decode_body(frame.data))
            elif kind == HEARTBEAT:
                self._control(encode_frame(HEARTBEAT, frame.data))
            elif kind == SESSION_ID:
                self.session_id = frame.data
                self._opening = True
                self._got_sid.set()
            elif kind == ACK:
                if self._opening and self.want_acks:
                    self.acks = True  # the server agreed (4:1:0, after 3:)
                elif self.acks:
                    self._acked(frame.data)
            elif kind == SEQ and self.acks:
                reason = got.sequence(parse_count(frame.data))
                if reason is not None:
                    raise ProtocolError(reason)
            elif kind == DISCONNECT:
                self._closed.set()
                if self._link is not None:
                    self._link.close()
                self._lost("disconnected by the server")
            if kind != SESSION_ID:
                self._opening = False
        link = self._link
        if self.acks and got.untold and link is not None and not link.polls:
            # polls acknowledge with a= on the next GET; the others with 4: frames
            if got.untold >= ACK_EVERY:
                self._control(got.told_now())
            elif self._ack_timer is None:
                self._ack_timer = gevent.spawn_later(ACK_DELAY, self._ack_due)

    def _acked(self, data: str) -> None:
        reason = self._sent.ack(parse_count(data))
        if reason is not None:
            raise ProtocolError(reason)
        self._check_idle()

    def _ack_due(self) -> None:
        self._ack_timer = None
        got = self._got
        if got.untold:
            self._control(got.told_now())

    def _binary(self, data: bytes) -> None:
        if not self.acks or self._got.accept():
            self._deliver((data, {}))

    def _deliver(self, received: Received) -> None:
        message, annotations = received
        if annotations:  # events and answers are annotated messages (§10)
            if "ca" in annotations:
                answer = read_answer(message, annotations)
                if answer is not None:
                    self._answered(answer.callback, answer.args)
                    return
            elif "e" in annotations:
                event = read_event(message, annotations)
                if event is not None:
                    result = self.fire(event.name, *event.args)
                    if event.callback is not None:
                        self._answer(event.name, event.callback, result)
                    return
        self._inbox.put(received)
        self.fire("message", *received)

    def _answered(self, number: int, args: List[Any]) -> None:
        fn = self._callbacks.pop(number)
        if fn is None:
            return  # unknown or already answered
        try:
            fn(*args)
        except Exception:  # user code
            self.log.exception("callback for answer %d raised", number)

    def _answer(self, name: str, number: int, result: Any) -> None:
        frame, error = encode_result(number, result)
        if error is not None:
            self.log.error("answer to %r is not JSON (%s): answered with no value", name, error)
        self._queue(frame)

    # -- named events --------------------------------------------------------
    def add_listener(self, event: str, fn: Any) -> None:
        """As on any emitter; a name this client never fires is an error, not silence."""
        if event in _NOT_ON_CLIENT:
            raise ValueError("a SocketClient has no %r event: %s" % (event, _NOT_ON_CLIENT[event]))
        super().add_listener(event, fn)

    def emit(self, event: str, *args: Any, callback: Any = None, wait: bool = True) -> None:
        """Send the named event ``event`` with ``args`` (JSON-able), in order with
        messages. ``callback`` gets the server's answer (its handler's result),
        once; never if the session is lost and a new one opened."""
        check_name(event)
        number = None
        if callback is not None:
            number, dropped = self._callbacks.add(callback)
            if dropped is not None:
                self.log.warning("over %d callbacks wait for answers; the oldest is dropped",
                                 self._callbacks.limit)
        self._queue(encode_event(event, args, number), wait)

    def _lost(self, reason: str) -> None:
        was_connected, self.connected = self.connected, False
        self._closed.set()
        self._ready.set()  # let the sender see the end
        self._work.set()
        if was_connected:
            self.fire("disconnect", reason)

    # -- sending -----------------------------------------------------------
    def _control(self, frame: str) -> None:
        self._controls.append(frame)
        self._work.set()

    def _check_idle(self) -> None:
        if not self._outq and (not self.acks or not self._sent.items):
            self._idle.set()

    def _send_loop(self) -> None:
        attempt = 0
        while True:
            self._work.wait()
            self._ready.wait()
            if self._closed.is_set():
                return
            self._work.clear()
            link = self._link
            if link is None:
                continue
            controls, self._controls = self._controls, []
            new, self._outq = self._outq, []
            tried = self._queued - len(self._outq)
            if not controls and not new and not (self.acks and self._fresh and self._sent.items):
                self._check_idle()
                continue
            try:
                self._send_batch(link, controls, new)
                attempt = 0
            except OSError:
                gevent.sleep(backoff(attempt))
                attempt += 1
                self._work.set()
            finally:
                self._tried = max(self._tried, tried)
                self._progress.set()
                self._progress.clear()

    def _send_batch(self, link: Link, controls: List[str], new: List[Item]) -> None:
        """One attempt: one POST, or one write on the socket. ``OSError`` to retry."""
        epoch = self._epoch
        # one ack, of what we have now: a queued one may be older than an a= sent since
        items: List[Item] = [frame for frame in controls if frame[:1] != ACK]
        if len(items) < len(controls):
            items.insert(0, ack_frame(self._got.count))
        if self.acks:
            if self._fresh or not link.duplex:
                resend = list(self._sent.items)  # a new link, or a POST: all unacknowledged again
                if resend or any(is_message(item) for item in new):
                    items.append(seq_frame(self._sent.acked + 1))
                items += resend
            for item in new:
                if is_message(item):
                    self._sent.keep(item)
            items += new
        else:
            items += new
        try:
            link.send(items)
        except SessionGone:
            # never delivered: they go to the new session the reader opens
            if self.acks:
                for item in reversed(new):
                    if is_message(item) and self._sent.items and self._sent.items[-1] is item:
                        self._sent.unkeep_last()
            self._outq[:0] = new
            raise
        except OSError as exc:
            self.log.info("send failed (%s)", exc)
            if not self.acks:
                self.unconfirmed += sum(1 for item in new if is_message(item))
            elif epoch == self._epoch:
                self._controls[:0] = controls  # again (an ack is brought up to date then)
            raise
        if epoch != self._epoch:
            return  # the session was renewed meanwhile: these ledgers are new
        if link.duplex:
            self._fresh = False
        elif self.acks:
            self._sent.ack(self._sent.acked + len(self._sent.items))  # the 200 says so
        self._check_idle()

    def send(self, message: Any, annotations: Optional[Mapping[str, Optional[str]]] = None,
             wait: bool = True) -> None:
        """Send one message (str, bytes or a JSON-able value), in order.

        Over WebSocket, bytes without annotations go as a binary frame.
        With ``wait`` it returns once the message was sent once (its POST
        answered, or written to the socket), or the connection failed in
        between (``timeout`` at most): with the acks extension it is then
        sent again after the reconnection and arrives exactly once; without
        it, it may be lost (``unconfirmed`` counts those).
        """
        self._queue(encode_item(message, annotations), wait)

    def send_payload(self, payload: str, wait: bool = True) -> None:
        """Send raw frames as they are (for tests and tools)."""
        self._queue(payload, wait)

    def _queue(self, item: Item, wait: bool = False) -> None:
        self._outq.append(item)
        self._queued += 1
        index = self._queued
        self._idle.clear()
        self._work.set()
        if wait and self._sender is not None and gevent.getcurrent() is not self._sender:
            deadline = time.monotonic() + self.timeout
            while self._tried < index and not self._closed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._progress.wait(left)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until everything sent went out (and, with acks, was acknowledged)."""
        return bool(self._idle.wait(timeout))

    def receive(self, timeout: Optional[float] = None) -> Received:
        """The next message and its annotations; ``TimeoutError`` when none comes."""
        try:
            received: Received = self._inbox.get(timeout=timeout)
            return received
        except Empty:
            raise TimeoutError("no message within %s s" % timeout) from None

    def wait_disconnected(self, timeout: Optional[float] = None) -> bool:
        return bool(self._closed.wait(timeout))

    def disconnect(self, timeout: float = 5.0) -> None:
        """Send ``0:0:,`` (after what is queued) and close."""
        if self.connected:
            self._leaving = True  # from now on a lost link is the end, not a cut
            self._queue(DISCONNECT_FRAME)
            if not self._idle.wait(timeout):
                self.log.info("0:0:, not sent within %s s", timeout)
            self._lost("client disconnected")
        self.close()

    def close(self) -> None:
        """Drop the connections without telling the server (a network cut)."""
        self._lost("closed")
        if self._ack_timer is not None:
            self._ack_timer.kill(block=False)
        if self._link is not None:
            self._link.close()
        current = gevent.getcurrent()
        for greenlet in (self._reader, self._sender):
            if greenlet is not None and greenlet is not current:
                greenlet.kill(block=True, timeout=5)
        self._reader = self._sender = None

