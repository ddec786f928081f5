"""The example chat end to end: its rooms on real servers, with the Python
client, and both variants (Flask and Django) as they are run."""
from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any, List

import pytest
from gevent import subprocess as gsubprocess

from socketio_gevent.client import SocketClient
from socketio_gevent.client.http import HTTPConnection

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "example")
sys.path.insert(0, EXAMPLE)
import chat  # noqa: E402
import chat_logic  # noqa: E402


class Chatter:
    """A SocketClient in the chat, keeping every event it has seen."""

    def __init__(self, url: str, transport: str = "xhr-polling") -> None:
        self.client = SocketClient(url, transport=transport).connect()
        self.seen: List[dict] = []
        self.welcome = self.expect("welcome")

    @property
    def nick(self) -> str:
        return self.welcome["nick"]

    def send(self, message: Any) -> None:
        self.client.send(message)

    def expect(self, event: str, **fields: Any) -> dict:
        """The next event of this kind with these fields (others are kept in ``seen``)."""
        while True:
            message, _ = self.client.receive(timeout=5)
            self.seen.append(message)
            if message.get("event") == event and all(message.get(k) == v for k, v in fields.items()):
                return message

    def texts(self) -> List[str]:
        return [m["text"] for m in self.seen if m.get("event") == "said"]

    def disconnect(self) -> None:
        self.client.disconnect()


@pytest.fixture
def served(serve):
    served = serve(chat.app)
    return SimpleNamespace(url=served.url, listener=served.listener, chat=chat_logic.attach_chat(served.listener))


def test_a_newcomer_is_welcomed_into_the_lobby_and_can_rename_and_speak(served):
    alice = Chatter(served.url)
    welcome = alice.welcome
    assert welcome["room"] == "lobby" and welcome["online"] == [alice.nick] and welcome["history"] == []
    assert welcome["transport"] == "xhr-polling" and welcome["nick"].startswith("guest-")
    assert [name for name, _ in welcome["rooms"]] == list(chat_logic.FIXED_ROOMS)
    assert dict(welcome["rooms"])["lobby"] == 1
    bob = Chatter(served.url)
    assert alice.expect("joined", nick=bob.nick)["online"] == sorted([alice.nick, bob.nick], key=str.lower)
    alice.send({"nick": "alice"})
    renamed = bob.expect("renamed", nick="alice")
    assert renamed == {"event": "renamed", "old": alice.nick, "nick": "alice", "room": "lobby",
                       "online": sorted(["alice", bob.nick], key=str.lower)}
    alice.send({"say": "hello 😀"})
    said = bob.expect("said")
    assert said["text"] == "hello 😀" and said["nick"] == "alice" and said["room"] == "lobby"
    assert said["id"] == welcome["id"] != bob.welcome["id"]  # how a page tells its own messages
    assert said["id"] not in (alice.client.session_id, bob.client.session_id)  # never the session key
    assert isinstance(said["at"], int) and said["at"] > 1.6e12  # milliseconds since the epoch
    assert alice.expect("said")["id"] == welcome["id"]
    bob.send({"nick": "ALICE"})
    assert "taken" in bob.expect("error")["text"]
    alice.disconnect()
    bob.disconnect()


def test_a_message_in_one_room_does_not_reach_another(served):
    alice, bob = Chatter(served.url), Chatter(served.url, transport="websocket")
    bob.send({"join": "python"})
    moved = bob.expect("room")
    assert moved["room"] == "python" and moved["online"] == [bob.nick] and moved["history"] == []
    assert alice.expect("left", nick=bob.nick)["to"] == "python"
    assert alice.expect("rooms")["rooms"][:3] == [["lobby", 1], ["random", 0], ["python", 1]]
    alice.send({"say": "for the lobby"})
    alice.expect("said", text="for the lobby")  # the server has sent it to the lobby
    bob.send({"say": "for python"})
    bob.expect("said", text="for python")       # anything sent to bob before came first
    assert bob.texts() == ["for python"]
    assert served.listener.rooms == {"lobby": frozenset([alice.client.session_id]),
                                     "python": frozenset([bob.client.session_id])}
    assert [c.session_id for c in served.listener.clients_in("python")] == [bob.client.session_id]
    alice.send({"join": "python"})
    entered = alice.expect("room", room="python")
    assert entered["online"] == sorted([alice.nick, bob.nick], key=str.lower)
    assert [m["text"] for m in entered["history"]] == ["for python"]  # what was said before
    assert bob.expect("joined", nick=alice.nick)["online"] == entered["online"]
    alice.send({"say": "now in python"})
    assert bob.expect("said")["text"] == "now in python"
    assert "for the lobby" not in bob.texts()
    alice.disconnect()
    bob.disconnect()


def test_typed_room_names(served):
    alice = Chatter(served.url)
    alice.send({"join": "  #Gevent Fans "})
    assert alice.expect("room")["room"] == "gevent-fans"
    assert ["gevent-fans", 1] in alice.expect("rooms")["rooms"]
    for bad in ["a/b", "x" * 21, "", 7, "   "]:
        alice.send({"join": bad})
        assert "room name" in alice.expect("error")["text"]
    assert alice.client.session_id not in served.listener.rooms  # no room is named after a session
    assert served.listener.rooms == {"gevent-fans": frozenset([alice.client.session_id])}
    alice.disconnect()


def test_the_online_list_is_per_room_and_a_client_leaves_on_disconnect(served):
    alice, bob, carol = Chatter(served.url), Chatter(served.url), Chatter(served.url)
    for who in (bob, carol):
        who.send({"join": "random"})
        who.expect("room", room="random")
    alice.expect("left", nick=carol.nick)
    bob.expect("joined", nick=carol.nick)
    alice.send({"nick": "alice"})
    assert alice.expect("renamed")["online"] == ["alice"]  # the lobby's list: bob and carol left it
    carol.send({"nick": "carol"})
    assert bob.expect("renamed", nick="carol")["online"] == sorted([bob.nick, "carol"], key=str.lower)
    carol.disconnect()
    left = bob.expect("left", nick="carol")
    assert left["online"] == [bob.nick] and left["room"] == "random" and "to" not in left
    assert dict(bob.expect("rooms")["rooms"]) == {"lobby": 1, "random": 1, "python": 0, "gevent": 0}
    sid = carol.client.session_id
    assert all(sid not in members for members in served.listener.rooms.values())
    assert sid not in served.chat.nicks and sid not in served.chat.where
    bob.disconnect()
    alice.disconnect()


def test_a_typed_room_is_forgotten_when_its_last_member_leaves(served):
    alice = Chatter(served.url)
    alice.send({"join": "pop-up"})
    alice.expect("room", room="pop-up")
    alice.send({"say": "anyone?"})
    alice.expect("said")
    assert list(served.chat.history) == ["pop-up"]
    alice.send({"join": "lobby"})
    assert alice.expect("room", room="lobby")["history"] == []
    assert served.chat.history == {}
    assert [name for name, _ in alice.expect("rooms")["rooms"]] == list(chat_logic.FIXED_ROOMS)
    alice.disconnect()


# -- both variants, run the way people run them ------------------------------------

VARIANTS = {
    "flask": [os.path.join("example", "chat.py")],
    "flask -m": ["-m", "example.chat"],
    "django": [os.path.join("example", "django_chat", "serve.py")],
    "django -m": ["-m", "example.django_chat.serve"],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_variant_serves_the_page_the_client_script_and_the_chat(variant):
    proc = gsubprocess.Popen([sys.executable] + VARIANTS[variant] + ["--port", "0"], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert ("django chat" in line) == variant.startswith("django"), line
        port = int(line.strip().rsplit(":", 1)[1])
        http = HTTPConnection("127.0.0.1", port, timeout=10)
        page = http.request("GET", "/")
        assert page.status == 200 and b"socketio_gevent chat" in page.body
        assert b'rel="icon"' in page.body and b"/socket.io/socket.io.js" in page.body
        script = HTTPConnection("127.0.0.1", port, timeout=10).request("GET", "/socket.io/socket.io.js")
        assert script.status == 200 and b"io.Socket = Socket" in script.body
        alice = Chatter("http://127.0.0.1:%d" % port, transport="websocket")
        alice.send({"join": "python"})
        alice.expect("room", room="python")
        alice.send({"say": "hi from " + variant})
        assert alice.expect("said")["text"] == "hi from " + variant
        alice.disconnect()
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_django_example_does_not_use_the_flask_one():
    code = ("import sys; import example.django_chat.serve; import django_chat.urls; "
            "print(sorted(m for m in ('chat', 'example.chat', 'flask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- the chat's handlers with socketio_gevent.testing.TestClient: no sockets, no sleeps --

def chat_events(client: Any, kind: str) -> List[dict]:
    return [m for m, _ in client.messages() if isinstance(m, dict) and m.get("event") == kind]


def test_the_chats_handlers_with_the_test_client():
    from socketio_gevent import Listener, TestClient

    listener = Listener()
    chat_logic.attach_chat(listener)
    alice, bob, carol = TestClient(listener), TestClient(listener), TestClient(listener)
    assert [m["event"] for m, _ in alice.messages()][:1] == ["welcome"]
    bob.messages()
    carol.send({"join": "python"})
    carol.messages()
    alice.send({"nick": "alice"})
    alice.send({"say": "hello lobby"})
    (said,) = chat_events(bob, "said")
    assert (said["nick"], said["text"], said["room"]) == ("alice", "hello lobby", "lobby")
    assert chat_events(carol, "said") == []  # another room hears nothing
    bob.send({"nick": "ALICE"})  # taken, ignoring case
    assert chat_events(bob, "error")[0]["text"] == "the nickname ALICE is taken"
    alice.disconnect()
    (left,) = chat_events(bob, "left")
    assert left["nick"] == "alice" and "alice" not in left["online"]
    assert listener.rooms.keys() == {"lobby", "python"}
