"""socketio_gevent.testing.TestClient: an app's handlers tested without sockets or sleeps."""
from __future__ import annotations

from typing import Any, List

import pytest

from socketio_gevent import Listener, TestClient


def chat_listener() -> Listener:
    listener = Listener()
    log: List[Any] = []
    listener.log_of_test = log  # type: ignore[attr-defined]

    @listener.on("connection")
    def connected(client):  # type: ignore[no-untyped-def]
        client.send({"welcome": client.session_id})

        @client.on("message")
        def said(message, annotations):  # type: ignore[no-untyped-def]
            if isinstance(message, dict) and "join" in message:
                client.join(message["join"])
            elif isinstance(message, dict) and "say" in message:
                room = next(iter(client.rooms), None)
                client.broadcast({"said": message["say"]}, room=room)

        client.on("disconnect", lambda: log.append(("left", client.session_id)))

    listener.on("add", lambda client, a, b: a + b)
    listener.on("shout", lambda client, text: listener.emit("shouted", text.upper()))
    return listener


def test_connect_send_broadcast_and_disconnect_run_the_handlers_at_once():
    listener = chat_listener()
    alice, bob = TestClient(listener), TestClient(listener)
    assert alice.messages() == [({"welcome": alice.session_id}, {})]
    bob.messages()
    alice.send({"say": "hi"})
    assert bob.messages() == [({"said": "hi"}, {})] and alice.messages() == []
    bob.disconnect()
    assert listener.log_of_test == [("left", bob.session_id)]  # type: ignore[attr-defined]
    assert bob.session_id not in listener.clients and not bob.connected
    with pytest.raises(RuntimeError, match="disconnected"):
        bob.send("late")


def test_rooms_named_events_and_answers():
    listener = chat_listener()
    alice, bob, carol = TestClient(listener), TestClient(listener), TestClient(listener)
    for c in (alice, bob, carol):
        c.messages()
    alice.send({"join": "red"})
    bob.send({"join": "red"})
    alice.send({"say": "in red"})
    assert bob.messages() == [({"said": "in red"}, {})] and carol.messages() == []
    assert alice.emit("add", 2, 3, callback=True) == [5]
    assert alice.emit("add", 2, 3) is None
    carol.emit("shout", "hey")
    assert [c.events() for c in (alice, bob, carol)] == [[("shouted", ["HEY"])]] * 3


def test_a_server_callback_gets_the_test_clients_answer_and_values_travel_as_json():
    listener = Listener()
    answers: List[Any] = []
    listener.on("connection", lambda c: c.emit("ping", (1, 2), callback=lambda *a: answers.append(a)))
    client = TestClient(listener)
    assert client.events() == [("ping", [[1, 2]])]  # a tuple arrives as a JSON array
    assert answers == [()]  # the test client answers like a page with no handler
    with pytest.raises(TypeError):
        client.send({1, 2})  # a set cannot travel: it fails here as it would on the wire


def test_the_server_ending_the_session_ends_the_test_client():
    listener = Listener()
    left: List[str] = []
    listener.on("connection", lambda c: c.on("message", lambda m, a: c.disconnect()))
    listener.on("disconnect", lambda c: left.append(c.session_id))
    client = TestClient(listener)
    client.send("bye")
    assert not client.connected and left == [client.session_id] and listener.clients == {}
