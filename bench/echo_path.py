"""Wall time of the server's per-message path alone: one session's echo, driven by hand.

    .venv/bin/python bench/echo_path.py [--root PATH] [--floor]

Why: `bench/echo_inprocess.py` counts the clients' CPU too, and the loop's
scheduling between them; a change worth 0.3 µs of a 10 µs round trip
drowns there. Here one real session on a real socket is served without the
loop: the client writes one masked frame, we call the session socket's
`on_readable` ourselves (read, decode, deliver, the handler's `send`, the
write), and the client reads the echo. Best of five runs of 100,000.
`--floor` does the same four syscalls with no Python of ours between them:
what is left above it is our per-message Python.

To compare revisions, check the older one out (`git worktree add
/tmp/base REV`) and alternate `--root /tmp/base` with this checkout.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib.inprocess import arguments, best_wall, syscall_floor  # noqa: E402


def _own(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--floor", action="store_true", help="the syscalls alone, no session")
    parser.add_argument("--count", type=int, default=100_000)


args = arguments(__doc__, _own)

import gevent  # noqa: E402
from gevent import socket  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

import socketio_gevent  # noqa: E402
from socketio_gevent.edge.websocket import SessionSocket  # noqa: E402
from socketio_gevent.websocket.rfc6455 import RFC6455Codec  # noqa: E402

from benchlib.rawsocket import websocket_upgrade  # noqa: E402

server = WSGIServer(("127.0.0.1", 0), None, log=None)
listener = socketio_gevent.listen(server, origins="*:*", flash_policy_server=False,
                                  websocket_deflate=False, inbound_rate=None)
listener.on("connection", lambda client: client.on("message", lambda message, annotations: client.send(message)))
server.start()
client = socket.create_connection(("127.0.0.1", server.server_port))
codec = RFC6455Codec(client=True)
codec.receive_data(websocket_upgrade(client))
gevent.sleep(0.2)  # the session is open and its socket watched
(session_socket,) = [o for o in gc.get_objects() if type(o) is SessionSocket]
session_socket._watch.close()  # from now on we call on_readable, not the loop
session_socket._watch = None
raw = client._sock if hasattr(client, "_sock") else client  # the plain socket under gevent's
served = session_socket.ws.sock
frame = codec.send_text("1:17::0123456789abcdef,")
echo = session_socket.codec.send_text("1:17::0123456789abcdef,")


def run(count: int) -> None:
    if args.floor:
        syscall_floor(raw, served, frame, echo, count)
        return
    for _ in range(count):
        raw.send(frame)
        session_socket.on_readable()
        raw.recv(4096)


print("%s%s: %.2f µs per echo, wall time (server path and the client's two syscalls)"
      % (args.root, " floor" if args.floor else "", best_wall(run, args.count) * 1e6))
