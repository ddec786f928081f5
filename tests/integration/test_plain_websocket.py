"""Plain WebSocket routes next to socket.io, with gevent-websocket's interface (§7)."""
from __future__ import annotations

from typing import Callable, List

import pytest

import gevent
from gevent import socket
from gevent.pywsgi import WSGIHandler, WSGIServer

from socketio_gevent.client import SocketClient
from socketio_gevent.websocket import events as ev

from .wsclient import RawWS, mask_frame


def echo_app(environ: dict, start_response: Callable) -> List[bytes]:
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"plain http"]
    while True:
        message = ws.receive()
        if message is None:
            break
        ws.send(message)
    return []


def test_echo_route_next_to_socketio(serve):
    served = serve(echo_app)
    ws = RawWS(served.port, "/echo", "rfc6455-13")
    assert ws.status == 101
    ws.send_text("hello")
    assert ws.next_message() == "hello"
    ws.send_raw(mask_frame(2, b"\x00\x01"))
    assert ws.next_message() == b"\x00\x01"
    # socket.io keeps working beside it
    client = SocketClient(served.url, transport="websocket").connect()
    client.send("io")
    client.disconnect()
    ws.send_raw(mask_frame(8, b"\x03\xe8"))
    assert isinstance(ws.wait_eof()[0], ev.Close)
    assert served.http().request("GET", "/echo").body == b"plain http"


def test_interface_send_binary_flag_close_and_closed(serve):
    results = []

    def app(environ, start_response):
        ws = environ["wsgi.websocket"]
        ws.send("text")
        ws.send(b"bytes")
        ws.send("forced", binary=True)
        results.append(ws.receive())
        ws.close(1001, b"going")
        results.append(ws.closed)
        return []

    served = serve(app)
    ws = RawWS(served.port, "/any", "rfc6455-13")
    assert [ws.next_message() for _ in range(3)] == ["text", b"bytes", b"forced"]
    ws.send_text("from client")
    close = ws.next_event()
    assert isinstance(close, ev.Close) and (close.code, close.reason) == (1001, "going")
    ws.send_raw(mask_frame(8, b"\x03\xe9"))
    gevent.sleep(0.2)
    assert results == ["from client", True]


def test_pywsgi_upgrade_is_raw_and_unchunked_without_our_handler():
    """What the WebSocket layer relies on in an unmodified gevent.pywsgi (issue: prove it)."""
    seen = []

    def app(environ, start_response):
        write = start_response("101 Switching Protocols", [("Upgrade", "websocket"), ("Connection", "Upgrade")])
        write(b"")
        seen.append(environ["wsgi.input"].read(5))  # raw bytes after the headers
        write(b"raw-bytes")
        return []

    server = WSGIServer(("127.0.0.1", 0), app, handler_class=WSGIHandler, log=None)
    server.start()
    sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
    sock.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello")
    data = b""
    while not data.endswith(b"raw-bytes"):
        chunk = sock.recv(4096)
        assert chunk
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    assert b"transfer-encoding" not in head.lower()
    assert body == b"raw-bytes"  # no chunk-size lines
    assert seen == [b"hello"]
    sock.close()
    server.stop()


def test_our_websocket_runs_under_plain_pywsgi_handler(serve):
    from socketio_gevent import Listener, SocketIOMiddleware

    listener = Listener(flash_policy_server=False)
    listener.on("connection", lambda c: c.on("message", lambda m, a: c.send(m)))
    server = WSGIServer(("127.0.0.1", 0), SocketIOMiddleware(echo_app, listener), handler_class=WSGIHandler, log=None)
    server.start()
    client = SocketClient("http://127.0.0.1:%d" % server.server_port, transport="websocket").connect()
    client.send("under plain pywsgi")
    assert client.receive(timeout=5) == ("under plain pywsgi", {})
    client.disconnect()
    listener.close()
    server.stop()


FLOODER = r"""
import base64, os, socket, struct, sys, threading, time
port, seconds, kind = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
sock = socket.create_connection(("127.0.0.1", port))
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall(("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += sock.recv(4096)
def frame(opcode, payload, fin=True):
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + mask + body
if kind == "echo":
    chunk = frame(1, b"flood") * 4000
else:  # a message that never ends: one text fragment, then empty continuations
    chunk = frame(0, b"", fin=False) * 8000
    sock.sendall(frame(1, b"x", fin=False))
print("ready", flush=True)
def drain():
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
threading.Thread(target=drain, daemon=True).start()
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        sock.sendall(chunk)
    except OSError:
        break
"""


@pytest.mark.parametrize("kind", ["echo", "continuations"])
def test_a_flooding_client_slows_itself_not_the_others(serve, kind):
    """Another client's round trip on the same plain route stays short while
    one client floods echo messages or empty continuation frames."""
    import subprocess
    import sys
    import time

    served = serve(echo_app)
    canary = RawWS(served.port, "/echo", "rfc6455-13")
    flooder = subprocess.Popen([sys.executable, "-c", FLOODER, str(served.port), "3", kind],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert flooder.stdout is not None
        gevent.get_hub().threadpool.apply(flooder.stdout.readline)  # "ready", without blocking the loop
        worst = 0.0
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            started = time.monotonic()
            canary.send_text("ping")
            assert canary.next_message(timeout=10) == "ping"
            worst = max(worst, time.monotonic() - started)
            gevent.sleep(0.05)
        assert worst < 1.0, "the canary waited %.2f s" % worst
    finally:
        flooder.kill()
        flooder.wait()
