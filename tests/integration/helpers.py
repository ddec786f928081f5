"""Raw HTTP helpers for integration tests (real sockets, no mocks)."""
from __future__ import annotations

import json
import re
import time
from typing import Any, List, Optional, Tuple
from urllib.parse import urlencode

from gevent import socket

from socketio_gevent.client.http import HTTPConnection, Response
from socketio_gevent.protocol.framing import Frame, decode_payload


def ts() -> int:
    return int(time.time() * 1000)


Headers = Optional[List[Tuple[str, str]]]


def handshake(conn: HTTPConnection, transport: str = "xhr-polling", headers: Headers = None) -> str:
    path = "/socket.io/%s//%d" % (transport, ts())
    if transport == "jsonp-polling":
        path += "/0"
    response = conn.request("GET", path, headers=headers)
    assert response.status == 200, response
    text = response.body.decode("utf-8")
    if transport == "jsonp-polling":
        text = unwrap_jsonp(text)
    frames = decode_payload(text)
    assert frames[0].type == "3"
    return frames[0].data


def unwrap_jsonp(text: str) -> str:
    match = re.fullmatch(r'io\.JSONP\[[0-9]+\]\._\((".*")\);', text, re.S)
    assert match, text
    return json.loads(match.group(1))


def poll(conn: HTTPConnection, sid: str, transport: str = "xhr-polling", timeout: float = 30) -> Response:
    return conn.request("GET", "/socket.io/%s/%s/%d" % (transport, sid, ts()), timeout=timeout)


def poll_frames(conn: HTTPConnection, sid: str) -> List[Frame]:
    response = poll(conn, sid)
    assert response.status == 200, response
    return decode_payload(response.body.decode("utf-8"))


def post(conn: HTTPConnection, sid: str, payload: str, transport: str = "xhr-polling", field: str = "data",
         headers: Headers = None) -> Response:
    body = urlencode({field: payload}).encode("ascii")
    return conn.request(
        "POST",
        "/socket.io/%s/%s/send" % (transport, sid),
        body,
        headers=[("Content-Type", "application/x-www-form-urlencoded")] + list(headers or []),
    )


def exchange(port: int, request: bytes, until: Optional[bytes] = None) -> bytes:
    """Send raw bytes on a new connection; read until EOF (or until ``until`` shows)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(request)
    data = read_all(sock, until)
    sock.close()
    return data


def read_all(sock: Any, until: Optional[bytes] = None) -> bytes:
    """What ``sock`` receives until EOF (or until ``until`` shows)."""
    data = b""
    while until is None or until not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
