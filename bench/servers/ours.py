"""socketio_gevent under benchmark: socket.io echo/fan-out and a plain /echo WebSocket.

Prints "listening on HOST:PORT" once ready. A client message
"bench:fanout:<count>:<interval_ms>" starts a broadcast of <count> messages
"<send time in ms>" <interval_ms> apart to every connected client.
"""
from __future__ import annotations

import argparse
import time

import gevent
from gevent.pywsgi import WSGIServer

import socketio_gevent


def plain_echo(environ, start_response):
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    while True:
        message = ws.receive()
        if message is None:
            return []
        ws.send(message)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = WSGIServer(("127.0.0.1", args.port), plain_echo, log=None, backlog=4096)
    listener = socketio_gevent.listen(
        server, origins="*:*", flash_policy_server=False,
        max_queue_messages=100_000, websocket_deflate=False,
    )

    def fanout(count: int, interval: float) -> None:
        for _ in range(count):
            listener.broadcast("%.3f" % (time.time() * 1000))
            gevent.sleep(interval)

    @listener.on("connection")
    def connected(client):
        def on_message(message, annotations):
            if isinstance(message, str) and message.startswith("bench:fanout:"):
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
