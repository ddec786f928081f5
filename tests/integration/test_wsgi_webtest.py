"""Plain HTTP exchanges through the middleware with WebTest (no long polls here)."""
from __future__ import annotations

import webtest

from socketio_gevent import Listener, SocketIOMiddleware
from socketio_gevent.protocol.framing import decode_payload

from ..conftest import plain_app


def make(**options):
    options.setdefault("flash_policy_server", False)
    listener = Listener(**options)
    return webtest.TestApp(SocketIOMiddleware(plain_app, listener)), listener


def test_fall_through_keeps_the_app_and_environ_untouched():
    app, _ = make()
    assert app.get("/hello?x=1").text == "app:/hello"
    assert app.get("/socket.io").text == "app:/socket.io"


def test_handshake_then_post_then_disconnect():
    app, listener = make()
    got = []
    listener.on("clientMessage", lambda m, c: got.append(m))
    sid = decode_payload(app.get("/socket.io/xhr-polling//1").text)[0].data
    assert sid in listener.clients
    assert app.post("/socket.io/xhr-polling/%s/send" % sid, {"data": "1:2::x,"}).text == "ok"
    assert got == ["x"]
    assert app.post("/socket.io/xhr-polling/%s/send" % sid, {"data": "0:0:,"}).text == "ok"
    assert sid not in listener.clients
    app.post("/socket.io/xhr-polling/%s/send" % sid, {"data": "1:2::x,"}, status=404)


def test_resource_option_moves_the_paths():
    app, listener = make(resource="rt")
    assert app.get("/socket.io/xhr-polling//1").text.startswith("app:")
    assert app.get("/rt/xhr-polling//1").text.startswith("3:")


def test_refusals():
    app, _ = make(transports=["xhr-polling"])
    app.get("/socket.io/jsonp-polling//1/0", status=404)
    app.get("/socket.io/xhr-polling//1", headers={"Origin": "http://evil.example"}, status=403)
    app.put("/socket.io/xhr-polling//1", status=405)
    app.get("/socket.io/websocket", status=404)
    app2, _ = make()
    assert "websocket" in app2.get("/socket.io/websocket", status=400).text  # not an upgrade


def test_browser_client_is_served_with_etag_and_304():
    app, _ = make()
    first = app.get("/socket.io/socket.io.js")
    assert first.content_type == "application/javascript"
    assert b"io.Socket" in first.body and first.headers["ETag"].startswith('"')
    again = app.get("/socket.io/socket.io.js", headers={"If-None-Match": first.headers["ETag"]}, status=304)
    assert again.body == b""
    assert app.get("/socket.io/socket.io.js", headers={"If-None-Match": '"other"'}).status_int == 200
    app.post("/socket.io/socket.io.js", status=405)
