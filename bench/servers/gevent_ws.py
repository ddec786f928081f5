"""The floor: a raw gevent-websocket echo / broadcast server (no framing on top).

Runs in bench/.venv-peers. "bench:fanout:<count>:<interval_ms>" broadcasts
"<send time in ms>" to every connected socket, as the other servers do;
"bench:relay:<text>" broadcasts "<text>" at once (client-triggered fan-out).
"""
from __future__ import annotations

import argparse
import time

import gevent
from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler

sockets = set()


def broadcast(message: str) -> None:
    for ws in list(sockets):
        try:
            ws.send(message)
        except Exception:
            sockets.discard(ws)


def fanout(count: int, interval: float) -> None:
    for _ in range(count):
        broadcast("%.3f" % (time.time() * 1000))
        gevent.sleep(interval)


def app(environ, start_response):
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    sockets.add(ws)
    try:
        while True:
            message = ws.receive()
            if message is None:
                break
            if isinstance(message, str) and message.startswith("bench:relay:"):
                broadcast(message[len("bench:relay:"):])
            elif isinstance(message, str) and message.startswith("bench:fanout:"):
                _, _, count, interval = message.split(":")
                gevent.spawn(fanout, int(count), float(interval) / 1000)
            else:
                ws.send(message)
    except Exception:
        pass
    finally:
        sockets.discard(ws)
    return []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = WSGIServer(("127.0.0.1", args.port), app, handler_class=WebSocketHandler, log=None, backlog=4096)
    server.start()
    print("listening on 127.0.0.1:%d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
