"""websocket and flashsocket in every dialect, on a real server (docs/protocol.rst §3, §4.3, §5)."""
from __future__ import annotations

import os

import gevent
import pytest

from socketio_gevent.protocol.framing import decode_payload, encode_message
from socketio_gevent.websocket import events as ev

from .helpers import poll
from .wsclient import BINARY_DIALECTS, DIALECTS, RawWS, hybi03_frame, mask_frame


def echo_server(serve, **options):
    served = serve(**options)

    def on_connection(client):
        client.on("message", lambda m, a: client.send(m, a or None))

    served.listener.on("connection", on_connection)
    return served


def open_session(served, dialect, path="/socket.io/websocket", **kw):
    ws = RawWS(served.port, path, dialect, **kw)
    assert ws.status == 101, (ws.status_line, ws.body)
    first = ws.next_message()
    (frame,) = decode_payload(first)
    assert frame.type == "3"
    return ws, frame.data


@pytest.mark.parametrize("dialect", DIALECTS)
def test_handshake_session_frame_and_text_both_ways(serve, dialect):
    served = echo_server(serve)
    ws, sid = open_session(served, dialect)
    client = served.listener.clients[sid]
    assert client.transport == "websocket" and client.connections == 1
    ws.send_text(encode_message("héllo 😀 : , \n"))
    assert ws.next_message() == encode_message("héllo 😀 : , \n")
    ws.send_text(encode_message({"a": [1]}) + encode_message("two"))  # two frames, one WebSocket message
    echoed = ws.next_message()  # both answers were queued together: one coalesced write
    assert echoed == encode_message({"a": [1]}) + encode_message("two")
    ws.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_two_websocket_frames_in_one_tcp_write_and_split_payloads(serve, dialect):
    served = serve()
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    ws, sid = open_session(served, dialect)
    whole = encode_message("first") + encode_message("second")
    ws.send_raw(ws.text_frame(whole[:7]) + ws.text_frame(whole[7:]))  # a frame split across messages
    for _ in range(50):
        if len(got) == 2:
            break
        gevent.sleep(0.02)
    assert got == ["first", "second"]
    ws.close()


@pytest.mark.parametrize("dialect", BINARY_DIALECTS)
def test_binary_both_ways(serve, dialect):
    served = serve()
    got = []
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: (got.append(m), c.send(m))))
    ws, sid = open_session(served, dialect)
    payload = bytes(range(256)) * 3
    ws.send_raw(ws.binary_frame(payload))
    assert ws.next_message() == payload  # a binary frame back, no framing, no base64
    assert got == [payload]
    ws.close()


@pytest.mark.parametrize("dialect", ["hixie75", "hixie76"])
def test_binary_on_hixie_goes_as_b_annotated_text(serve, dialect):
    served = serve()
    ws, sid = open_session(served, dialect)
    served.listener.clients[sid].send(b"\x00\xff")
    assert ws.next_message() == "1:7:b\n:AP8=,"
    ws.close()


@pytest.mark.parametrize("dialect", BINARY_DIALECTS)
def test_ping_is_answered_with_pong(serve, dialect):
    served = serve()
    ws, sid = open_session(served, dialect)
    ws.send_raw(mask_frame(9, b"Hello") if dialect.startswith("rfc") else hybi03_frame(2, b"Hello"))
    assert ws.next_event() == ev.Pong(b"Hello")
    ws.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_close_is_answered_and_session_survives_for_close_timeout(serve, dialect):
    served = serve(transport_options={"websocket": {"close_timeout": 0.6}})
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    ws, sid = open_session(served, dialect)
    if dialect.startswith("rfc"):
        ws.send_raw(mask_frame(8, b"\x03\xe8bye"))
        events = ws.wait_eof()
        assert isinstance(events[0], ev.Close) and events[0].code == 1000
    elif dialect == "hybi03":
        ws.send_raw(hybi03_frame(1, b""))
        assert isinstance(ws.wait_eof()[0], ev.Close)
    else:
        ws.send_raw(b"\xff\x00")
        ws.wait_eof()
    assert sid in served.listener.clients  # grace time: the client may come back
    gevent.sleep(1.2)
    assert [c.session_id for c in fired] == [sid]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reconnect_with_sid_flushes_what_was_queued(serve, dialect):
    served = serve()
    ws, sid = open_session(served, dialect)
    ws.close()
    gevent.sleep(0.2)
    client = served.listener.clients[sid]
    for i in range(50):
        client.send("queued %d" % i)
    again = RawWS(served.port, "/socket.io/websocket/" + sid, dialect)
    assert again.status == 101
    received = ""
    while len(decode_payload(received)) < 50:
        received += again.next_message()
    assert [f.data for f in decode_payload(received)] == [":queued %d" % i for i in range(50)]
    assert client.connections == 2
    again.close()


def test_session_falls_back_from_websocket_to_polling(serve):
    served = serve()
    ws, sid = open_session(served, "rfc6455-13")
    ws.close()
    gevent.sleep(0.1)
    served.listener.clients[sid].send("kept")
    conn = served.http()
    assert poll(conn, sid).body == b"1:5::kept,"
    assert served.listener.clients[sid].transport == "xhr-polling"


def test_a_newer_websocket_takes_over_the_session(serve):
    served = serve()
    old, sid = open_session(served, "rfc6455-13")
    new = RawWS(served.port, "/socket.io/websocket/" + sid, "rfc6455-13")
    assert new.status == 101
    assert isinstance(old.next_event(), ev.Close)  # the old one is closed
    served.listener.clients[sid].send("to new")
    assert new.next_message() == "1:7::to new,"
    new.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_heartbeats_count_from_one_and_unanswered_close_the_stream(serve, dialect):
    timers = {"heartbeat_interval": 0.3, "heartbeat_timeout": 0.5, "close_timeout": 5}
    served = serve(transport_options={"websocket": timers})
    ws, sid = open_session(served, dialect)
    assert ws.next_message() == "2:1:1,"
    ws.send_text("2:1:1,")  # echo the first
    assert ws.next_message() == "2:1:2,"
    # do not echo the second: the server closes the stream, the session waits
    events = ws.wait_eof(timeout=5)
    assert sid in served.listener.clients
    assert all(not isinstance(e, ev.Text) or e.data.startswith("2:") for e in events)


def test_flashsocket_runs_the_same_code(serve):
    served = echo_server(serve)
    ws, sid = open_session(served, "rfc6455-13", path="/socket.io/flashsocket")
    assert served.listener.clients[sid].transport == "flashsocket"
    ws.send_text(encode_message("flash"))
    assert ws.next_message() == encode_message("flash")
    ws.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_refused_origin_is_403_before_the_handshake(serve, dialect):
    served = serve()
    refused = RawWS(served.port, dialect=dialect, origin="http://evil.example")
    assert refused.status == 403 and refused.body == b"origin not allowed\n"
    assert served.listener.clients == {}
    allowed = RawWS(served.port, dialect=dialect, origin="http://127.0.0.1:%d" % served.port)
    assert allowed.status == 101
    allowed.close()


def test_refusals(serve):
    served = serve(transports=["websocket"])
    port = served.port
    refused = RawWS(port, dialect="rfc6455-13", extra=[("Sec-WebSocket-Version", "9")])
    # (two version headers are joined by the server: "13,9" is not a version)
    assert refused.status in (400, 426)
    v9 = RawWS(port, dialect="hixie75", extra=[("Sec-WebSocket-Version", "9")])
    assert v9.status == 426 and v9.headers["sec-websocket-version"] == "13, 8, 7"
    assert RawWS(port, "/socket.io/websocket/nosuchsid", "rfc6455-13").status == 404
    assert RawWS(port, "/socket.io/flashsocket", "rfc6455-13").status == 404  # not enabled
    bad_key = RawWS(port, dialect="hixie75", extra=[("Sec-WebSocket-Key1", "12345"), ("Sec-WebSocket-Key2", "1 2")])
    assert bad_key.status == 400
    assert RawWS(port, dialect="rfc6455-13", origin="http://127.0.0.1:%d" % port).status == 101


def test_upgrade_is_matched_case_insensitively(serve):
    served = serve()
    ws = RawWS(served.port, dialect="rfc6455-13", extra=[])
    assert ws.status == 101
    ws.close()
    shouty = RawWS(served.port, dialect="hixie75")  # sends "WebSocket"
    assert shouty.status == 101
    shouty.close()


def test_malformed_payload_delivers_frames_before_it_then_error_close(serve):
    served = serve()
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    ws, sid = open_session(served, "rfc6455-13")
    ws.send_text(encode_message("good") + "1:x:bad,")
    events = ws.wait_eof()
    assert isinstance(events[-1], ev.Close) and events[-1].code == 1002
    assert got == ["good"]
    # another session is unaffected
    other, _ = open_session(served, "rfc6455-13")
    other.send_text(encode_message("fine"))
    gevent.sleep(0.2)
    assert got == ["good", "fine"]


@pytest.mark.parametrize("dialect,close", [("rfc6455-13", 1009), ("hybi03", None), ("hixie76", None)])
def test_oversized_message_gets_the_too_big_close(serve, dialect, close):
    served = serve(max_message_size=1000)
    ws, sid = open_session(served, dialect)
    ws.send_raw(ws.text_frame("x" * 2000))
    events = ws.wait_eof()
    if close:
        assert isinstance(events[-1], ev.Close) and events[-1].code == close
    elif dialect == "hybi03":
        assert isinstance(events[-1], ev.Close)
    else:
        assert events and isinstance(events[-1], ev.Close)  # FF 00


def test_garbage_after_handshake_is_a_protocol_error_close(serve):
    served = serve()
    ws, sid = open_session(served, "rfc6455-13")
    ws.send_raw(b"\x8f\x80garbage")  # reserved opcode 15
    events = ws.wait_eof()
    assert isinstance(events[-1], ev.Close) and events[-1].code == 1002
    unmasked, _ = open_session(served, "rfc6455-13")
    unmasked.send_raw(b"\x81\x05Hello")  # a client frame must be masked
    assert unmasked.wait_eof()[-1].code == 1002


def test_key3_not_sent_within_handshake_timeout(serve):
    served = serve(handshake_timeout=0.5)
    ws = RawWS(served.port, dialect="hixie76", send_key3=False)
    assert ws.status == 101  # headers come before key3 (§4.3)
    assert ws.rfile.read(16) == b""  # then the server gives up and closes


@pytest.mark.parametrize("dialect", ["hybi03", "rfc6455-13", "hixie76"])
def test_nothing_is_written_after_a_close_frame_and_nothing_queued_is_lost(serve, dialect):
    served = serve()
    ws, sid = open_session(served, dialect)
    session = served.sessions.find(sid)
    session.machine.connection.ws.close(1000, "closing")  # our close is out, the answer not yet in
    served.listener.clients[sid].send("sent while closing")
    gevent.sleep(0.1)
    assert isinstance(ws.next_event(), ev.Close)
    ws.send_raw(b"")  # (the raw client never answers the close)
    with pytest.raises(gevent.Timeout):
        ws.next_event(timeout=0.5)  # no data frame after the close frame
    again = RawWS(served.port, "/socket.io/websocket/" + sid, dialect)
    assert again.next_message() == "1:19::sent while closing,"
    again.close()


def test_frames_sent_together_with_the_handshake_are_not_lost(serve):
    """Bytes that arrive with the headers (or with key3) sit in pywsgi's reader."""
    from gevent import socket as gsocket

    from .wsclient import KEY1, KEY2, KEY3, mask_frame

    served = serve()
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    for head, tail in [
        ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", mask_frame(1, encode_message("with rfc6455").encode())),
        ("Upgrade: WebSocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key1: %s\r\nSec-WebSocket-Key2: %s\r\n" % (KEY1, KEY2),
         KEY3 + b"\x00" + encode_message("with hixie-76").encode() + b"\xff"),
    ]:
        sock = gsocket.create_connection(("127.0.0.1", served.port))
        sock.sendall(("GET /socket.io/websocket HTTP/1.1\r\nHost: x\r\n%s\r\n" % head).encode() + tail)
        gevent.sleep(0.3)
        sock.close()
    assert got == ["with rfc6455", "with hixie-76"]


def test_a_deflate_client_that_reads_late_gets_every_broadcast_intact(serve):
    """With context takeover each frame depends on the one before, so a
    message may be compressed only when it is sure to be written: a
    broadcast that framed for a backed-up socket and then queued would
    break every message after it. The client stops reading until the
    server's socket is full, then reads all."""
    from socketio_gevent.websocket.deflate import client_offer, parse_response
    from socketio_gevent.websocket.rfc6455 import RFC6455Codec

    served = serve(websocket_deflate="context", max_queue_messages=100_000, max_queue_bytes=1 << 30)
    ws = RawWS(served.port, extra=[("Sec-WebSocket-Extensions", client_offer())])
    params = parse_response(ws.headers["sec-websocket-extensions"])
    assert not params.server_no_context_takeover
    ws.codec = RFC6455Codec(max_message_size=1 << 26, client=True, deflate=params)
    (frame,) = decode_payload(ws.next_message())
    sid = frame.data
    session = served.listener.clients[sid].session
    # incompressible, so the socket's buffers fill after a few MiB
    messages = ["%d " % i + os.urandom(3000).hex() for i in range(1500)]
    for i, message in enumerate(messages):
        served.listener.broadcast(message)
        if i % 50 == 0:
            gevent.sleep(0)
    assert session.machine.outbox.items, "the socket never backed up: the test proves nothing"
    got = []
    while len(got) < len(messages):
        got.extend(frame.data for frame in decode_payload(ws.next_message(timeout=10)) if frame.type == "1")
    assert got == [":" + message for message in messages]
