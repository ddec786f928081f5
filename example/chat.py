"""A chat with rooms: a Flask app with socketio_gevent beside it, in one process.

Run it with ``./run-example`` (or ``python example/chat.py``) and open
http://127.0.0.1:8080. Flask serves the page; what the chat does (nicknames,
rooms, history, the JSON messages it speaks) is in ``chat_logic.py``, which
the Django example (``django_chat/``) uses as well, so any client (the
browser page, ``socketio_gevent.client.SocketClient``) can take part.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from flask import Flask, send_file
from gevent.pywsgi import WSGIServer

import socketio_gevent

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # also when imported as example.chat
    sys.path.insert(0, HERE)

from chat_logic import PAGE, attach_chat  # noqa: E402

__all__ = ["app", "attach_chat", "main"]

app = Flask(__name__, static_folder=None)


@app.route("/")
def index():
    return send_file(PAGE, mimetype="text/html", max_age=0)


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
