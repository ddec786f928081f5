"""A plain WebSocket echo app on socketio_gevent's public interface.

``environ["wsgi.websocket"]`` as gevent-websocket users know it, on our
codecs. Autobahn|Testsuite (kosoku) and the benchmarks drive it.

    python bench/echo_server.py --port 9001 [--no-deflate]
"""
from __future__ import annotations

import argparse
import sys

from gevent.pywsgi import WSGIServer

import socketio_gevent


def echo(environ, start_response):
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"websocket only\n"]
    while True:
        message = ws.receive()
        if message is None:
            return []
        ws.send(message)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--no-deflate", action="store_true")
    parser.add_argument("--max-message-size", type=int, default=64 * 1024 * 1024)
    args = parser.parse_args()
    server = WSGIServer((args.host, args.port), echo, log=None)
    socketio_gevent.listen(
        server,
        origins="*:*",
        flash_policy_server=False,
        websocket_deflate=not args.no_deflate,
        max_message_size=args.max_message_size,
    )
    server.start()
    print("listening on %s:%d" % (args.host, server.server_port), flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
