"""The server the browser tests drive, run in its own process.

Playwright's sync API runs an asyncio loop on greenlets and deadlocks with a
gevent server in the same process, so the tests start this script instead:

    python tests/browser/app.py --port 0 [--transports a,b] [--stream-limit N]

It prints "listening on 127.0.0.1:PORT". Behaviour: every client gets
"welcome"; a message is echoed with its annotations; {"cmd": "broadcast",
"msg": m} broadcasts m to the others; realm "chat" echoes "chat:<m>" in the
realm. Named events (§8): "add" answers a + b, "note" is recorded, "echo"
answers its arguments. /control/* lets a test look inside and act on the
server (/control/emit sends an event to a page and records its answer).
/inline.html?transport=T is a page that connects from an inline script,
before its load event.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from urllib.parse import parse_qs

import gevent
import gevent.event
from gevent.pywsgi import WSGIServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import socketio_gevent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "example")
events = {"connect": [], "disconnect": [], "messages": [], "named": []}
answers: dict = {}         # /control/emit's key -> the page's answer, as the callback's arguments
numbered: dict = {}        # chaos mode: client id -> the numbers it sent, as they came
chaos_clients: dict = {}   # client id -> its current session
proxy = None
listener: socketio_gevent.Listener
server: WSGIServer


def page(environ, start_response):
    body = b"""<!doctype html><html><head><meta charset="utf-8"><title>test</title>
<script src="/socket.io/socket.io.js"></script></head><body>test page</body></html>"""
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


INLINE = """<!doctype html><html><head><meta charset="utf-8"><title>inline</title>
<script src="/socket.io/socket.io.js"></script></head><body>
<p>A page that connects while it loads.</p>
<script>
window.log = [];
window.stateAtConnect = document.readyState;
window.loadedAt = null;
window.addEventListener('load', function () { loadedAt = Date.now(); });
var sock = window.sock = new io.Socket('127.0.0.1',
  {port: Number(location.port), transports: [%(transport)s], connectTimeout: 4000});
sock.on('connect', function () { log.push(['connect', sock.transport, document.readyState]); });
sock.on('message', function (m) { log.push(['message', m]); });
sock.connect();
</script>
<p>The end of the body.</p>
</body></html>"""


def inline_page(environ, start_response):
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    body = (INLINE % {"transport": json.dumps(query.get("transport", "htmlfile"))}).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def cut(sid: str) -> bool:
    """Close the socket under a session's current request (a network cut, server side)."""
    session = server.application.sessions.find(sid)
    connection = session.machine.connection if session else None
    if connection is None:
        return False
    ws = getattr(connection, "ws", None)
    (ws or connection).abort()
    return True


def control(environ, start_response):
    path = environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/control/events":
        result = events
    elif path == "/control/clients":
        result = [{"sid": c.session_id, "transport": c.transport, "connections": c.connections}
                  for c in listener.clients.values()]
    elif path == "/control/proxy":
        result = {"port": proxy.port if proxy else None, "cuts": proxy.cuts if proxy else 0}
    elif path == "/control/numbered":
        result = numbered.get(query["id"], [])
    elif path == "/control/cut":
        result = cut(query["sid"])
    elif path == "/control/send":
        client = listener.clients.get(query["sid"])
        for i in range(int(query.get("count", "1"))):
            if client is not None:
                client.send(query.get("prefix", "m") + str(i))
        result = client is not None
    elif path == "/control/emit":
        client = listener.clients.get(query["sid"])
        args = json.loads(query.get("args", "[]"))
        key = query.get("key")
        if client is not None:
            if key:
                answers.pop(key, None)
                client.emit(query["name"], *args, callback=lambda *got: answers.__setitem__(key, list(got)))
            else:
                client.emit(query["name"], *args)
        result = client is not None
    elif path == "/control/emit_all":
        listener.emit(query["name"], *json.loads(query.get("args", "[]")))
        result = True
    elif path == "/control/answers":
        result = answers
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such control\n"]
    body = json.dumps(result).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path.startswith("/control/"):
        return control(environ, start_response)
    if path == "/inline.html":
        return inline_page(environ, start_response)
    return page(environ, start_response)


def main() -> None:
    global listener, server
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--transports", default="")
    parser.add_argument("--stream-limit", type=int, default=128 * 1024)
    parser.add_argument("--example", action="store_true", help="serve the example chat app instead")
    parser.add_argument("--chaos", action="store_true",
                        help="a cutting proxy in front of the server (GET /control/proxy says where)")
    args = parser.parse_args()
    options = dict(flash_policy_server=False, stream_limit=args.stream_limit)
    if args.chaos:
        options["origins"] = "*:*"  # the page comes from the server, the socket through the proxy
    if args.transports:
        options["transports"] = args.transports.split(",")
    if args.example:
        sys.path.insert(0, EXAMPLE)
        import chat

        server = WSGIServer(("127.0.0.1", args.port), chat.app, log=None)
        listener = socketio_gevent.listen(server, **options)
        chat.attach_chat(listener)
    else:
        server = WSGIServer(("127.0.0.1", args.port), app, log=None)
        listener = socketio_gevent.listen(server, **options)
        attach_test_behaviour(listener)
    server.start()
    if args.chaos:
        global proxy
        import random

        from tests.integration.chaos import CuttingProxy

        proxy = CuttingProxy(server.server_port, random.Random(3), mean_life=0.3)
    print("listening on 127.0.0.1:%d" % server.server_port, flush=True)
    server.serve_forever()


def stream_numbers(ident: str, count: int) -> None:
    """Chaos mode: the server's numbered messages 1..count to a client id."""
    for k in range(1, count + 1):
        chaos_clients[ident].send(str(k))
        gevent.sleep(0.01)


def attach_test_behaviour(listener: socketio_gevent.Listener) -> None:
    @listener.on("connection")
    def connected(client):
        events["connect"].append({"sid": client.session_id, "transport": client.transport})
        client.send("welcome")

        @client.on("message")
        def message(msg, annotations):
            shown = msg if not isinstance(msg, bytes) else {"bytes": list(msg)}
            events["messages"].append({"sid": client.session_id, "msg": shown, "annotations": annotations})
            if isinstance(msg, dict) and msg.get("cmd") == "broadcast":
                client.broadcast(msg["msg"])
            elif isinstance(msg, dict) and msg.get("cmd") == "stream":
                chaos_clients[msg["id"]] = client
                gevent.spawn(stream_numbers, msg["id"], int(msg["count"]))
            elif isinstance(msg, str) and msg.startswith("n:"):
                _, ident, k = msg.split(":")
                chaos_clients[ident] = client
                numbered.setdefault(ident, []).append(int(k))
            elif annotations.get("r") != "chat":
                client.send(msg, annotations or None)

        @client.on("disconnect")
        def gone():
            events["disconnect"].append(client.session_id)

    # Named events (§8): the handler's return value answers the page's callback.
    listener.on("add", lambda client, a, b: a + b)
    listener.on("echo", lambda client, *args: list(args))

    @listener.on("ask")
    def ask(client, sid, name, *args):
        """Relay an event to another client and answer with its answer: a
        handler may wait (it holds up no other client)."""
        target = listener.clients.get(sid)
        if target is None:
            return {"error": "no client %s" % sid}
        result = gevent.event.AsyncResult()
        target.emit(name, *args, callback=lambda *got: result.set(list(got)))
        return result.get(timeout=5)

    @listener.on("note")
    def note(client, *args):
        events["named"].append({"sid": client.session_id, "name": "note", "args": list(args)})

    chat = listener.realm("chat")

    @chat.on("connection")
    def realm_connected(rc):
        rc.on("message", lambda msg, annotations: rc.send("chat:%s" % (msg,)))


if __name__ == "__main__":
    main()
