"""The application the worker processes of tests/scale serve (gunicorn loads ``app``).

Its message handler runs commands, so a test drives every kind of
cross-process send from a client:

- ``bcast:<text>``: ``listener.broadcast(text)``
- ``room:<room>:<text>``: ``listener.to(room).send(text)``
- ``join:<room>``: ``client.join(room)``, answered ``joined:<room>``
- ``to:<sid>:<text>``: ``listener.to(sid).send(text)`` (a session of any process)
- ``kick:<sid>``: ``listener.disconnect(sid)``
- ``realm:<text>``: ``listener.realm("chat").broadcast(text)``
- ``pid``: answered ``pid:<this process>``
- anything else: echoed back as ``echo:<message>``
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List

import socketio_gevent


PAGE = b"""<!doctype html><html><head><meta charset="utf-8">
<script src="/socket.io/socket.io.js"></script></head><body>scale</body></html>"""


def page(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    kind = "text/plain"
    if environ.get("PATH_INFO") == "/health":
        body = repr(listener.health()).encode()
    elif environ.get("PATH_INFO") == "/page.html":
        body, kind = PAGE, "text/html; charset=utf-8"
    else:
        body = b"page"
    start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


listener = socketio_gevent.Listener(
    origins="*:*",
    message_queue=os.environ.get("SCALE_REDIS_URL") or None,
    channel=os.environ.get("SCALE_CHANNEL", "socketio_gevent"),
    inbound_rate=None,
)


@listener.on("clientMessage")
def command(message: Any, client: Any) -> None:
    if not isinstance(message, str):
        client.send(message)
        return
    verb, _, rest = message.partition(":")
    if verb == "bcast":
        listener.broadcast(rest)
    elif verb == "room":
        room, _, text = rest.partition(":")
        listener.to(room).send(text)
    elif verb == "join":
        client.join(rest)
        client.send("joined:" + rest)
    elif verb == "to":
        sid, _, text = rest.partition(":")
        listener.to(sid).send(text)
    elif verb == "realm":
        listener.realm("chat").broadcast(rest)
    elif verb == "kick":
        listener.disconnect(rest)
    elif message == "pid":
        client.send("pid:%d" % os.getpid())
    else:
        client.send("echo:" + message)


app = socketio_gevent.SocketIOMiddleware(page, listener)
