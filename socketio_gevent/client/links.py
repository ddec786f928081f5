"""The Python client's transports: one class per way of carrying a session.

A *link* is one connection of a session: a poll loop, an open stream, a
WebSocket. It opens (raising :class:`SessionGone` on the server's 404, any
``OSError`` when the network fails), then :meth:`Link.run` reads until the
connection ends, handing each payload's frames to the client; sends go out
through :meth:`Link.send`. Reconnecting, numbering and resending are the
client's (``socket_client``): a link knows bytes, not sessions.

Every transport the server speaks is here, so a program (or a test) can
drive any of them: xhr-polling, jsonp-polling, htmlfile, xhr-multipart,
server-events (POST for sends), websocket and flashsocket (RFC 6455).
"""
from __future__ import annotations

import base64
import codecs
import json
import os
import time
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import urlencode

from gevent import socket
from gevent.lock import Semaphore

from ..protocol.framing import Decoder, Frame, decode_payload
from ..protocol.outbox import BinaryMessage, Item
from ..transports.htmlfile import ScriptReader
from ..transports.server_events import EventReader
from ..transports.xhr_multipart import PartReader
from ..websocket import deflate
from ..websocket.events import Binary, Close, Failed, Ping, Text
from ..websocket.handshake import accept_key
from ..websocket.rfc6455 import RFC6455Codec
from .http import HTTPConnection, read_head

__all__ = ["Link", "SessionGone", "ConnectError", "TRANSPORTS", "make_link"]

TRANSPORTS = ("websocket", "flashsocket", "server-events", "htmlfile", "xhr-multipart",
              "xhr-polling", "jsonp-polling")
POLL_TIMEOUT = 45.0  # the server holds a poll 20 s by default

Frames = Callable[[List[Frame]], None]
Bytes = Callable[[bytes], None]


class ConnectError(OSError):
    """The server refused (an HTTP status other than 404, a bad handshake)."""


class SessionGone(ConnectError):
    """The server answered 404: the session is unknown or expired."""


def _query(params: Dict[str, str]) -> str:
    return ("?" + urlencode(params)) if params else ""


class Link:
    """One connection of a session (see the module docstring)."""

    name = ""
    #: Binary messages go as binary frames (else as ``b`` text).
    binary = False
    #: Sends travel over the link itself (WebSocket), not by POST.
    duplex = False
    #: Each answer is a new connection, acknowledged by ``a=`` on the next GET.
    polls = False

    def __init__(self, client: Any) -> None:
        self.client = client
        self.closed = False

    def path(self, sid: str, suffix: str = "") -> str:
        return "/%s/%s/%s%s" % (self.client.resource, self.name, sid, suffix)

    def open(self, sid: str, params: Dict[str, str]) -> Optional[str]:
        """Connect; for a new session (``sid == ""``) the opening payload, if it comes with the answer."""
        raise NotImplementedError

    def run(self, frames: Frames, binary: Bytes) -> str:
        """Read until the connection ends; the reason. ``SessionGone`` on a 404."""
        raise NotImplementedError

    def send(self, items: List[Item]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True


class HTTPLink(Link):
    """Sends by POST, one at a time; what differs is how the GET reads."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.sender = HTTPConnection(client.host, client.port, client.timeout)

    def _check(self, status: int, body: bytes) -> None:
        if status == 404:
            raise SessionGone("session gone: 404 %r" % body[:100])
        if status != 200:
            raise ConnectError("refused: %d %r" % (status, body[:200]))

    def post_body(self, payload: str) -> bytes:
        return urlencode({"data": payload}).encode("ascii")

    @property
    def sid(self) -> str:
        return self.client.session_id or ""

    def post_path(self) -> str:
        return self.path(self.sid, "/%d" % (time.time() * 1000))

    def send(self, items: List[Item]) -> None:
        payload = "".join(i if isinstance(i, str) else i.text_frame for i in items)
        response = self.sender.request(
            "POST", self.post_path(), self.post_body(payload),
            headers=[("Content-Type", "application/x-www-form-urlencoded")] + self.client.headers)
        self._check(response.status, response.body)

    def close(self) -> None:
        super().close()
        self.sender.close()


class PollingLink(HTTPLink):
    name = "xhr-polling"
    polls = True

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.poller = HTTPConnection(client.host, client.port, POLL_TIMEOUT)

    def get_path(self, sid: str) -> str:
        return self.path(sid, "/%d" % (time.time() * 1000))

    def unwrap(self, body: str) -> str:
        return body

    def open(self, sid: str, params: Dict[str, str]) -> Optional[str]:
        if sid:
            return None
        response = self.poller.request("GET", self.get_path("") + _query(params), headers=self.client.headers)
        self._check(response.status, response.body)
        return self.unwrap(response.body.decode("utf-8"))

    def run(self, frames: Frames, binary: Bytes) -> str:
        while not self.closed:
            query = _query({"a": str(self.client.received)} if self.client.acks else {})
            try:
                response = self.poller.request("GET", self.get_path(self.sid) + query, headers=self.client.headers)
            except OSError as exc:
                return "poll failed: %s" % exc
            self._check(response.status, response.body)
            self.client.new_connection()  # each answer numbers its own messages
            frames(decode_payload(self.unwrap(response.body.decode("utf-8"))))
        return "closed"

    def close(self) -> None:
        super().close()
        self.poller.close()


class JSONPLink(PollingLink):
    name = "jsonp-polling"

    def get_path(self, sid: str) -> str:
        return self.path(sid, "/%d/0" % (time.time() * 1000))

    def post_path(self) -> str:
        return self.path(self.sid, "/%d/0" % (time.time() * 1000))

    def unwrap(self, body: str) -> str:
        start, end = body.find("._("), body.rfind(");")
        if not body.startswith("io.JSONP[") or start < 0 or end < start:
            raise ConnectError("not a JSONP answer: %r" % body[:100])
        payload = json.loads(body[start + 3:end])
        if not isinstance(payload, str):
            raise ConnectError("not a JSONP answer: %r" % body[:100])
        return payload

    def post_body(self, payload: str) -> bytes:
        return urlencode({"d": json.dumps(payload)}).encode("ascii")


class StreamLink(HTTPLink):
    """htmlfile, xhr-multipart, server-events: one long GET, frames as they come."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.stream: Any = None

    def reader(self) -> Any:
        raise NotImplementedError

    def open(self, sid: str, params: Dict[str, str]) -> Optional[str]:
        query = dict(params)
        if sid and self.client.acks:
            query["a"] = str(self.client.received)
        connection = HTTPConnection(self.client.host, self.client.port, None)
        self.stream = connection.stream("GET", self.path(sid) + _query(query), headers=self.client.headers)
        if self.stream.status != 200:
            body = b""
            try:
                body = self.stream.read()
            except OSError:
                pass
            self.stream.close()
            self._check(self.stream.status, body)
        return None

    def run(self, frames: Frames, binary: Bytes) -> str:
        reader = self.reader()
        text = codecs.getincrementaldecoder("utf-8")()
        self.client.new_connection()
        try:
            while not self.closed:
                data = self.stream.read()
                if not data:
                    return "stream ended"
                got = reader.feed(text.decode(data))
                if got:
                    if isinstance(got[0], Frame):
                        frames(got)
                    else:
                        for payload in got:
                            frames(decode_payload(payload))
        except OSError as exc:
            return "stream lost: %s" % exc
        finally:
            self.stream.close()
        return "closed"

    def close(self) -> None:
        super().close()
        if self.stream is not None:
            self.stream.close()


class HTMLFileLink(StreamLink):
    name = "htmlfile"

    def reader(self) -> Any:
        return ScriptReader()


class MultipartLink(StreamLink):
    name = "xhr-multipart"

    def reader(self) -> Any:
        return PartReader()


class EventsLink(StreamLink):
    name = "server-events"

    def reader(self) -> Any:
        return EventReader()


class WebSocketLink(Link):
    """RFC 6455 (with permessage-deflate when offered back)."""

    name = "websocket"
    binary = True
    duplex = True

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.sock: Any = None
        self.rfile: Any = None
        self.codec: Optional[RFC6455Codec] = None
        self._lock = Semaphore()

    def open(self, sid: str, params: Dict[str, str]) -> Optional[str]:
        query = dict(params)
        if sid and self.client.acks:
            query["a"] = str(self.client.received)
        key = base64.b64encode(os.urandom(16)).decode()
        head = [
            "GET %s%s HTTP/1.1" % (self.path(sid), _query(query)),
            "Host: %s:%d" % (self.client.host, self.client.port),
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: " + key,
            "Sec-WebSocket-Version: 13",
        ]
        if self.client.deflate:
            head.append("Sec-WebSocket-Extensions: " + deflate.client_offer())
        head += ["%s: %s" % h for h in self.client.headers]
        sock = socket.create_connection((self.client.host, self.client.port), timeout=self.client.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            rfile = sock.makefile("rb")
            status, headers = read_head(rfile)  # HTTPError if cut short
        except OSError:
            sock.close()
            raise
        if status != 101:
            sock.close()
            if status == 404:
                raise SessionGone("websocket refused: 404")
            raise ConnectError("websocket refused: %d" % status)
        if headers.get("sec-websocket-accept") != accept_key(key):
            sock.close()
            raise ConnectError("bad Sec-WebSocket-Accept")
        try:
            params_ = deflate.parse_response(headers["sec-websocket-extensions"]) \
                if "sec-websocket-extensions" in headers else None
        except ValueError as exc:
            sock.close()
            raise ConnectError("bad Sec-WebSocket-Extensions: %s" % exc) from None
        self.codec = RFC6455Codec(max_message_size=1 << 30, client=True, deflate=params_)
        sock.settimeout(None)
        self.sock, self.rfile = sock, rfile
        return None

    def run(self, frames: Frames, binary: Bytes) -> str:
        assert self.codec is not None
        codec = self.codec
        decoder = Decoder()
        self.client.new_connection()
        try:
            while not self.closed:
                data = self.rfile.read1(65536)
                if not data:
                    return "connection closed"
                codec.receive_data(data)
                for event in codec.events():
                    if isinstance(event, Text):
                        frames(decoder.feed(event.data))
                    elif isinstance(event, Binary):
                        binary(event.data)
                    elif isinstance(event, Ping):
                        self._write(codec.send_pong(event.payload))
                    elif isinstance(event, (Close, Failed)):
                        self._write(event.reply)
                        return "websocket closed: %s" % (event.reason or "")
        except (OSError, ValueError) as exc:
            if self.closed:
                return "closed"
            return "connection lost: %s" % exc
        return "closed"

    def _write(self, data: bytes) -> None:
        if data and self.sock is not None:
            with self._lock:
                self.sock.sendall(data)

    def send(self, items: List[Item]) -> None:
        """One sender at a time (the client's): frames are encoded in write
        order, which deflate's shared window needs."""
        assert self.codec is not None
        text: List[str] = []
        out: List[bytes] = []
        for item in items:
            if isinstance(item, BinaryMessage):
                if text:
                    out.append(self.codec.send_text("".join(text)))
                    text = []
                out.append(self.codec.send_binary(item.data))
            else:
                text.append(item)
        if text:
            out.append(self.codec.send_text("".join(text)))
        with self._lock:
            for data in out:
                self.sock.sendall(data)

    def close(self) -> None:
        super().close()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


class FlashSocketLink(WebSocketLink):
    name = "flashsocket"


_LINKS = {
    "xhr-polling": PollingLink, "jsonp-polling": JSONPLink, "htmlfile": HTMLFileLink,
    "xhr-multipart": MultipartLink, "server-events": EventsLink, "websocket": WebSocketLink,
    "flashsocket": FlashSocketLink,
}


def make_link(client: Any) -> Link:
    link: Link = _LINKS[client.transport](client)
    return link

