"""Wall time of the server's per-request long-poll path alone: one kept-alive poll, driven by hand.

    .venv/bin/python bench/poll_path.py [--root PATH] [--floor]

Why: the long-poll workload's cost per delivery is one HTTP request, and
a change worth 1 µs of it drowns in `bench/run`'s noise across rounds.
Here one real xhr-polling session on a real keep-alive connection, after
the loop took it (:mod:`socketio_gevent.edge.keepalive`), is served
without the loop: the client writes one GET poll, we call the kept
connection's ``on_readable`` ourselves (read, parse the head, route, hold
the poll), send the session one message (the poll is woken), run the
hub's look at woken polls ourselves (the answer is built and written),
and the client reads the answer. Best of five runs of 50,000.
``--floor`` does the same four syscalls with no Python of ours between
them: what is left above it is our per-request Python.

To compare revisions, check the older one out (``git worktree add
/tmp/base REV``) and alternate ``--root /tmp/base`` with this checkout.
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
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--browser", action="store_true",
                        help="the polls carry a browser's ten header lines, not the load generator's one")


args = arguments(__doc__, _own)

import gevent  # noqa: E402
from gevent import socket  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

import socketio_gevent  # noqa: E402
from socketio_gevent.edge.keepalive import KeepAlive  # noqa: E402

server = WSGIServer(("127.0.0.1", 0), None, log=None)
# (a browser's page is on the same site: the default origin policy, not "*:*")
listener = socketio_gevent.listen(server, origins=None if args.browser else "*:*", flash_policy_server=False,
                                  poll_coalesce=0)  # a loop this tight reads as a busy server
clients = []
listener.on("connection", clients.append)
server.start()
client = socket.create_connection(("127.0.0.1", server.server_port))
host = b"Host: 127.0.0.1:%d\r\n" % server.server_port
if args.browser:  # what a desktop browser's XHR sends with each poll, from a page of this site
    site = b"http://127.0.0.1:%d" % server.server_port
    host += (b"Connection: keep-alive\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
             b"(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\nAccept: */*\r\n"
             b"Origin: " + site + b"\r\nReferer: " + site + b"/\r\n"
             b"Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-GB,en;q=0.9\r\n"
             b"Cookie: session=0123456789abcdef0123456789abcdef\r\nSec-Fetch-Site: same-origin\r\n")


def request(path: bytes) -> bytes:
    """One whole answer to a GET on the kept connection (the loop serving it)."""
    client.sendall(b"GET " + path + b" HTTP/1.1\r\n" + host + b"\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += client.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")][0][15:])
    while len(body) < length:
        body += client.recv(65536)
    return body


sid = request(b"/socket.io/xhr-polling//1").split(b":")[2].rstrip(b",")
path = b"/socket.io/xhr-polling/" + sid + b"/"
request(path + b"2")  # the first poll: answered at once (the session opened), and the connection is kept
gevent.sleep(0.1)
(kept,) = [o for o in gc.get_objects() if type(o) is KeepAlive]
(session_client,) = clients
kept._watch.close()  # from now on we call on_readable, not the loop
kept._watch = None
hub = kept._hub


class _NoCallbacks:
    """The hub's loop, but its callbacks are not run: we run the look at woken polls ourselves."""

    def __init__(self, loop: object) -> None:
        self._loop = loop

    def run_callback(self, *args: object) -> None:
        pass

    def __getattr__(self, name: str) -> object:
        return getattr(self._loop, name)


hub.loop = _NoCallbacks(hub.loop)
raw = client._sock if hasattr(client, "_sock") else client  # the plain socket under gevent's
served = kept.sock
poll = b"GET " + path + b"3 HTTP/1.1\r\n" + host + b"\r\n"


def run(count: int) -> None:
    if args.floor:
        syscall_floor(raw, served, poll, answer, count)
        return
    look = hub._look
    send = session_client.send
    for _ in range(count):
        raw.send(poll)
        kept.on_readable()
        send("0123456")
        look()
        raw.recv(4096)


def check() -> bytes:
    """The loop above is the path we mean to time: the poll is held, then answered (its answer)."""
    raw.send(poll)
    kept.on_readable()
    assert kept._poll is not None, "the poll was not held"
    session_client.send("check")
    hub._look()
    assert kept._poll is None, "the poll was not answered"
    reply = raw.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"::check,"), reply
    return reply


answer = check()  # (the floor writes an answer of the same size)
gc.collect()
gc.freeze()  # the set-up's objects are not scanned again at each collection
print("%s%s%s: %.2f µs per poll, wall time (server path and the client's two syscalls)"
      % (args.root, " floor" if args.floor else "", " browser" if args.browser else "",
         best_wall(run, args.count) * 1e6))
