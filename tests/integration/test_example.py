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


def test_django_example_serves_the_page_and_chat(tmp_path):
    import subprocess

    from gevent import subprocess as gsubprocess

    root = os.path.join(os.path.dirname(__file__), "..", "..")
    proc = gsubprocess.Popen(
        [sys.executable, os.path.join(root, "example", "django_chat", "serve.py"), "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        port = int(line.strip().rsplit(":", 1)[1])
        client = SocketClient("http://127.0.0.1:%d" % port, transport="websocket").connect()
        assert client.receive(timeout=5)[0]["event"] == "welcome"
        client.disconnect()
        from socketio_gevent.client.http import HTTPConnection

        page = HTTPConnection("127.0.0.1", port).request("GET", "/")
        assert page.status == 200 and b"socketio_gevent chat" in page.body
    finally:
        proc.terminate()
        proc.wait(10)
