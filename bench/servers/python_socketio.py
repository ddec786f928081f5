"""python-socketio 5 + python-engineio under gevent (async_mode "gevent",
gevent-websocket's handler): the Python peer. Runs in bench/.venv-peers.

Events: "echo" is answered with the same data; "fanout" [count, interval_ms]
emits "tick" with the send time in ms to everyone; "relay" <text> emits "tick"
<text> to everyone from the handler itself (client-triggered fan-out).
With ``--redis URL`` it is one of several processes on a RedisManager.
"""
from __future__ import annotations

import sys

if "--redis" in sys.argv:  # its RedisManager uses redis-py: sockets must be gevent's
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import time  # noqa: E402

import socketio
from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler

def _manager():
    """One of several processes on a RedisManager (bench/servers/cluster.py), or alone."""
    if "--redis" in sys.argv:
        return socketio.RedisManager(sys.argv[sys.argv.index("--redis") + 1])
    return None


sio = socketio.Server(async_mode="gevent", cors_allowed_origins="*", client_manager=_manager())


@sio.on("echo")
def echo(sid, data):
    sio.emit("echo", data, to=sid)


@sio.on("relay")
def relay(sid, data):
    sio.emit("tick", data)


@sio.on("fanout")
def fanout(sid, data):
    count, interval = data

    def run():
        for _ in range(int(count)):
            sio.emit("tick", "%.3f" % (time.time() * 1000))
            sio.sleep(float(interval) / 1000)

    sio.start_background_task(run)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--redis", default=None, help="a RedisManager URL: one of several processes")
    args = parser.parse_args()
    server = WSGIServer(("127.0.0.1", args.port), socketio.WSGIApp(sio), handler_class=WebSocketHandler,
                        log=None, backlog=4096)
    server.start()
    print("listening on 127.0.0.1:%d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
