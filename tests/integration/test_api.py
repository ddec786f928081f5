"""The application API of docs/protocol.rst §7 on a real server, driven by the Python client."""
from __future__ import annotations

import gc
import logging

import gevent
import pytest
from gevent.pywsgi import WSGIServer
from greenlet import greenlet

import socketio_gevent
from socketio_gevent.client import SocketClient
from socketio_gevent.api.listener import Listener
from socketio_gevent.protocol.options import ALL_TRANSPORTS

from .helpers import handshake, poll_frames, post


def test_unknown_options_are_a_type_error_naming_them():
    with pytest.raises(TypeError, match="close_timout.*nope|nope.*close_timout"):
        Listener(close_timout=3, nope=1)
    with pytest.raises(TypeError, match="durration"):
        Listener(transport_options={"xhr-polling": {"durration": 1}})
    with pytest.raises(ValueError, match="carrier-pigeon"):
        Listener(transports=["carrier-pigeon"])


def test_defaults_follow_the_protocol_tables():
    opts = Listener().options
    assert opts.resource == "socket.io"
    assert opts.transports == ALL_TRANSPORTS
    assert opts.origins is None and opts.flash_policy_server and opts.flash_policy_port == 843
    assert (opts.max_message_size, opts.max_queue_messages, opts.max_queue_bytes) == (1 << 20, None, 16 << 20)
    assert opts.inbound_rate == 2000
    assert (opts.max_payload_messages, opts.max_sessions) == (1000, 20000)
    assert opts.handshake_timeout == 10
    ws = opts.transport("websocket")
    assert (ws.heartbeat_interval, ws.heartbeat_timeout, ws.close_timeout, ws.duration) == (10, 8, 8, None)
    xp = opts.transport("xhr-polling")
    assert (xp.heartbeat_interval, xp.heartbeat_timeout, xp.close_timeout, xp.duration) == (None, None, 8, 20)


def test_listen_wraps_the_app_and_sets_the_handler():
    server = WSGIServer(("127.0.0.1", 0), None, log=None)
    listener = socketio_gevent.listen(server, flash_policy_server=False)
    assert isinstance(server.application, socketio_gevent.SocketIOMiddleware)
    assert issubclass(server.handler_class, socketio_gevent.SocketIOHandler)
    assert server.handler_class.listener is listener  # bound: it follows this listener's options
    assert server.handler_class is server.application.handler_class
    assert listener.server is server and server.application.listener is listener


def test_events_with_option_handlers_and_client_events(serve):
    log = []
    served = serve(
        on_client_connect=lambda c: log.append("connect"),
        on_client_message=lambda m, c: log.append(("message", m)),
        on_client_disconnect=lambda c: log.append("disconnect"),
    )
    listener = served.listener

    @listener.on("connection")
    def on_connection(client):
        log.append("connection")
        client.on("message", lambda m, a: log.append(("client message", m, a)))
        client.on("disconnect", lambda: log.append("client disconnect"))

    client = SocketClient(served.url).connect()
    client.send("hi", {"x": "1"})
    client.disconnect()
    gevent.sleep(0.2)
    assert log == [
        "connection", "connect",  # "connection", then "clientConnect"
        ("client message", "hi", {"x": "1"}), ("message", "hi"),
        "client disconnect", "disconnect",
    ]
    listener.remove_listener("connection", on_connection)
    SocketClient(served.url).connect().disconnect()
    gevent.sleep(0.1)
    assert log.count("connection") == 1


def test_a_raising_handler_is_logged_and_harms_nothing(serve, caplog):
    served = serve()
    served.listener.on("clientMessage", lambda m, c: 1 / 0)
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    client = SocketClient(served.url).connect()
    with caplog.at_level(logging.ERROR, logger="socketio_gevent"):
        client.send("a")
        client.send("b")
    assert got == ["a", "b"]
    assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)
    client.disconnect()


def test_broadcast_with_except_single_and_list(serve):
    served = serve()
    clients = [SocketClient(served.url).connect() for _ in range(3)]
    a, b, c = (cl.session_id for cl in clients)
    served.listener.broadcast("all")
    served.listener.broadcast("not a", except_=a)
    served.listener.broadcast("only c", except_=[a, b])
    served.listener.broadcast({"j": [1]}, annotations={"k": "v"})
    expected = {
        a: ["all"],
        b: ["all", "not a"],
        c: ["all", "not a", "only c"],
    }
    for cl in clients:
        got = [cl.receive(timeout=5) for _ in range(len(expected[cl.session_id]) + 1)]
        assert got == [(m, {}) for m in expected[cl.session_id]] + [({"j": [1]}, {"k": "v"})]
        cl.disconnect()


def test_client_broadcast_reaches_all_but_the_sender(serve):
    served = serve()
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: c.broadcast(m)))
    one, two = SocketClient(served.url).connect(), SocketClient(served.url).connect()
    one.send("from one")
    assert two.receive(timeout=5) == ("from one", {})
    with pytest.raises(TimeoutError):
        one.receive(timeout=0.5)


def test_realms_filter_annotate_and_reach_plain_listeners(serve):
    served = serve()
    listener = served.listener
    chat = listener.realm("chat")
    assert listener.realm("chat") is chat
    chat_got, plain_got = [], []

    @chat.on("connection")
    def realm_connection(rc):
        rc.on("message", lambda m, a: (chat_got.append(m), rc.send("echo " + m)))

    listener.on("clientMessage", lambda m, c: plain_got.append(m))
    client = SocketClient(served.url).connect()
    client.send("outside")
    client.send("inside", {"r": "chat"})
    assert chat_got == ["inside"]
    assert plain_got == ["outside", "inside"]
    assert client.receive(timeout=5) == ("echo inside", {"r": "chat"})
    chat.broadcast("to the realm")
    assert client.receive(timeout=5) == ("to the realm", {"r": "chat"})
    client.disconnect()


def test_realm_wire_form_is_canonical(serve):
    served = serve()
    conn = served.http()
    sid = handshake(conn)
    served.listener.realm("chat").broadcast("Hello world")
    assert conn.request("GET", "/socket.io/xhr-polling/%s/1" % sid).body == b"1:19:r:chat\n:Hello world,"


def test_log_option_takes_a_callable(serve):
    lines = []
    served = serve(log=lines.append, max_queue_messages=1)
    conn = served.http()
    sid = handshake(conn)
    served.listener.clients[sid].send("1")
    served.listener.clients[sid].send("2")
    assert any(line.startswith("WARNING") and "max_queue_messages" in line for line in lines)


def test_log_option_takes_a_logger(serve, caplog):
    logger = logging.getLogger("myapp.realtime")
    served = serve(log=logger, max_queue_messages=1)
    conn = served.http()
    sid = handshake(conn)
    with caplog.at_level(logging.WARNING, logger="myapp.realtime"):
        served.listener.clients[sid].send("1")
        served.listener.clients[sid].send("2")
    assert any(r.name == "myapp.realtime" and "max_queue_messages" in r.getMessage() for r in caplog.records)


def test_client_attributes(serve):
    served = serve()
    conn = served.http()
    sid = handshake(conn, headers=[("X-Probe", "yes")])
    client = served.listener.clients[sid]
    assert client.listener is served.listener
    assert client.session_id == sid
    assert client.environ["HTTP_X_PROBE"] == "yes"
    assert client.connections == 0
    client.send("x")
    poll_frames(conn, sid)
    assert client.connections == 1
    # the same session may be reopened on another transport (§3)
    client.send("y")
    body = conn.request("GET", "/socket.io/jsonp-polling/%s/1/3" % sid).body
    assert body == b'io.JSONP[3]._("1:2::y,");'
    assert client.transport == "jsonp-polling" and client.connections == 2


def _live_greenlets() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet) and not o.dead)


def test_thousand_sessions_open_and_end_without_leaks(serve):
    served = serve(transport_options={"xhr-polling": {"close_timeout": 0.5}})
    listener = served.listener
    disconnected = []
    listener.on("clientDisconnect", lambda c: disconnected.append(c.session_id))
    conn = served.http()
    handshake(conn)  # warm up: the server's own accept greenlets exist from here
    gevent.sleep(0.7)
    baseline = _live_greenlets()
    sids = []
    for i in range(1000):
        sid = handshake(conn)
        sids.append(sid)
        if i % 3 == 0:
            post(conn, sid, "0:0:,")  # the client leaves
        elif i % 3 == 1:
            listener.clients[sid].disconnect()  # the application ends it
            poll_frames(conn, sid)
        # else: the client never comes back (close_timeout)
    gevent.sleep(1.5)
    assert len(served.sessions) == 0 and listener.clients == {}
    assert len(set(disconnected) & set(sids)) == 1000 and len(disconnected) == 1001
    assert _live_greenlets() <= baseline
