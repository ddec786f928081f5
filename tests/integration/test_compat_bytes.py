"""A client that does not ask for acks gets exactly the 2010 bytes, on every transport.

The acks extension (docs/protocol.rst §9) exists only for clients that add
``acks=1`` when they open a session. Here a plain client (the 2010 client's
requests, byte for byte) opens a session on each transport, receives
messages and sends some, and every byte the server writes is compared
with the protocol of §1-§8: no ``4:`` or ``5:`` frame, the same envelopes.
The same client with ``acks=1`` on the same server does get them, so the
comparison can fail.
"""
from __future__ import annotations

import json

import gevent
import pytest

from socketio_gevent.protocol.framing import decode_payload, encode_frame, encode_message
from socketio_gevent.transports import htmlfile, server_events, xhr_multipart

from .helpers import post, ts, unwrap_jsonp
from .streamclient import Stream
from .wsclient import RawWS

MESSAGES = ["one", "two, with : and \n", "three"]


def expected_payload(sid: str) -> str:
    return "".join(encode_message(m) for m in MESSAGES)


def serve_pushing(serve):  # type: ignore[no-untyped-def]
    served = serve(origins="*:*")
    got = []

    def connected(client):  # type: ignore[no-untyped-def]
        client.on("message", lambda m, a: got.append(m))

    served.listener.on("connection", connected)
    return served, got


def push(served, sid):  # type: ignore[no-untyped-def]
    for message in MESSAGES:
        served.listener.clients[sid].send(message)


@pytest.mark.parametrize("transport", ["xhr-polling", "jsonp-polling"])
@pytest.mark.parametrize("acks", [False, True])
def test_polling_bytes(serve, transport, acks):
    served, got = serve_pushing(serve)
    conn = served.http()
    query = "?acks=1" if acks else ""
    suffix = "/0" if transport == "jsonp-polling" else ""
    opening = conn.request("GET", "/socket.io/%s//%d%s%s" % (transport, ts(), suffix, query)).body.decode()
    text = unwrap_jsonp(opening) if transport == "jsonp-polling" else opening
    sid = decode_payload(text)[0].data
    if not acks:
        assert text == encode_frame("3", sid)  # the whole answer: the 3: frame, nothing else
    else:
        assert text == encode_frame("3", sid) + "4:1:0,"
    push(served, sid)
    answer = conn.request("GET", "/socket.io/%s/%s/%d%s" % (transport, sid, ts(), suffix)).body.decode()
    body = unwrap_jsonp(answer) if transport == "jsonp-polling" else answer
    if transport == "jsonp-polling":
        assert answer == "io.JSONP[0]._(%s);" % json.dumps(body, ensure_ascii=False).replace("\u2028", "\\u2028")
    if not acks:
        assert body == expected_payload(sid)
    else:
        assert body == "5:1:1," + expected_payload(sid)
    field = "d" if transport == "jsonp-polling" else "data"
    value = json.dumps(encode_message("up")) if field == "d" else encode_message("up")
    answer = post(conn, sid, value, transport=transport, field=field)
    assert (answer.status, answer.body) == (200, b"ok")
    assert got == ["up"]


@pytest.mark.parametrize("transport", ["htmlfile", "xhr-multipart", "server-events"])
@pytest.mark.parametrize("acks", [False, True])
def test_stream_bytes(serve, transport, acks):
    served, got = serve_pushing(serve)
    if transport == "htmlfile":
        prelude, envelope = htmlfile.prelude(), lambda p: htmlfile.chunk("s", p)
    elif transport == "xhr-multipart":
        prelude, envelope = xhr_multipart.PRELUDE, xhr_multipart.part
    else:
        prelude, envelope = server_events.prelude(), server_events.event
    stream = Stream(served.port, "/socket.io/%s%s" % (transport, "?acks=1" if acks else ""))
    assert stream.read_until(prelude) == prelude
    for _ in range(100):
        if served.listener.clients:
            break
        gevent.sleep(0.01)
    (sid,) = served.listener.clients
    opening = envelope(encode_frame("3", sid) + ("4:1:0," if acks else ""))
    assert stream.read_until(opening) == opening
    stream.close()
    gevent.sleep(0.1)
    push(served, sid)  # queued while no stream is open: the next one carries them in one payload
    again = Stream(served.port, "/socket.io/%s/%s%s" % (transport, sid, "?a=0" if acks else ""))
    assert again.read_until(prelude) == prelude
    carried = envelope(("5:1:1," if acks else "") + expected_payload(sid))
    assert again.read_until(carried) == carried
    again.close()
    answer = post(served.http(), sid, encode_message("up"), transport=transport)
    assert (answer.status, answer.body, got) == (200, b"ok", ["up"])


@pytest.mark.parametrize("path", ["websocket", "flashsocket"])
@pytest.mark.parametrize("acks", [False, True])
def test_websocket_bytes(serve, path, acks):
    served, got = serve_pushing(serve)
    ws = RawWS(served.port, "/socket.io/%s%s" % (path, "?acks=1" if acks else ""), "rfc6455-13")
    opening = ws.next_message()
    sid = decode_payload(opening)[0].data
    assert opening == encode_frame("3", sid) + ("4:1:0," if acks else "")
    push(served, sid)
    received = ""
    want = ("5:1:1," if acks else "") + expected_payload(sid)
    while len(received) < len(want):
        received += ws.next_message()
    assert received == want
    ws.send_text(encode_message("up"))
    for _ in range(100):
        if got:
            break
        gevent.sleep(0.01)
    assert got == ["up"]
    ws.close()
