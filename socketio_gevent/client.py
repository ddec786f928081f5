"""A Python client for programs (and tests) that talk to a socketio_gevent server.

It speaks the same protocol as the browser client: the ``3:`` handshake,
``T:L:D,`` frames, annotations, heartbeat echoes and ``0:0:,``. Today it
connects over xhr-polling; it runs on gevent and needs no monkey-patching.

Example::

    client = SocketClient("http://127.0.0.1:8080")
    client.connect()
    client.send({"hello": "world"})
    message, annotations = client.receive(timeout=5)
    client.disconnect()
"""
from __future__ import annotations

import time
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

import gevent
from gevent.event import Event
from gevent.lock import Semaphore
from gevent.queue import Empty, Queue

from .events import EventEmitter
from .httpclient import HTTPConnection
from .protocol.framing import (
    DISCONNECT,
    DISCONNECT_FRAME,
    HEARTBEAT,
    MESSAGE,
    SESSION_ID,
    ProtocolError,
    decode_body,
    decode_payload,
    encode_frame,
    encode_message,
)

Received = Tuple[Any, Dict[str, Optional[str]]]


class ConnectError(OSError):
    pass


class SocketClient(EventEmitter):
    """Events: ``connect``, ``message`` (message, annotations), ``disconnect``."""

    def __init__(
        self,
        url: str,
        resource: str = "socket.io",
        transport: str = "xhr-polling",
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__()
        if transport != "xhr-polling":
            raise ValueError("the Python client speaks xhr-polling (got %r)" % transport)
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.resource = resource
        self.transport = transport
        self.headers = list((headers or {}).items())
        self.timeout = timeout
        self.session_id: Optional[str] = None
        self.connected = False
        self._inbox: "Queue[Received]" = Queue()
        self._poller = HTTPConnection(self.host, self.port, timeout)
        self._sender = HTTPConnection(self.host, self.port, timeout)
        self._send_lock = Semaphore()
        self._loop: Optional[gevent.Greenlet] = None
        self._closed = Event()

    # -- paths -------------------------------------------------------------
    def _path(self, sid: str = "") -> str:
        return "/%s/%s/%s/%d" % (self.resource, self.transport, sid, int(time.time() * 1000))

    # -- life --------------------------------------------------------------
    def connect(self) -> "SocketClient":
        """Open a session; returns once the server has sent its ``3:`` frame."""
        response = self._poller.request("GET", self._path(), headers=self.headers)
        if response.status != 200:
            raise ConnectError("handshake refused: %d %s" % (response.status, response.body[:200]))
        self._handle_payload(response.body.decode("utf-8"))
        if self.session_id is None:
            raise ConnectError("server sent no session id")
        self.connected = True
        self.emit("connect")
        self._loop = gevent.spawn(self._poll_loop)
        return self

    def _poll_loop(self) -> None:
        while self.connected:
            try:
                response = self._poller.request(
                    "GET", self._path(self.session_id or ""), headers=self.headers
                )
            except OSError:
                if self.connected:
                    gevent.sleep(0.5)
                    continue
                return
            if response.status != 200:
                self._lost("poll answered %d" % response.status)
                return
            try:
                self._handle_payload(response.body.decode("utf-8"))
            except (ProtocolError, UnicodeDecodeError):
                self._lost("malformed payload from the server")
                return

    def _handle_payload(self, payload: str) -> None:
        for frame in decode_payload(payload):
            if frame.type == SESSION_ID:
                self.session_id = frame.data
            elif frame.type == MESSAGE:
                received = decode_body(frame.data)
                self._inbox.put(received)
                self.emit("message", *received)
            elif frame.type == HEARTBEAT:
                gevent.spawn(self._post, encode_frame(HEARTBEAT, frame.data))
            elif frame.type == DISCONNECT:
                self._lost("disconnected by the server")

    def _lost(self, reason: str) -> None:
        if self.connected:
            self.connected = False
            self._closed.set()
            self.emit("disconnect", reason)

    # -- sending -----------------------------------------------------------
    def _post(self, payload: str) -> None:
        with self._send_lock:
            body = urlencode({"data": payload}).encode("ascii")
            response = self._sender.request(
                "POST",
                self._path(self.session_id or ""),
                body,
                headers=[("Content-Type", "application/x-www-form-urlencoded")] + self.headers,
            )
        if response.status != 200:
            raise ConnectError("send refused: %d %s" % (response.status, response.body[:200]))

    def send(self, message: Any, annotations: Optional[Mapping[str, Optional[str]]] = None) -> None:
        """Send one message (str, bytes or a JSON-able value); waits for ``ok``."""
        self._post(encode_message(message, annotations))

    def send_payload(self, payload: str) -> None:
        """Send raw frames as they are (for tests and tools)."""
        self._post(payload)

    def receive(self, timeout: Optional[float] = None) -> Received:
        """The next message and its annotations; ``TimeoutError`` when none comes."""
        try:
            return self._inbox.get(timeout=timeout)
        except Empty:
            raise TimeoutError("no message within %s s" % timeout) from None

    def wait_disconnected(self, timeout: Optional[float] = None) -> bool:
        return self._closed.wait(timeout)

    def disconnect(self) -> None:
        """Send ``0:0:,`` and stop polling."""
        if self.connected:
            try:
                self._post(DISCONNECT_FRAME)
            finally:
                self._lost("client disconnected")
        self.close()

    def close(self) -> None:
        """Drop the connections without telling the server (a network cut)."""
        self.connected = False
        if self._loop is not None:
            self._loop.kill(block=True, timeout=5)
            self._loop = None
        self._poller.close()
        self._sender.close()
