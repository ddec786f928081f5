"""The acks extension on a real WebSocket (docs/protocol.rst §9), byte by byte.

A raw RFC 6455 client opens ``/socket.io/websocket?acks=1`` on a real
server and checks what the server does with the client's ``4:`` frames
(the lone-ack payload has a fast path of its own), where the server's own
acks go, and what a wrong ack does to the session.
"""
from __future__ import annotations

from typing import Any, Callable, List

import gevent

from socketio_gevent.protocol.framing import decode_payload, encode_message
from socketio_gevent.websocket import events as ev

from .wsclient import RawWS


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not condition():
            gevent.sleep(0.01)


def open_acked(served) -> tuple:  # type: ignore[no-untyped-def]
    ws = RawWS(served.port, "/socket.io/websocket?acks=1", "rfc6455-13")
    opening = ws.next_message()
    sid = decode_payload(opening)[0].data
    assert opening.endswith(",4:1:0,")
    return ws, sid


def read_frames(ws: RawWS, count: int) -> List[Any]:
    """The next ``count`` frames, whichever WebSocket messages carry them."""
    frames: List[Any] = []
    while len(frames) < count:
        frames.extend(decode_payload(ws.next_message()))
    return frames


def test_a_lone_ack_lets_the_server_forget_what_it_covers(serve):
    served = serve(origins="*:*")
    ws, sid = open_acked(served)
    client = served.listener.clients[sid]
    for text in ("a", "b", "c"):
        client.send(text)
    frames = read_frames(ws, 4)
    assert [(f.type, f.data) for f in frames] == [("5", "1"), ("1", ":a"), ("1", ":b"), ("1", ":c")]
    assert (client.acknowledged, client.pending) == (0, 3)
    ws.send_text("4:1:2,")
    wait_for(lambda: client.acknowledged == 2)
    assert client.pending == 1
    ws.send_text("4:1:3,")
    wait_for(lambda: client.acknowledged == 3)
    assert client.pending == 0
    ws.close()


def test_the_servers_ack_for_16_messages_rides_with_the_16th_answer(serve):
    served = serve(origins="*:*")

    def connected(client):  # type: ignore[no-untyped-def]
        client.on("message", lambda message, notes: client.send(message))

    served.listener.on("connection", connected)
    ws, sid = open_acked(served)
    ws.send_text("5:1:1," + encode_message("m1"))
    assert [(f.type, f.data) for f in read_frames(ws, 2)] == [("5", "1"), ("1", ":m1")]
    for i in range(2, 17):
        ws.send_text(encode_message("m%d" % i))
        payload = ws.next_message()
        if i < 16:
            assert payload == encode_message("m%d" % i)  # no ack of its own, none riding
        else:
            assert payload == "4:2:16," + encode_message("m16")  # one WebSocket message
    ws.close()


def test_an_ack_beyond_what_was_sent_ends_the_session_with_a_close_frame(serve):
    served = serve(origins="*:*")
    reasons: List[str] = []
    ws, sid = open_acked(served)
    client = served.listener.clients[sid]
    client.on("disconnect", lambda *args: reasons.append("disconnect"))
    client.send("only one")
    read_frames(ws, 2)
    ws.send_text("4:1:9,")  # the fast path: one well-formed ack frame
    seen = ws.wait_eof()
    closes = [e for e in seen if isinstance(e, ev.Close)]
    assert closes and closes[0].code == 1008
    assert closes[0].reason == "acknowledgement beyond what was sent (9 of 1)"
    wait_for(lambda: sid not in served.listener.clients and reasons)
