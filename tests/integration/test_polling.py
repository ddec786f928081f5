"""xhr-polling and jsonp-polling against a real gevent server (docs/protocol.rst §3, §4.1, §4.2)."""
from __future__ import annotations

import json
import re

import gevent

from socketio_gevent.protocol.framing import decode_payload, encode_message

from .helpers import handshake, poll, poll_frames, post, ts, unwrap_jsonp


def test_handshake_answers_session_frame_and_fires_connection(serve):
    served = serve()
    seen = []
    served.listener.on("connection", seen.append)
    conn = served.http()
    response = conn.request("GET", "/socket.io/xhr-polling//%d" % ts())
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; charset=UTF-8"
    assert int(response.headers["content-length"]) == len(response.body)
    (frame,) = decode_payload(response.body.decode())
    assert frame.type == "3"
    sid = frame.data
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", sid)  # >= 128 bits, URL-safe, no '/'
    assert [c.session_id for c in seen] == [sid]
    assert served.listener.clients[sid] is seen[0]
    assert seen[0].transport == "xhr-polling"
    assert seen[0].connected


def test_messages_sent_in_connection_handler_come_in_next_poll(serve):
    served = serve()
    served.listener.on("connection", lambda c: c.send("welcome"))
    conn = served.http()
    sid = handshake(conn)
    frames = poll_frames(conn, sid)
    assert [f.data for f in frames] == [":welcome"]


def test_poll_holds_until_a_message_is_queued(serve):
    served = serve()
    conn = served.http()
    sid = handshake(conn)
    client = served.listener.clients[sid]
    gevent.spawn_later(0.3, client.send, "late")
    frames = poll_frames(conn, sid)
    assert [f.data for f in frames] == [":late"]


def test_poll_answers_empty_after_duration(serve):
    served = serve(transport_options={"xhr-polling": {"duration": 0.5}})
    conn = served.http()
    sid = handshake(conn)
    response = poll(conn, sid)
    assert response.status == 200 and response.body == b""
    assert response.headers["content-length"] == "0"
    assert sid in served.listener.clients


def test_post_delivers_frames_in_order_and_answers_ok(serve):
    served = serve()
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(("listener", m)))
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: got.append((m, a))))
    conn = served.http()
    sid = handshake(conn)
    payload = "1:6::hello," + encode_message({"n": 1}) + encode_message("x", {"r": "chat", "k": None})
    response = post(conn, sid, payload)
    assert (response.status, response.body) == (200, b"ok")
    assert got == [
        ("hello", {}), ("listener", "hello"),
        ({"n": 1}, {}), ("listener", {"n": 1}),
        ("x", {"r": "chat", "k": None}), ("listener", "x"),
    ]


def test_200_messages_queued_between_polls_arrive_once_in_order(serve):
    served = serve()
    conn = served.http()
    sid = handshake(conn)
    client = served.listener.clients[sid]
    for i in range(200):
        client.send(str(i))
    frames = poll_frames(conn, sid)  # flushed in order as one payload
    assert [f.data for f in frames] == [":%d" % i for i in range(200)]
    # and while the client keeps polling, nothing is lost or duplicated
    received = []

    def sender():
        for i in range(200, 400):
            client.send(str(i))
            if i % 7 == 0:
                gevent.sleep(0.001)

    g = gevent.spawn(sender)
    while len(received) < 200:
        received.extend(f.data for f in poll_frames(conn, sid))
    g.join()
    assert received == [":%d" % i for i in range(200, 400)]


def test_second_get_answers_first_empty_and_takes_over(serve):
    served = serve()
    first, second = served.http(), served.http()
    sid = handshake(first)
    held = gevent.spawn(poll, first, sid)
    gevent.sleep(0.2)
    taker = gevent.spawn(poll, second, sid)
    response = held.get(timeout=5)
    assert response.status == 200 and response.body == b""
    served.listener.clients[sid].send("to the second")
    assert taker.get(timeout=5).body == b"1:14::to the second,"


def test_keep_alive_serves_many_polls_on_one_socket(serve):
    served = serve()
    conn = served.http()
    sid = handshake(conn)
    sock_before = conn._sock
    client = served.listener.clients[sid]
    for i in range(5):
        client.send(str(i))
        assert [f.data for f in poll_frames(conn, sid)] == [":%d" % i]
    assert conn._sock is sock_before
    assert client.connections == 5


def test_unknown_session_is_404_for_get_and_post(serve):
    conn = serve().http()
    assert poll(conn, "nosuchsession").status == 404
    assert post(conn, "nosuchsession", "1:2::x,").status == 404


def test_disabled_transport_is_404_and_unknown_transport_reaches_the_app(serve):
    served = serve(transports=["jsonp-polling"])
    conn = served.http()
    assert conn.request("GET", "/socket.io/xhr-polling//1").status == 404
    response = conn.request("GET", "/socket.io/no-such-transport//1")
    assert (response.status, response.body) == (200, b"app:/socket.io/no-such-transport//1")
    assert conn.request("GET", "/elsewhere").body == b"app:/elsewhere"


def test_client_disconnect_frame_ends_session_and_held_poll(serve):
    served = serve()
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    conn, other = served.http(), served.http()
    sid = handshake(conn)
    held = gevent.spawn(poll, conn, sid)
    gevent.sleep(0.1)
    assert post(other, sid, "0:0:,").status == 200
    assert held.get(timeout=5).body == b""
    gevent.sleep(0.1)
    assert [c.session_id for c in fired] == [sid]
    assert sid not in served.listener.clients and sid not in served.sessions
    assert poll(other, sid).status == 404


def test_application_disconnect_sends_disconnect_frame_then_ends(serve):
    served = serve()
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    conn = served.http()
    sid = handshake(conn)
    client = served.listener.clients[sid]
    client.send("bye")
    client.disconnect()
    client.disconnect()  # idempotent
    assert not client.connected
    frames = poll_frames(conn, sid)
    assert [(f.type, f.data) for f in frames] == [("1", ":bye"), ("0", "")]
    gevent.sleep(0.1)
    assert len(fired) == 1
    assert poll(conn, sid).status == 404


def test_close_timeout_disconnects_once_when_client_does_not_return(serve):
    served = serve(transport_options={"xhr-polling": {"close_timeout": 0.5}})
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    conn = served.http()
    sid = handshake(conn)
    assert served.listener.clients[sid].connected
    gevent.sleep(1.5)
    assert [c.session_id for c in fired] == [sid]
    assert not fired[0].connected
    assert poll(conn, sid).status == 404


def test_session_stays_while_client_keeps_polling(serve):
    served = serve(transport_options={"xhr-polling": {"close_timeout": 0.5, "duration": 0.3}})
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    conn = served.http()
    sid = handshake(conn)
    for _ in range(5):  # 1.5 s of polling, longer than close_timeout
        assert poll(conn, sid).status == 200
    assert fired == [] and sid in served.listener.clients


def test_polls_reuse_one_session_timer_and_the_session_still_times_out(serve):
    # A held poll has no deadline (no heartbeats on polling): the timer is
    # kept rather than cancelled and made again at every poll.
    served = serve(transport_options={"xhr-polling": {"close_timeout": 0.5, "duration": 0.05}})
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    conn = served.http()
    sid = handshake(conn)
    session = served.sessions.find(sid)
    timers = []  # (the objects, not their ids: a freed timer's id may be reused)
    for _ in range(5):
        assert poll(conn, sid).status == 200
        timers.append(session._timer)
    assert timers[0] is not None and all(timer is timers[0] for timer in timers)
    gevent.sleep(1.5)  # the client stops polling: close_timeout still ends it, once
    assert [c.session_id for c in fired] == [sid]
    assert session._timer is None


def test_inbound_messages_are_dispatched_one_at_a_time(serve):
    served = serve()
    active, peak, order = [0], [0], []

    def on_message(message, annotations):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        gevent.sleep(0.05)
        order.append(message)
        active[0] -= 1

    served.listener.on("connection", lambda c: c.on("message", on_message))
    conn = served.http()
    sid = handshake(conn)
    posts = [gevent.spawn(post, served.http(), sid, encode_message(str(i))) for i in range(4)]
    gevent.joinall(posts, timeout=10)
    assert all(p.value.status == 200 for p in posts)
    assert peak[0] == 1 and sorted(order) == ["0", "1", "2", "3"]


def test_binary_messages_over_polling_are_b_annotated(serve):
    served = serve()
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    conn = served.http()
    sid = handshake(conn)
    served.listener.clients[sid].send(b"\x00\xffbin")
    assert poll(conn, sid).body == b"1:11:b\n:AP9iaW4=,"
    post(conn, sid, "1:11:b\n:AP9iaW4=,")
    assert got == [b"\x00\xffbin"]


# -- jsonp-polling (§4.2) ----------------------------------------------------

def test_jsonp_handshake_and_poll_are_wrapped_in_the_indexed_callback(serve):
    served = serve()
    conn = served.http()
    response = conn.request("GET", "/socket.io/jsonp-polling//%d/7" % ts())
    assert response.status == 200
    assert response.headers["content-type"] == "text/javascript; charset=UTF-8"
    text = response.body.decode()
    assert text.startswith("io.JSONP[7]._(")
    sid = decode_payload(unwrap_jsonp(text))[0].data
    served.listener.clients[sid].send("</script>\u2028&x")
    body = conn.request("GET", "/socket.io/jsonp-polling/%s/%d/8" % (sid, ts())).body.decode()
    assert body == 'io.JSONP[8]._("1:13::\\u003c/script\\u003e\\u2028\\u0026x,");'


def test_jsonp_index_must_be_an_integer(serve):
    conn = serve().http()
    for bad in ("x", "1e3", "-1", "0);alert(1", ""):
        response = conn.request("GET", "/socket.io/jsonp-polling//%d/%s" % (ts(), bad))
        assert response.status == 400, bad


def test_jsonp_post_d_field_and_crlf_data_field(serve):
    served = serve()
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    conn = served.http()
    sid = handshake(conn, "jsonp-polling")
    assert post(conn, sid, json.dumps("1:8:r:a\n:b\nc,"), transport="jsonp-polling", field="d").status == 200
    # a browser form turns LF into CRLF; the server turns it back (§4.2)
    assert post(conn, sid, "1:8:r:a\r\n:b\r\nc,", transport="jsonp-polling").status == 200
    assert got == ["b\nc", "b\nc"]


def test_a_held_poll_whose_client_hung_up_leaves_the_queue_intact(serve):
    served = serve()
    conn = served.http()
    sid = handshake(conn)
    held = served.http()
    g = gevent.spawn(poll, held, sid)
    gevent.sleep(0.2)
    g.kill()
    held.close()  # the client goes away while its poll is held
    gevent.sleep(0.1)
    client = served.listener.clients[sid]
    for i in range(5):
        client.send(str(i))
    gevent.sleep(0.1)
    assert [f.data for f in poll_frames(conn, sid)] == [":%d" % i for i in range(5)]
