"""A Python client for programs (and tests) that talk to a socketio_gevent server.

It speaks the same protocol as the browser client: the ``3:`` handshake,
``T:L:D,`` frames, annotations, heartbeat echoes and ``0:0:,``, over
xhr-polling or a WebSocket (RFC 6455, with permessage-deflate and binary
frames). It runs on gevent and needs no monkey-patching.

Example::

    client = SocketClient("http://127.0.0.1:8080", transport="websocket")
    client.connect()
    client.send({"hello": "world"})
    message, annotations = client.receive(timeout=5)
    client.disconnect()
"""
from __future__ import annotations

import base64
import os
import time
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit

import gevent
from gevent import socket
from gevent.event import Event
from gevent.lock import Semaphore
from gevent.queue import Empty, Queue

from ..api.emitter import EventEmitter
from ..protocol.errors import ProtocolError
from ..protocol.framing import (
    DISCONNECT,
    DISCONNECT_FRAME,
    HEARTBEAT,
    MESSAGE,
    SESSION_ID,
    Decoder,
    Frame,
    decode_body,
    encode_frame,
    encode_message,
)
from ..websocket import deflate
from ..websocket.events import Binary, Close, Failed, Ping, Text
from ..websocket.handshake import accept_key
from ..websocket.rfc6455 import RFC6455Codec
from .http import HTTPConnection

Received = Tuple[Any, Dict[str, Optional[str]]]
TRANSPORTS = ("xhr-polling", "websocket")


class ConnectError(OSError):
    pass


class SocketClient(EventEmitter):
    """Events: ``connect``, ``message`` (message, annotations), ``disconnect`` (reason)."""

    def __init__(
        self,
        url: str,
        resource: str = "socket.io",
        transport: str = "xhr-polling",
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 30.0,
        deflate: bool = True,
        log: Any = None,
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
        self.session_id: Optional[str] = None
        self.connected = False
        self._inbox: "Queue[Received]" = Queue()
        self._send_lock = Semaphore()
        self._loop: Optional[gevent.Greenlet] = None
        self._closed = Event()
        self._got_sid = Event()
        # xhr-polling
        self._poller = HTTPConnection(self.host, self.port, timeout)
        self._sender = HTTPConnection(self.host, self.port, timeout)
        # websocket
        self._sock: Any = None
        self._codec: Optional[RFC6455Codec] = None

    def _path(self, sid: str = "") -> str:
        return "/%s/%s/%s/%d" % (self.resource, self.transport, sid, int(time.time() * 1000))

    # -- life --------------------------------------------------------------
    def connect(self, sid: str = "") -> "SocketClient":
        """Open a session (or resume ``sid``); returns once connected."""
        if self.transport == "websocket":
            self._connect_websocket(sid)
        else:
            self._connect_polling(sid)
        self.connected = True
        self.emit("connect")
        return self

    def _connect_polling(self, sid: str) -> None:
        if sid:
            self.session_id = sid
        else:
            response = self._poller.request("GET", self._path(), headers=self.headers)
            if response.status != 200:
                raise ConnectError("handshake refused: %d %r" % (response.status, response.body[:200]))
            self._handle_frames(Decoder().feed(response.body.decode("utf-8")))
            if self.session_id is None:
                raise ConnectError("server sent no session id")
        self._loop = gevent.spawn(self._poll_loop)

    def _connect_websocket(self, sid: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        head = [
            "GET /%s/websocket/%s HTTP/1.1" % (self.resource, sid),
            "Host: %s:%d" % (self.host, self.port),
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: " + key,
            "Sec-WebSocket-Version: 13",
        ]
        if self.deflate:
            head.append("Sec-WebSocket-Extensions: " + deflate.client_offer())
        head += ["%s: %s" % h for h in self.headers]
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        rfile = sock.makefile("rb")
        status = rfile.readline(65537).decode("latin-1")
        headers: Dict[str, str] = {}
        while True:
            line = rfile.readline(65537).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status.split(" ")[1:2] != ["101"]:
            sock.close()
            raise ConnectError("websocket refused: %s" % status.strip())
        if headers.get("sec-websocket-accept") != accept_key(key):
            sock.close()
            raise ConnectError("bad Sec-WebSocket-Accept")
        params = None
        if "sec-websocket-extensions" in headers:
            params = deflate.parse_response(headers["sec-websocket-extensions"])
        self._codec = RFC6455Codec(max_message_size=1 << 30, client=True, deflate=params)
        self._sock = sock
        self._rfile = rfile
        sock.settimeout(None)
        if sid:
            self.session_id = sid
            self._got_sid.set()
        self._loop = gevent.spawn(self._ws_loop)
        if not self._got_sid.wait(self.timeout):
            raise ConnectError("server sent no session id")

    # -- receiving ---------------------------------------------------------
    def _poll_loop(self) -> None:
        while not self._closed.is_set():
            try:
                response = self._poller.request("GET", self._path(self.session_id or ""), headers=self.headers)
            except OSError as exc:
                if self._closed.is_set():
                    return
                self.log.info("poll failed (%s); polling again", exc)
                gevent.sleep(0.5)
                continue
            if response.status != 200:
                self._lost("poll answered %d" % response.status)
                return
            try:
                self._handle_frames(Decoder().feed(response.body.decode("utf-8")))
            except (ProtocolError, UnicodeDecodeError) as exc:
                reason = "malformed payload from the server: %s" % exc
                self.log.warning("%s", reason)
                self._lost(reason)
                return

    def _ws_loop(self) -> None:
        assert self._codec is not None
        decoder = Decoder()
        codec = self._codec
        reason = "connection closed"
        try:
            while True:
                data = self._rfile.read1(65536)
                if not data:
                    break
                codec.receive_data(data)
                for event in codec.events():
                    if isinstance(event, Text):
                        self._handle_frames(decoder.feed(event.data))
                    elif isinstance(event, Binary):
                        self._deliver((event.data, {}))
                    elif isinstance(event, Ping):
                        self._ws_write(codec.send_pong(event.payload))
                    elif isinstance(event, (Close, Failed)):
                        if isinstance(event, Failed):
                            reason = "websocket failed: %s" % event.reason
                            self.log.warning("%s", reason)
                        self._ws_write(event.reply)
                        return
        except OSError as exc:
            if not self._closed.is_set():
                reason = "connection lost: %s" % exc
                self.log.info("%s", reason)
        except ProtocolError as exc:
            reason = "malformed payload from the server: %s" % exc.reason
            self.log.warning("%s", reason)
        except ValueError:
            if not self._closed.is_set():
                raise  # reading a closed file is only expected after close()
        finally:
            self._lost(reason)

    def _handle_frames(self, frames: "list[Frame]") -> None:
        for frame in frames:
            if frame.type == SESSION_ID:
                self.session_id = frame.data
                self._got_sid.set()
            elif frame.type == MESSAGE:
                self._deliver(decode_body(frame.data))
            elif frame.type == HEARTBEAT:
                gevent.spawn(self._echo_heartbeat, encode_frame(HEARTBEAT, frame.data))
            elif frame.type == DISCONNECT:
                self._lost("disconnected by the server")

    def _echo_heartbeat(self, frame: str) -> None:
        try:
            self._send_payload(frame)
        except OSError as exc:  # the reader notices the loss and reports it
            self.log.info("heartbeat echo not sent: %s", exc)

    def _deliver(self, received: Received) -> None:
        self._inbox.put(received)
        self.emit("message", *received)

    def _lost(self, reason: str) -> None:
        was_connected, self.connected = self.connected, False
        if not self._closed.is_set():
            self._closed.set()
            if was_connected:
                self.emit("disconnect", reason)

    # -- sending -----------------------------------------------------------
    def _ws_write(self, data: bytes) -> None:
        if data and self._sock is not None:
            with self._send_lock:
                self._sock.sendall(data)

    def _send_payload(self, payload: str) -> None:
        if self.transport == "websocket":
            assert self._codec is not None
            self._ws_write(self._codec.send_text(payload))
            return
        with self._send_lock:
            body = urlencode({"data": payload}).encode("ascii")
            response = self._sender.request(
                "POST",
                self._path(self.session_id or ""),
                body,
                headers=[("Content-Type", "application/x-www-form-urlencoded")] + self.headers,
            )
        if response.status != 200:
            raise ConnectError("send refused: %d %r" % (response.status, response.body[:200]))

    def send(self, message: Any, annotations: Optional[Mapping[str, Optional[str]]] = None) -> None:
        """Send one message (str, bytes or a JSON-able value).

        Over WebSocket, bytes without annotations go as a binary frame.
        """
        if self.transport == "websocket" and isinstance(message, (bytes, bytearray)) and not annotations:
            assert self._codec is not None
            self._ws_write(self._codec.send_binary(bytes(message)))
            return
        self._send_payload(encode_message(message, annotations))

    def send_payload(self, payload: str) -> None:
        """Send raw frames as they are (for tests and tools)."""
        self._send_payload(payload)

    def receive(self, timeout: Optional[float] = None) -> Received:
        """The next message and its annotations; ``TimeoutError`` when none comes."""
        try:
            received: Received = self._inbox.get(timeout=timeout)
            return received
        except Empty:
            raise TimeoutError("no message within %s s" % timeout) from None

    def wait_disconnected(self, timeout: Optional[float] = None) -> bool:
        return bool(self._closed.wait(timeout))

    def disconnect(self) -> None:
        """Send ``0:0:,`` and close."""
        if self.connected:
            try:
                self._send_payload(DISCONNECT_FRAME)
            except OSError as exc:
                self.log.info("0:0:, not sent, the connection is gone: %s", exc)
            finally:
                self._lost("client disconnected")
        self.close()

    def close(self) -> None:
        """Drop the connections without telling the server (a network cut)."""
        self._lost("closed")
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        if self._loop is not None and self._loop is not gevent.getcurrent():
            self._loop.kill(block=True, timeout=5)
            self._loop = None
        self._poller.close()
        self._sender.close()
