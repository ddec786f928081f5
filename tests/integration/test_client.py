"""The Python client against a real server (issue: a client for programs and tests)."""
from __future__ import annotations

import gevent
import pytest

from socketio_gevent.client import ConnectError, SocketClient


@pytest.mark.parametrize("transport,deflate", [("xhr-polling", False), ("websocket", False), ("websocket", True)])
def test_round_trip_of_every_message_kind(serve, transport, deflate):
    served = serve()
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: c.send(m, a or None)))
    client = SocketClient(served.url, transport=transport, deflate=deflate).connect()
    for message, notes in [
        ("text with : and , and \n and 😀", {}),
        ({"nested": [1, 2.5, None, True]}, {}),
        (b"\x00\x01binary\xff", {}),
        ("annotated", {"r": "room", "flag": None}),
        ("", {}),
        ("x" * 100_000, {}),
    ]:
        client.send(message, notes)
        assert client.receive(timeout=5) == (message, notes)
    client.disconnect()


def test_client_echoes_heartbeats(serve):
    served = serve()
    client = SocketClient(served.url).connect()
    session = served.sessions.find(client.session_id)
    heartbeats = session.machine.heartbeats
    session.send(heartbeats.beat())  # polling has no timer; send one by hand
    assert heartbeats.awaiting == "1"
    for _ in range(50):
        if heartbeats.awaiting is None:
            break
        gevent.sleep(0.05)
    assert heartbeats.awaiting is None
    client.disconnect()


def test_websocket_client_answers_timed_heartbeats(serve):
    served = serve(transport_options={"websocket": {"heartbeat_interval": 0.2, "heartbeat_timeout": 0.5}})
    client = SocketClient(served.url, transport="websocket").connect()
    gevent.sleep(1.5)
    session = served.sessions.find(client.session_id)
    assert session.machine.heartbeats.count >= 4 and client.connected
    assert served.listener.clients[client.session_id].connections == 1  # never dropped
    client.disconnect()


@pytest.mark.parametrize("transport", ["xhr-polling", "websocket"])
def test_client_sees_server_disconnect(serve, transport):
    served = serve()
    events = []
    client = SocketClient(served.url, transport=transport)
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


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_disconnect_with_messages_not_yet_acknowledged_opens_no_new_session(serve, transport):
    """disconnect() sends 0:0:; the server ends the session and the link; the
    client must take that as the end, not as a cut to recover from with a
    new session (it used to, when an ack for its last sends was still due)."""
    served = serve(origins="*:*")
    opened = []
    served.listener.on("connection", lambda c: (opened.append(c.session_id),
                                                c.on("message", lambda m, a: c.send("re " + m))))
    client = SocketClient(served.url, transport=transport).connect()
    client.send("hello")
    assert client.receive(timeout=5)[0] == "re hello"
    client.disconnect()
    gevent.sleep(1.0)
    assert len(opened) == 1 and served.listener.clients == {}


def test_a_polling_client_whose_server_is_gone_retries_with_backoff(serve, monkeypatch):
    """A polling link resumes without a request, so only its first poll can
    fail: those failures are paced too, not retried in a tight loop."""
    from socketio_gevent.client import links

    served = serve()
    client = SocketClient(served.url).connect()
    gevent.sleep(0.1)
    served.listener.broadcast("hello")  # answered, its connection is kept for the next poll
    assert client.receive(timeout=5) == ("hello", {})
    polls = []
    run = links.PollingLink.run

    def counted(self, frames, binary):
        polls.append(1)
        return run(self, frames, binary)

    monkeypatch.setattr(links.PollingLink, "run", counted)
    served.server.stop(timeout=1)  # no new connection is accepted
    served.listener.close()  # and the open one is cut: the session is not known to be gone
    gevent.sleep(1.0)
    client.close()
    assert 1 <= len(polls) <= 12, len(polls)  # backoff 25-50, 50-100, … ms: a handful a second
