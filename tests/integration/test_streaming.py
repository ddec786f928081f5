"""htmlfile, xhr-multipart and server-events over raw HTTP (docs/protocol.rst §4.5-4.7, §5)."""
from __future__ import annotations

import json
import re

import gevent
import pytest

from socketio_gevent.protocol.framing import decode_payload, encode_message

from .helpers import post, ts
from .streamclient import Stream

STREAMS = ["htmlfile", "xhr-multipart", "server-events"]


def unwrap(transport: str, data: bytes) -> str:
    """The payload inside one envelope (exact format checked on the way)."""
    text = data.decode("utf-8")
    if transport == "htmlfile":
        match = re.fullmatch(r'<script>parent\.([A-Za-z0-9_.]+)\._\((".*")\, document\);</script>', text, re.S)
        assert match, text
        return json.loads(match.group(2))
    if transport == "xhr-multipart":
        assert text.startswith("Content-Type: text/plain\n\n") and text.endswith("\n--socketio\n"), text
        return text[len("Content-Type: text/plain\n\n"):-len("\n--socketio\n")]
    assert text.startswith("data: ") and text.endswith("\n\n"), text
    return json.loads(text[len("data: "):-2])


MARKERS = {"htmlfile": b"</script>", "xhr-multipart": b"\n--socketio\n", "server-events": b"\n\n"}


def open_stream(served, transport, sid="", query=""):
    stream = Stream(served.port, "/socket.io/%s/%s/%d%s" % (transport, sid, ts(), query))
    assert stream.status == 200, stream.headers
    prelude = {"htmlfile": 256, "xhr-multipart": 11, "server-events": 2048}[transport]
    head = b""
    while len(head) < prelude:
        head += stream.read_chunk()
    stream.buffer = head[prelude:]
    return stream, head[:prelude]


def next_payload(stream, transport, timeout=5.0) -> str:
    return unwrap(transport, stream.read_until(MARKERS[transport], timeout))


@pytest.mark.parametrize("transport", STREAMS)
def test_prelude_headers_and_session_frame(serve, transport):
    served = serve()
    seen = []
    served.listener.on("connection", lambda c: (seen.append(c), c.send("welcome")))
    stream, prelude = open_stream(served, transport)
    expected_type = {
        "htmlfile": "text/html; charset=UTF-8",
        "xhr-multipart": 'multipart/x-mixed-replace;boundary="socketio"',
        "server-events": "text/event-stream; charset=UTF-8",
    }[transport]
    assert stream.headers["content-type"] == expected_type
    if transport == "htmlfile":
        assert prelude == b"<html><body>" + b" " * 244
    elif transport == "xhr-multipart":
        assert prelude == b"--socketio\n"
    else:
        assert prelude == b":" + b" " * 2045 + b"\n\n"
        assert stream.headers["cache-control"] == "no-cache"
    (frame,) = decode_payload(next_payload(stream, transport))
    assert frame.type == "3" and seen[0].session_id == frame.data
    assert seen[0].transport == transport
    assert next_payload(stream, transport) == "1:8::welcome,"
    stream.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_messages_both_ways_and_escaping(serve, transport):
    served = serve()
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: c.send(m)))
    stream, _ = open_stream(served, transport)
    sid = decode_payload(next_payload(stream, transport))[0].data
    tricky = "</script><!-- \u2028\u2029 & 😀 --socketio\n\r\ndata: x"
    assert post(served.http(), sid, encode_message(tricky), transport=transport).status == 200
    if transport == "xhr-multipart":
        # the message itself holds "\n--socketio\n": read the whole part by its length
        expected = ("Content-Type: text/plain\n\n%s\n--socketio\n" % encode_message(tricky)).encode()
        while len(stream.buffer) < len(expected):
            stream.buffer += stream.read_chunk()
        assert stream.buffer == expected
    else:
        raw = stream.read_until(MARKERS[transport])
        assert raw.count(b"</script>") == (1 if transport == "htmlfile" else 0)
        assert b"\xe2\x80\xa8" not in raw and b"\r" not in raw
        assert unwrap(transport, raw) == encode_message(tricky)
    stream.close()


def test_multipart_parts_are_found_by_frame_length(serve):
    served = serve()
    stream, _ = open_stream(served, "xhr-multipart")
    sid = decode_payload(next_payload(stream, "xhr-multipart"))[0].data
    served.listener.clients[sid].send("a\n--socketio\nb")
    body = b""
    while b"\n--socketio\n" not in body or not body.endswith(b"b,\n--socketio\n"):
        body += stream.read_chunk()
    assert body == b"Content-Type: text/plain\n\n1:15::a\n--socketio\nb,\n--socketio\n"
    stream.close()


def test_htmlfile_callback_name(serve):
    served = serve()
    stream, _ = open_stream(served, "htmlfile", query="?c=io.j_3")
    assert stream.read_until(b"</script>").startswith(b"<script>parent.io.j_3._(")
    stream.close()
    conn = served.http()
    for bad in ("?c=a;b", "?c=" + "a" * 65, "?c=", "?c=%3Cx%3E", "?c=a&c=b"):
        response = conn.request("GET", "/socket.io/htmlfile//1" + bad)
        assert response.status == 400, bad


@pytest.mark.parametrize("transport", STREAMS)
def test_heartbeats_echoed_keep_the_stream_unanswered_end_it(serve, transport):
    timers = {"heartbeat_interval": 0.3, "heartbeat_timeout": 0.6, "close_timeout": 5}
    served = serve(transport_options={transport: timers})
    stream, _ = open_stream(served, transport)
    sid = decode_payload(next_payload(stream, transport))[0].data
    conn = served.http()
    assert next_payload(stream, transport) == "2:1:1,"
    assert post(conn, sid, "2:1:1,", transport=transport).status == 200
    assert next_payload(stream, transport) == "2:1:2,"
    # no echo now: the server ends the response; the session waits for the client
    with pytest.raises(EOFError):
        while True:
            next_payload(stream, transport, timeout=5)
    assert sid in served.listener.clients
    stream.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_reopen_with_sid_flushes_the_queue_in_order(serve, transport):
    served = serve()
    stream, _ = open_stream(served, transport)
    sid = decode_payload(next_payload(stream, transport))[0].data
    stream.close()
    client = served.listener.clients[sid]
    for i in range(30):
        client.send("m%d" % i)
    again, _ = open_stream(served, transport, sid)
    got = []
    while len(got) < 30:
        got.extend(f.data for f in decode_payload(next_payload(again, transport)))
    assert got == [":m%d" % i for i in range(30)]
    assert client.connections == 2
    again.close()


@pytest.mark.parametrize("transport", ["htmlfile", "xhr-multipart"])
def test_stream_limit_ends_the_response_and_nothing_is_lost(serve, transport):
    served = serve(stream_limit=2000)
    stream, _ = open_stream(served, transport)
    sid = decode_payload(next_payload(stream, transport))[0].data
    client = served.listener.clients[sid]
    got = []
    sender = gevent.spawn(lambda: [client.send("message number %03d" % i) or gevent.sleep(0.001) for i in range(300)])
    opened = 1
    while len(got) < 300:
        try:
            got.extend(f.data for f in decode_payload(next_payload(stream, transport)))
        except EOFError:
            stream.close()
            stream, _ = open_stream(served, transport, sid)
            opened += 1
    sender.join()
    assert got == [":message number %03d" % i for i in range(300)]
    assert opened > 3  # the limit really ended responses


def test_a_new_stream_takes_over_and_the_old_one_ends(serve):
    served = serve()
    old, _ = open_stream(served, "server-events")
    sid = decode_payload(next_payload(old, "server-events"))[0].data
    new, _ = open_stream(served, "server-events", sid)
    assert old.read_chunk() is None  # ended
    served.listener.clients[sid].send("to new")
    assert next_payload(new, "server-events") == "1:7::to new,"
    new.close()


@pytest.mark.parametrize("transport", STREAMS)
def test_refusals(serve, transport):
    served = serve()
    conn = served.http()
    assert conn.request("GET", "/socket.io/%s/nosuch/1" % transport).status == 404
    refused = conn.request("GET", "/socket.io/%s//1" % transport, headers=[("Origin", "http://evil.example")])
    assert refused.status == 403
    assert served.listener.clients == {}


def test_application_disconnect_ends_the_stream_after_the_disconnect_frame(serve):
    served = serve()
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    stream, _ = open_stream(served, "xhr-multipart")
    sid = decode_payload(next_payload(stream, "xhr-multipart"))[0].data
    served.listener.clients[sid].disconnect()
    assert next_payload(stream, "xhr-multipart") == "0:0:,"
    assert stream.read_chunk() is None
    gevent.sleep(0.1)
    assert len(fired) == 1 and sid not in served.sessions
