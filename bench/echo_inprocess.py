"""CPU per WebSocket echo round trip, server and clients in one process.

    .venv/bin/python bench/echo_inprocess.py [--root PATH] [--clients 50] [--seconds 4]

Why: on this shared 2-core machine the cross-process echo figure of
bench/run moves by ±20 % between rounds, more than a small change on the
per-message path is worth. In one process there is no scheduler between
client and server: the CPU time per round trip (clients included, the same
on both sides of a comparison) moves by ±2 %. To compare revisions, check
the older one out (``git worktree add /tmp/base REV``) and alternate::

    for i in 1 2 3; do .venv/bin/python bench/echo_inprocess.py --root /tmp/base;
                       .venv/bin/python bench/echo_inprocess.py; done
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib.inprocess import arguments  # noqa: E402


def _own(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=4.0)


args = arguments(__doc__, _own)

from gevent import monkey  # noqa: E402

monkey.patch_all()

import gevent  # noqa: E402
from gevent import socket  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

import socketio_gevent  # noqa: E402
from socketio_gevent.websocket import events as ev  # noqa: E402
from socketio_gevent.websocket.rfc6455 import RFC6455Codec  # noqa: E402

from benchlib.rawsocket import websocket_upgrade  # noqa: E402

server = WSGIServer(("127.0.0.1", 0), None, log=None)
listener = socketio_gevent.listen(server, origins="*:*", flash_policy_server=False, websocket_deflate=False)
listener.on("connection", lambda client: client.on("message", lambda message, annotations: client.send(message)))
server.start()
count = [0]
stop = [False]


def client() -> None:
    sock = socket.create_connection(("127.0.0.1", server.server_port))
    codec = RFC6455Codec(client=True)
    codec.receive_data(websocket_upgrade(sock))
    message = codec.send_text("1:17::0123456789abcdef,")
    while not stop[0]:
        sock.sendall(message)
        echoed = False
        while not echoed:
            codec.receive_data(sock.recv(65536))
            echoed = any(isinstance(e, ev.Text) and "0123456789abcdef" in e.data for e in codec.events())
        count[0] += 1
    sock.close()


clients = [gevent.spawn(client) for _ in range(args.clients)]
gevent.sleep(1.0)  # warm up
before, cpu = count[0], time.process_time()
gevent.sleep(args.seconds)
done, used = count[0] - before, time.process_time() - cpu
stop[0] = True
print("%s: %d round trips, %.2f µs CPU each (clients included)" % (args.root, done, used / done * 1e6))
