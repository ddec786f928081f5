"""Rooms on a real server, with Python clients over WebSocket and polling.

Rooms are server-side only: what a client receives is an ordinary message.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

import gevent
import pytest

from socketio_gevent.client import SocketClient


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not condition():
            gevent.sleep(0.01)


class Room:
    """A server whose clients join the room they name, and a few clients."""

    def __init__(self, serve) -> None:  # type: ignore[no-untyped-def]
        self.served = serve(origins="*:*")
        self.listener = self.served.listener
        self.clients: Dict[str, Any] = {}

        @self.listener.on("connection")
        def connected(client):  # type: ignore[no-untyped-def]
            def on_message(message, annotations):  # type: ignore[no-untyped-def]
                verb, _, room = message.partition(" ")
                if verb == "join":
                    client.join(room)
                elif verb == "leave":
                    client.leave(room)
                client.send("done " + message)

            client.on("message", on_message)

    def client(self, transport: str) -> SocketClient:
        c = SocketClient(self.served.url, transport=transport).connect()
        self.do(c, "hello")
        return c

    @staticmethod
    def do(c: SocketClient, what: str) -> None:
        c.send(what)
        got = []
        while not got or got[-1] != "done " + what:
            got.append(c.receive(timeout=5)[0])

    def in_red_and_blue(self, a: SocketClient, b: SocketClient) -> "tuple[SocketClient, SocketClient]":
        """``a`` joins red and blue, ``b`` blue only."""
        for c, room in ((a, "red"), (a, "blue"), (b, "blue")):
            self.do(c, "join " + room)
        return a, b

    def server_side(self, c: SocketClient) -> Any:
        return self.listener.clients[c.session_id]


def drain(c: SocketClient, quiet: float = 0.3) -> List[Any]:
    got = []
    while True:
        try:
            got.append(c.receive(timeout=quiet)[0])
        except Exception:  # the client's receive timeout: nothing more came
            return got


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_a_room_message_reaches_its_members_only_and_except_works(serve, transport):
    room = Room(serve)
    a, b, c = (room.client(transport) for _ in range(3))
    for member in (a, b):
        room.do(member, "join lobby")
    room.listener.to("lobby").send("to the lobby")
    assert drain(a) == ["to the lobby"] and drain(b) == ["to the lobby"] and drain(c) == []
    room.listener.to("lobby").send("not to a", except_=a.session_id)
    assert drain(a) == [] and drain(b) == ["not to a"]
    room.server_side(a).broadcast("from a", room="lobby")  # the sender's own broadcast skips it
    assert drain(a) == [] and drain(b) == ["from a"] and drain(c) == []
    room.listener.broadcast("everyone")
    assert [drain(x) for x in (a, b, c)] == [["everyone"]] * 3
    for x in (a, b, c):
        x.disconnect()


def test_membership_is_listed_both_ways_and_a_client_may_be_in_two_rooms(serve):
    room = Room(serve)
    a, b = room.in_red_and_blue(room.client("websocket"), room.client("xhr-polling"))
    assert room.server_side(a).rooms == {"red", "blue"}
    assert room.listener.rooms == {"red": {a.session_id}, "blue": {a.session_id, b.session_id}}
    assert {x.session_id for x in room.listener.clients_in("blue")} == {a.session_id, b.session_id}
    room.listener.to("red").send("r")
    room.listener.to("blue").send("b")
    assert drain(a) == ["r", "b"] and drain(b) == ["b"]
    room.do(a, "leave blue")
    room.do(a, "leave never-joined")  # leaving a room one is not in is nothing
    assert room.server_side(a).rooms == {"red"}
    room.listener.to("blue").send("b2")
    assert drain(a) == [] and drain(b) == ["b2"]
    a.disconnect()
    b.disconnect()


def test_a_client_leaves_every_room_when_its_session_ends_and_empty_rooms_go(serve):
    room = Room(serve)
    a, b = room.in_red_and_blue(room.client("websocket"), room.client("websocket"))
    sid = a.session_id
    a.disconnect()
    wait_for(lambda: sid not in room.listener.clients)
    assert room.listener.rooms == {"blue": {b.session_id}}
    assert room.listener.rooms_of(sid) == frozenset()
    b.disconnect()
    wait_for(lambda: not room.listener.clients)
    assert room.listener.rooms == {}


def test_a_session_id_addresses_its_client(serve):
    room = Room(serve)
    a, b = room.client("websocket"), room.client("xhr-polling")
    room.listener.to(b.session_id).send("just b")
    assert drain(a) == [] and drain(b) == ["just b"]
    room.listener.to("no-such-room-or-sid").send("nobody")  # nothing, no error
    a.disconnect()
    b.disconnect()


def test_room_names_must_be_non_empty_strings(serve):
    room = Room(serve)
    a = room.client("websocket")
    client = room.server_side(a)
    for bad in ("", None, 3):
        with pytest.raises(TypeError, match="room name"):
            client.join(bad)
        with pytest.raises(TypeError, match="room name"):
            room.listener.to(bad)
    a.disconnect()
