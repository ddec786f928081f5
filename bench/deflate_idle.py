"""Memory per idle WebSocket with permessage-deflate, and the ratio it costs.

    .venv/bin/python bench/deflate_idle.py [--clients 2000]

Starts a server (socket.io echo, deflate on) in a subprocess, opens N raw
RFC 6455 clients that offer permessage-deflate as browsers do and compress
every message (as Chrome does), lets each exchange a few small messages and
a heartbeat-sized one, then reads the server's RSS: KiB per connection,
against the same with deflate off and with ``websocket_deflate="context"`` (a deflate context
kept per side, the behaviour before no-context-takeover was negotiated). It also prints the compression ratio
of a chat-like stream with and without context takeover.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from benchlib.harness import rss_kib  # noqa: E402
from socketio_gevent.protocol.framing import encode_message  # noqa: E402
from socketio_gevent.websocket import deflate  # noqa: E402
from socketio_gevent.websocket.rfc6455 import RFC6455Codec  # noqa: E402

SERVER = r"""
import sys
from gevent.pywsgi import WSGIServer
import socketio_gevent
server = WSGIServer(("127.0.0.1", 0), None, log=None, backlog=4096)
listener = socketio_gevent.listen(server, origins="*:*", flash_policy_server=False,
                                  websocket_deflate={"off": False, "lean": True, "takeover": "context"}[sys.argv[1]])
listener.on("connection", lambda c: c.on("message", lambda m, a: c.send(m)))
server.start()
print(server.server_port, flush=True)
server.serve_forever()
"""


def open_client(port: int, use_deflate: bool):  # type: ignore[no-untyped-def]
    sock = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if use_deflate else ""
    sock.sendall(("GET /socket.io/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n" % (key, ext)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    params = None
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("sec-websocket-extensions:"):
            params = deflate.parse_response(line.split(":", 1)[1].strip())
    codec = RFC6455Codec(client=True, deflate=params, deflate_min_size=0)  # compress everything, as Chrome does
    return sock, codec


def run(mode: str, clients: int) -> float:
    use_deflate = mode != "off"
    server = subprocess.Popen([sys.executable, "-c", SERVER, mode],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())  # type: ignore[union-attr]
    time.sleep(0.5)
    before = rss_kib(server.pid)
    held = []
    for i in range(clients):
        sock, codec = open_client(port, use_deflate)
        for text in ("hello %d" % i, json.dumps({"say": "hi there", "n": i}), "x" * 400):
            sock.sendall(codec.send_text(encode_message(text)))
        held.append((sock, codec))
    time.sleep(2.0)  # the echoes are written; drain them
    for sock, _ in held:
        sock.setblocking(False)
        try:
            while sock.recv(65536):
                pass
        except BlockingIOError:
            pass
    time.sleep(1.0)
    after = rss_kib(server.pid)
    for sock, _ in held:
        sock.close()
    server.kill()
    server.wait()
    return (after - before) / clients


def ratio(takeover: bool) -> float:
    lines = [json.dumps({"event": "said", "nick": "user%d" % (i % 7), "text": "message number %d about gevent" % i,
                         "room": "lobby"}) for i in range(500)]
    raw = sum(len(line) for line in lines)
    total = 0
    comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    for line in lines:
        if not takeover:
            comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        total += len(comp.compress(line.encode()) + comp.flush(zlib.Z_SYNC_FLUSH)) - 4
    return total / raw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=2000)
    args = parser.parse_args()
    print("idle WebSocket memory, %d connections (server RSS growth per connection):" % args.clients)
    for mode, label in (("off", "deflate off"), ("lean", "deflate, no context takeover (now)"),
                        ("takeover", "deflate, context takeover (before)")):
        print("  %-40s %6.1f KiB" % (label, run(mode, args.clients)))
    print("compressed size / raw size of 500 chat messages (~90 B each):")
    print("  %-40s %6.2f" % ("no context takeover (now)", ratio(False)))
    print("  %-40s %6.2f" % ("context takeover (before)", ratio(True)))


if __name__ == "__main__":
    main()
