"""socketio_gevent under benchmark: socket.io echo/fan-out (websocket and
xhr-polling, /socket.io/...) and a plain WebSocket on any other path.

Prints "listening on HOST:PORT" once ready. A client message
"bench:fanout:<count>:<interval_ms>" starts a broadcast of <count> messages
"<send time in ms>" <interval_ms> apart to every connected client of the same
kind (socket.io clients through ``listener.broadcast``; plain WebSocket
clients one ``ws.send`` each, as the raw gevent-websocket server does).
A client message "bench:relay:<text>" is broadcast as "<text>" from the
message handler itself (client-triggered fan-out). With ``--redis URL`` it
is one of several processes on that message bus (bench/servers/cluster.py).
"""
from __future__ import annotations

import sys

if "--redis" in sys.argv:  # redis-py's sockets must be gevent's (bench/servers/cluster.py)
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import time  # noqa: E402

import gevent
from gevent.pywsgi import WSGIServer

import socketio_gevent


plain_sockets = set()


def plain_broadcast(message: str) -> None:
    for ws in list(plain_sockets):
        try:
            ws.send(message)
        except Exception:
            plain_sockets.discard(ws)


def plain_fanout(count: int, interval: float) -> None:
    for _ in range(count):
        plain_broadcast("%.3f" % (time.time() * 1000))
        gevent.sleep(interval)


def plain_echo(environ, start_response):
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    plain_sockets.add(ws)
    try:
        while True:
            message = ws.receive()
            if message is None:
                return []
            if isinstance(message, str) and message.startswith("bench:relay:"):
                plain_broadcast(message[len("bench:relay:"):])
            elif isinstance(message, str) and message.startswith("bench:fanout:"):
                _, _, count, interval = message.split(":")
                gevent.spawn(plain_fanout, int(count), float(interval) / 1000)
            else:
                ws.send(message)
    finally:
        plain_sockets.discard(ws)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--redis", default=None, help="a message_queue URL: one of several processes")
    args = parser.parse_args()
    server = WSGIServer(("127.0.0.1", args.port), plain_echo, log=None, backlog=4096)
    listener = socketio_gevent.listen(
        server, origins="*:*", flash_policy_server=False,
        max_queue_messages=100_000, websocket_deflate=False,
        # no per-client message rate: the echo workloads drive one client
        # past the default 2,000/s (4 KiB echo: 2,400/s), and the peers have none
        inbound_rate=None,
        message_queue=args.redis,
    )

    def fanout(count: int, interval: float) -> None:
        for _ in range(count):
            listener.broadcast("%.3f" % (time.time() * 1000))
            gevent.sleep(interval)

    @listener.on("connection")
    def connected(client):
        def on_message(message, annotations):
            if isinstance(message, str) and message.startswith("bench:relay:"):
                listener.broadcast(message[len("bench:relay:"):])
            elif isinstance(message, str) and message.startswith("bench:fanout:"):
                _, _, count, interval = message.split(":")
                gevent.spawn(fanout, int(count), float(interval) / 1000)
            else:
                client.send(message)

        client.on("message", on_message)

    server.start()
    print("listening on 127.0.0.1:%d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
