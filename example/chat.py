"""A chat room: a Flask app with socketio_gevent beside it, in one process.

Run it with ``./run-example`` (or ``python example/chat.py``) and open
http://127.0.0.1:8080. Every message is JSON: ``{"nick": name}`` to choose a
nickname, ``{"say": text}`` to speak. The server answers with ``welcome``,
``said``, ``joined``, ``left`` and ``online`` events, so any client (the
browser page, ``socketio_gevent.client.SocketClient``) can take part.
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import Dict

from flask import Flask, send_from_directory
from gevent.pywsgi import WSGIServer

import socketio_gevent

HERE = os.path.dirname(os.path.abspath(__file__))
app = Flask(__name__, static_folder=None)


@app.route("/")
def index():
    return send_from_directory(os.path.join(HERE, "static"), "chat.html")


def attach_chat(listener: "socketio_gevent.Listener") -> None:
    """Wire the chat room's behaviour onto a listener (also used by the Django example)."""
    nicks: Dict[str, str] = {}

    def online() -> list:
        return sorted(nicks.values())

    @listener.on("connection")
    def connected(client):
        nicks[client.session_id] = "guest-" + client.session_id[:4]
        client.send({"event": "welcome", "nick": nicks[client.session_id],
                     "transport": client.transport, "online": online()})
        client.broadcast({"event": "joined", "nick": nicks[client.session_id], "online": online()})

        @client.on("message")
        def message(msg, annotations):
            if not isinstance(msg, dict):
                return
            if isinstance(msg.get("nick"), str) and msg["nick"].strip():
                old, nicks[client.session_id] = nicks[client.session_id], msg["nick"].strip()[:32]
                listener.broadcast({"event": "renamed", "old": old,
                                    "nick": nicks[client.session_id], "online": online()})
            elif isinstance(msg.get("say"), str) and msg["say"].strip():
                listener.broadcast({"event": "said", "nick": nicks[client.session_id],
                                    "text": msg["say"][:2000], "transport": client.transport})

        @client.on("disconnect")
        def gone():
            nick = nicks.pop(client.session_id, "?")
            listener.broadcast({"event": "left", "nick": nick, "online": online()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = WSGIServer((args.host, args.port), app)
    listener = socketio_gevent.listen(server, flash_policy_server=False)
    attach_chat(listener)
    server.start()
    print("chat example on http://%s:%d" % (args.host, server.server_port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
