"""The example chat app works end to end with the Python client."""
from __future__ import annotations

import os
import sys

from socketio_gevent.client import SocketClient

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "example"))
import chat  # noqa: E402


def test_chat_room(serve):
    served = serve(chat.app)
    chat.attach_chat(served.listener)
    assert b"socketio_gevent chat" in served.http().request("GET", "/").body
    alice = SocketClient(served.url).connect()
    welcome, _ = alice.receive(timeout=5)
    assert welcome["event"] == "welcome" and welcome["transport"] == "xhr-polling"
    bob = SocketClient(served.url).connect()
    assert bob.receive(timeout=5)[0]["event"] == "welcome"
    assert alice.receive(timeout=5)[0]["event"] == "joined"
    alice.send({"nick": "alice"})
    bob_nick = "guest-" + bob.session_id[:4]
    assert bob.receive(timeout=5)[0] == {
        "event": "renamed", "old": welcome["nick"], "nick": "alice", "online": sorted(["alice", bob_nick]),
    }
    alice.send({"say": "hello 😀"})
    assert alice.receive(timeout=5)[0]["event"] == "renamed"
    said = alice.receive(timeout=5)[0]
    assert said == {"event": "said", "nick": "alice", "text": "hello 😀", "transport": "xhr-polling"}
    bob.disconnect()
    assert alice.receive(timeout=5)[0]["event"] == "left"
    alice.disconnect()
