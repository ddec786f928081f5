"""CPU per broadcast delivery, server and clients in one process, clients idle.

    .venv/bin/python bench/fanout_inprocess.py [--root PATH] [--clients 1000] [--broadcasts 50] [--rounds 7]
                                               [--mode ours|bare-send|python-only]

Why: bench/run's fan-out figure moves by ±5-10 % between rounds on this
shared machine, more than a change to the per-delivery path is worth. Here
the clients do not read while ``listener.broadcast`` runs (each round's
messages fit in their socket buffers, and they drain between rounds), so
the CPU time measured is the server's alone: our Python per recipient plus
the ``send`` syscall, which on loopback also queues the bytes at the
receiver. The median of the rounds moves by ±2–7 % between runs. To compare
revisions, check the older one out (``git worktree add /tmp/base REV``) and
alternate::

    for i in 1 2 3; do .venv/bin/python bench/fanout_inprocess.py --root /tmp/base;
                       .venv/bin/python bench/fanout_inprocess.py; done
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib.inprocess import arguments  # noqa: E402


def _own(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--broadcasts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--mode", choices=["ours", "bare-send", "python-only"], default="ours",
                        help="bare-send: a plain loop of sock.send of the same frame to the same sockets (the "
                             "kernel's floor); python-only: ours, with sockets whose send does nothing")


args = arguments(__doc__, _own)

import gevent  # noqa: E402
from gevent import socket  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

import socketio_gevent  # noqa: E402
from socketio_gevent.websocket import events as ev  # noqa: E402
from socketio_gevent.websocket.rfc6455 import RFC6455Codec  # noqa: E402

from benchlib.rawsocket import websocket_upgrade  # noqa: E402

server = WSGIServer(("127.0.0.1", 0), None, log=None, backlog=4096)
listener = socketio_gevent.listen(server, origins="*:*", flash_policy_server=False, websocket_deflate=False,
                                  max_queue_messages=100_000)
server.start()


def connect() -> "tuple[socket.socket, RFC6455Codec]":
    sock = socket.create_connection(("127.0.0.1", server.server_port))
    codec = RFC6455Codec(client=True)
    codec.receive_data(websocket_upgrade(sock))
    return sock, codec


def drain(sock: socket.socket, codec: RFC6455Codec, want: int) -> None:
    """Read until ``want`` messages of the broadcast have come (heartbeats aside)."""
    got = 0
    while got < want:
        codec.receive_data(sock.recv(65536))
        got += sum(1 for e in codec.events() if isinstance(e, ev.Text) and "~" in e.data)


clients = [connect() for _ in range(args.clients)]
deadline = time.monotonic() + 30
while len(listener.clients) < args.clients:
    if time.monotonic() > deadline:
        sys.exit("only %d of %d clients connected" % (len(listener.clients), args.clients))
    gevent.sleep(0.05)
for sock, codec in clients:  # the session frame each got on opening
    codec.receive_data(sock.recv(65536))
    list(codec.events())



class NullSocket:
    """A socket whose ``send`` takes everything and does nothing."""

    def send(self, data: bytes) -> int:
        return len(data)


connections = [session.machine.connection.ws for session in listener._sessions.values()]
sockets = [ws.sock for ws in connections]
frame = RFC6455Codec().send_text("1:3::~0,")


def broadcast(i: int) -> None:
    if args.mode == "bare-send":
        for sock in sockets:
            sock.send(frame)
    else:
        listener.broadcast("~%d" % i)


if args.mode == "python-only":
    for ws in connections:
        ws.sock = NullSocket()
costs = []
for _ in range(args.rounds):
    began = time.process_time()
    for i in range(args.broadcasts):
        broadcast(i)
    used = time.process_time() - began
    costs.append(used / (args.broadcasts * args.clients) * 1e6)
    if args.mode != "python-only":
        gevent.joinall([gevent.spawn(drain, sock, codec, args.broadcasts) for sock, codec in clients],
                       raise_error=True)
print("%s, %s: %.3f µs CPU per delivery, server only (median of %d rounds: %s)"
      % (args.root, args.mode, statistics.median(costs), args.rounds, ", ".join("%.3f" % c for c in costs)))
