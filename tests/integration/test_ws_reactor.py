"""Sessions over websocket are read from loop watchers, not a greenlet each
(socketio_gevent.edge.reactor): what that must not change for users."""
from __future__ import annotations

import gc
import os
import socket

import gevent
import pytest
from gevent.event import Event
from greenlet import greenlet

from socketio_gevent.protocol.framing import decode_body, decode_payload, encode_message
from socketio_gevent.edge.reactor import MAX_IDLE_WORKERS

from .wsclient import RawWS, mask_frame


def _live_greenlets() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet) and not o.dead)


def _open(served, dialect="rfc6455-13"):
    ws = RawWS(served.port, "/socket.io/websocket", dialect)
    assert ws.status == 101
    (frame,) = decode_payload(ws.next_message())
    return ws, frame.data


def _texts(ws, count):
    got = []
    while len(got) < count:
        got.extend(decode_body(f.data)[0] for f in decode_payload(ws.next_message()))
    return got


def test_a_blocked_handler_does_not_hold_up_other_clients(serve):
    """A's handler waits until B's message has been handled: with one shared
    reader that would never happen (the test would time out)."""
    served = serve()
    b_handled = Event()

    def on_connection(client):
        def on_message(message, annotations):
            if message == "wait for b":
                ok = b_handled.wait(5)
                client.send("a done" if ok else "a starved")
            else:
                client.send("b done")
                b_handled.set()

        client.on("message", on_message)

    served.listener.on("connection", on_connection)
    a, _ = _open(served)
    b, _ = _open(served)
    a.send_text(encode_message("wait for b"))
    gevent.sleep(0.05)
    b.send_text(encode_message("from b"))
    assert _texts(b, 1) == ["b done"]
    assert _texts(a, 1) == ["a done"]
    a.close()
    b.close()


def test_one_clients_messages_are_handled_one_at_a_time_in_order(serve):
    served = serve()
    seen, busy = [], []

    def on_connection(client):
        def on_message(message, annotations):
            busy.append(message)
            assert len(busy) == 1, "two messages of one client handled at once"
            gevent.sleep(0.01 if int(message) % 7 == 0 else 0)  # some handlers block
            seen.append(message)
            busy.remove(message)
            client.send(message)

        client.on("message", on_message)

    served.listener.on("connection", on_connection)
    ws, _ = _open(served)
    expected = [str(i) for i in range(60)]
    for i in range(0, 60, 3):  # several messages per read, several reads
        ws.send_text("".join(encode_message(m) for m in expected[i:i + 3]))
    assert _texts(ws, 60) == expected
    assert seen == expected
    ws.close()


def test_idle_sessions_hold_no_greenlet(serve):
    served = serve()
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: c.send(m)))
    first, _ = _open(served)  # warm up: accept and worker greenlets exist from here
    first.send_text(encode_message("hi"))
    assert _texts(first, 1) == ["hi"]
    gevent.sleep(0.1)
    baseline = _live_greenlets()
    sockets = [_open(served)[0] for _ in range(100)]
    gevent.sleep(0.1)
    assert len(served.listener.clients) == 101
    # a greenlet per session would add 100; the workers are bounded
    assert _live_greenlets() <= baseline + MAX_IDLE_WORKERS
    for ws in sockets:
        ws.send_text(encode_message("still there"))
    assert all(_texts(ws, 1) == ["still there"] for ws in sockets)
    for ws in sockets + [first]:
        ws.close()


def test_an_open_session_keeps_no_handler_of_the_request_that_opened_it(serve):
    """The session keeps its opening request's environ: nothing in it may
    hold on to pywsgi's handler (its buffers, its request), which would
    cost every idle connection several KiB."""
    from socketio_gevent.edge.handler import SocketIOHandler

    served = serve()
    sockets = [_open(served)[0] for _ in range(20)]
    gevent.sleep(0.1)
    assert len(served.listener.clients) == 20
    gc.collect()
    handlers = [o for o in gc.get_objects() if isinstance(o, SocketIOHandler)]
    assert handlers == []
    for ws in sockets:
        ws.close()


@pytest.mark.parametrize("dialect", ["rfc6455-13", "hixie75"])
def test_a_message_in_the_same_packet_as_the_handshake_is_delivered(serve, dialect):
    """pywsgi may already hold bytes past the headers when the socket leaves it."""
    served = serve(origins="*:*")
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    if dialect == "hixie75":
        headers = "Upgrade: WebSocket\r\nConnection: Upgrade\r\nOrigin: http://x\r\n"
        frame = b"\x00" + encode_message("early").encode() + b"\xff"
    else:
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        headers = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n" % key)
        frame = mask_frame(1, encode_message("early").encode(), mask=os.urandom(4))
    request = "GET /socket.io/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % headers
    sock.sendall(request.encode() + frame)
    for _ in range(100):
        if got:
            break
        gevent.sleep(0.02)
    assert got == ["early"]
    sock.close()


def test_the_socket_is_closed_when_the_session_ends(serve):
    """The descriptor is ours once detached from pywsgi: no leak on close."""
    served = serve()
    ws, sid = _open(served)
    before = len(os.listdir("/proc/self/fd"))
    served.listener.clients[sid].disconnect()
    (frame,) = decode_payload(ws.next_message())
    assert frame.type == "0"  # 0:0:, then the close handshake
    ws.wait_eof()
    ws.close()
    gevent.sleep(0.2)
    assert len(os.listdir("/proc/self/fd")) <= before - 2  # server side and client side


def test_closing_the_listener_ends_websocket_sessions(serve):
    """The sockets left pywsgi's pool, so listener.close() ends them itself."""
    served = serve()
    gone = []
    served.listener.on("clientDisconnect", gone.append)
    ws, sid = _open(served)
    served.listener.close()
    served.server.stop(timeout=1)
    events = ws.wait_eof()
    assert events and events[-1].code == 1000  # a close frame, then EOF
    gevent.sleep(0.05)
    assert [c.session_id for c in gone] == [sid] and len(served.sessions) == 0
    ws.close()


def test_a_killed_worker_does_not_strand_its_connection_or_the_pool(serve):
    """gevent.killall at shutdown, or a kill from application code."""
    served = serve()
    killed = []

    def on_connection(client):
        def on_message(message, annotations):
            if message == "kill me":
                killed.append(True)
                gevent.getcurrent().throw(gevent.GreenletExit)
            client.send(message)

        client.on("message", on_message)

    served.listener.on("connection", on_connection)
    ws, _ = _open(served)
    ws.send_text(encode_message("kill me"))
    for _ in range(50):
        if killed:
            break
        gevent.sleep(0.02)
    gevent.sleep(0.05)
    ws.send_text(encode_message("still served"))
    assert _texts(ws, 1) == ["still served"]
    other, _ = _open(served)
    other.send_text(encode_message("and others too"))
    assert _texts(other, 1) == ["and others too"]
    ws.close()
    other.close()
