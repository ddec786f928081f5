"""Named events, their answers and loud mistakes on a real server (docs/protocol.rst §10).

The Python client and the server on every side of an event; a raw
WebSocket for the exact bytes and for a client that knows only 2010.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, List

import gevent
import pytest

from socketio_gevent.client import SocketClient
from socketio_gevent.protocol.framing import decode_body, decode_payload, encode_message

from .helpers import ts
from .wsclient import RawWS


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not condition():
            gevent.sleep(0.01)


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_a_client_event_reaches_the_servers_handlers_and_the_answer_its_callback(serve, transport):
    served = serve(origins="*:*")
    seen: List[Any] = []

    @served.listener.on("add")
    def add(client, a, b):  # type: ignore[no-untyped-def]
        seen.append(("listener", client.session_id, a, b))
        return a + b

    served.listener.on("connection", lambda c: c.on("add", lambda a, b: seen.append(("client", a, b))))
    client = SocketClient(served.url, transport=transport).connect()
    answers: List[Any] = []
    client.emit("add", 2, 3, callback=lambda *args: answers.append(args))
    client.emit("add", 10, 20)  # no callback: nothing comes back
    wait_for(lambda: len(answers) == 1 and len(seen) == 4)
    gevent.sleep(0.2)
    assert answers == [(5,)]
    assert seen == [("client", 2, 3), ("listener", client.session_id, 2, 3), ("client", 10, 20),
                    ("listener", client.session_id, 10, 20)]
    client.send("plain")  # plain messages keep working beside events
    client.disconnect()


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_a_server_event_reaches_the_client_and_its_answer_the_server_callback(serve, transport):
    served = serve(origins="*:*")
    answers: List[Any] = []
    served.listener.on("connection", lambda c: c.emit("question", "six times seven?",
                                                      callback=lambda *a: answers.append(a)))
    client = SocketClient(served.url, transport=transport)
    asked: List[Any] = []
    client.on("question", lambda text: (asked.append(text), 42)[1])
    client.connect()
    wait_for(lambda: answers)
    assert asked == ["six times seven?"] and answers == [(42,)]
    client.disconnect()


def test_events_to_rooms_and_everyone_and_messages_stay_messages(serve):
    served = serve(origins="*:*")
    listener = served.listener
    listener.on("connection", lambda c: c.join("odd") if len(listener.clients) % 2 else None)
    clients = []
    for _ in range(2):
        c = SocketClient(served.url, transport="websocket")
        c.got = []  # type: ignore[attr-defined]
        c.on("news", lambda *args, c=c: c.got.append(args))  # type: ignore[attr-defined]
        clients.append(c.connect())
    first, second = clients
    listener.to("odd").emit("news", "odd only")
    listener.emit("news", "all", 1)
    listener.emit("news", "not first", except_=first.session_id)
    wait_for(lambda: len(first.got) == 2 and len(second.got) == 2)  # type: ignore[attr-defined]
    gevent.sleep(0.2)
    assert first.got == [("odd only",), ("all", 1)]  # type: ignore[attr-defined]
    assert second.got == [("all", 1), ("not first",)]  # type: ignore[attr-defined]
    with pytest.raises(TimeoutError):
        first.receive(timeout=0.2)  # events are not messages
    for c in clients:
        c.disconnect()


def test_exact_bytes_and_a_2010_client_sees_an_ordinary_annotated_message(serve):
    served = serve(origins="*:*")
    answered: List[Any] = []
    served.listener.on("add", lambda client, a, b: a + b)
    served.listener.on("connection", lambda c: c.emit("chat", "hi", 3, callback=lambda *a: answered.append(a)))
    ws = RawWS(served.port, "/socket.io/websocket", "rfc6455-13")  # no acks=1: the 2010 bytes
    payload = ws.next_message()
    while "e:chat" not in payload:
        payload += ws.next_message()
    assert payload.endswith('1:22:e:chat\nc:1\nj\n:["hi",3],')
    frame = decode_payload(payload)[-1]
    assert decode_body(frame.data) == (["hi", 3], {"e": "chat", "c": "1"})  # what a 2010 client reads
    ws.send_text("1:11:ca:1\nj\n:[7],")
    wait_for(lambda: answered)
    assert answered == [(7,)]
    ws.send_text("1:18:e:add\nc:5\nj\n:[1,2],")
    assert ws.next_message() == "1:11:ca:5\nj\n:[3],"
    ws.close()


def test_a_handler_that_raises_still_answers_and_is_logged(serve, caplog):
    served = serve(origins="*:*")

    @served.listener.on("boom")
    def boom(client):  # type: ignore[no-untyped-def]
        raise RuntimeError("handler failed")

    client = SocketClient(served.url, transport="websocket").connect()
    answers: List[Any] = []
    with caplog.at_level(logging.ERROR):
        client.emit("boom", callback=lambda *a: answers.append(a))
        wait_for(lambda: answers)
    assert answers == [()]
    assert any("handler for 'boom' raised" in r.getMessage() for r in caplog.records)
    client.disconnect()


def test_an_unanswered_callback_is_dropped_when_the_session_ends(serve):
    served = serve(origins="*:*")
    server_side: List[Any] = []
    served.listener.on("connection", lambda c: (server_side.append(c),
                                                c.emit("silent", callback=lambda *a: None)))
    client = SocketClient(served.url, transport="websocket").connect()  # no handler: nothing answers
    wait_for(lambda: server_side)
    wait_for(lambda: server_side[0]._callbacks is not None and len(server_side[0]._callbacks) == 1)
    client.disconnect()
    wait_for(lambda: not served.listener.clients)
    assert server_side[0]._callbacks is None


def test_a_received_event_with_a_built_in_name_is_an_ordinary_message(serve):
    served = serve(origins="*:*")
    messages: List[Any] = []
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: messages.append((m, a))))
    ws = RawWS(served.port, "/socket.io/websocket", "rfc6455-13")
    ws.next_message()
    ws.send_text(encode_message(["x"], {"e": "message"}))
    wait_for(lambda: messages)
    assert messages == [(["x"], {"e": "message"})]
    ws.close()


# -- loud mistakes ---------------------------------------------------------------

def test_flask_socketio_names_on_the_listener_do_what_they_say(serve):
    served = serve(origins="*:*")
    log: List[str] = []
    served.listener.on("connect", lambda c: log.append("connect"))
    served.listener.on("disconnect", lambda c: log.append("disconnect"))
    served.listener.on("message", lambda c, m, a: log.append("message " + m))
    client = SocketClient(served.url, transport="websocket").connect()
    client.send("hi")
    wait_for(lambda: "message hi" in log)
    client.disconnect()
    wait_for(lambda: "disconnect" in log)
    assert log == ["connect", "message hi", "disconnect"]


def test_names_that_would_never_fire_raise_naming_the_right_one(serve):
    served = serve(origins="*:*")
    with pytest.raises(ValueError, match="reconnect"):
        served.listener.on("reconnect", lambda: None)
    got: List[Any] = []
    served.listener.on("connection", got.append)
    client = SocketClient(served.url, transport="websocket").connect()
    wait_for(lambda: got)
    server_client = got[0]
    with pytest.raises(ValueError, match=r"listener.on\('connection'"):
        server_client.on("connect", lambda: None)
    with pytest.raises(ValueError, match="send"):
        server_client.emit("message", "x")
    with pytest.raises(ValueError, match="disconnect"):
        server_client.emit("disconnect")
    with pytest.raises(ValueError, match="built-in"):
        client.emit("message", "x")
    with pytest.raises(ValueError, match="'connect'"):
        client.on("connection", lambda: None)
    with pytest.raises(ValueError, match="recipient"):
        served.listener.emit("x", callback=lambda: None)
    client.disconnect()


@pytest.mark.parametrize("path,upgrade", [
    ("/socket.io/?EIO=4&transport=polling&t=abc", False),
    ("/socket.io/?EIO=4&transport=websocket", True),
    ("/socket.io/?EIO=3&transport=polling", False),
])
def test_a_newer_socket_io_client_gets_a_400_saying_which_protocol_this_is(serve, caplog, path, upgrade):
    served = serve(origins="*:*")
    conn = served.http()
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
               ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")] if upgrade else []
    with caplog.at_level(logging.WARNING):
        answer = conn.request("GET", path, headers=headers)
    assert answer.status == 400
    assert b"2010" in answer.body and b"socket.io.js" in answer.body
    assert [r for r in caplog.records if "newer Socket.IO client" in r.getMessage()]
    assert ts()  # (the helpers module imports cleanly)
