"""The Python client against a real server (issue: a client for programs and tests)."""
from __future__ import annotations

import gevent
import pytest

from socketio_gevent.client import ConnectError, SocketClient


def test_round_trip_of_every_message_kind(serve):
    served = serve()
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: c.send(m, a or None)))
    client = SocketClient(served.url).connect()
    for message, annotations in [
        ("text with : and , and \n and 😀", {}),
        ({"nested": [1, 2.5, None, True]}, {}),
        (b"\x00\x01binary\xff", {}),
        ("annotated", {"r": "room", "flag": None}),
        ("", {}),
    ]:
        client.send(message, annotations)
        assert client.receive(timeout=5) == (message, annotations)
    client.disconnect()


def test_client_echoes_heartbeats(serve):
    served = serve()
    client = SocketClient(served.url).connect()
    session = served.listener.sessions[client.session_id]
    session.push(session.heartbeats.beat())  # polling has no timer; push one by hand
    assert session.heartbeats.awaiting == "1"
    for _ in range(50):
        if session.heartbeats.awaiting is None:
            break
        gevent.sleep(0.05)
    assert session.heartbeats.awaiting is None
    client.disconnect()


def test_client_sees_server_disconnect(serve):
    served = serve()
    events = []
    client = SocketClient(served.url)
    client.on("disconnect", events.append)
    client.connect()
    served.listener.clients[client.session_id].disconnect()
    assert client.wait_disconnected(5)
    assert events == ["disconnected by the server"]
    client.close()


def test_refused_handshake_raises(serve):
    served = serve(transports=["jsonp-polling"])
    with pytest.raises(ConnectError, match="404"):
        SocketClient(served.url).connect()
