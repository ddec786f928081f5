"""No sticky sessions: any request for any session on any worker, through Redis."""
from __future__ import annotations

import itertools
import re
import time
from typing import Dict, List

import gevent
import pytest

from socketio_gevent.client import SocketClient
from socketio_gevent.client.http import HTTPConnection
from socketio_gevent.client.links import TRANSPORTS
from socketio_gevent.protocol.framing import decode_payload, encode_message

from ..integration import helpers
from ..integration.wsclient import RawWS
from .proxy import RoundRobin

COUNT = 200


@pytest.fixture
def three(gunicorn, redis_server):
    """Three single-worker masters on three ports, one Redis."""
    return [gunicorn(redis_server.url, workers=1) for _ in range(3)]


def fresh(port: int) -> HTTPConnection:
    return HTTPConnection("127.0.0.1", port, 30)


@pytest.mark.parametrize("transport", ["xhr-polling", "jsonp-polling"])
def test_polling_requests_rotated_across_three_processes_lose_nothing(three, transport):
    """Handshake on A, POST on B, poll on C, …: a new connection for every request."""
    ports = itertools.cycle([m.port for m in three])
    sid = helpers.handshake(fresh(next(ports)), transport)
    got: List[str] = []
    for i in range(COUNT):
        response = helpers.post(fresh(next(ports)), sid, encode_message("n:%d" % i), transport)
        assert response.status == 200 and response.body == b"ok", response
        if i % 7 == 6 or i == COUNT - 1:
            while len(got) < i + 1:
                path = "/socket.io/%s/%s/%d" % (transport, sid, helpers.ts())
                if transport == "jsonp-polling":
                    path += "/0"
                response = fresh(next(ports)).request("GET", path)
                assert response.status == 200, response
                text = response.body.decode()
                if transport == "jsonp-polling":
                    text = helpers.unwrap_jsonp(text)
                got += [f.data for f in decode_payload(text) if f.type == "1"]
    assert got == [decode_payload(encode_message("echo:n:%d" % i))[0].data for i in range(COUNT)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_transport_through_a_balancer_with_no_affinity(three, transport):
    """The Python client behind a round-robin balancer: every new connection
    lands on the next process; the balancer is cut twice (the client reopens
    its session, wherever that lands). 200 numbered messages each way."""
    balancer = RoundRobin([m.port for m in three])
    client = SocketClient(balancer.url, transport=transport).connect()
    try:
        received: List[str] = []
        for i in range(COUNT):
            client.send("n:%d" % i)
            if i in (60, 140):
                gevent.sleep(0.05)
                balancer.cut()
        while len(received) < COUNT:
            message, _ = client.receive(timeout=20)
            received.append(message)
        assert received == ["echo:n:%d" % i for i in range(COUNT)]
        assert sum(1 for n in balancer.sent.values() if n) >= 2, balancer.sent
    finally:
        client.disconnect()
        balancer.stop()


def test_a_relayed_poll_whose_client_hangs_up_leaves_the_messages_to_the_next_request(three):
    """The edge's client hangs up during a held poll: the owner sees the end
    of file as from its own client, takes nothing, and the next poll (on a
    third process) gets what was sent meanwhile."""
    a, b, c = (m.port for m in three)
    sid = helpers.handshake(fresh(a))
    conn = fresh(b)
    held = gevent.spawn(helpers.poll, conn, sid)
    gevent.sleep(0.5)  # relayed to A and held there
    held.kill()
    conn.close()  # the client hangs up
    gevent.sleep(0.5)
    other = helpers.handshake(fresh(c))
    assert helpers.post(fresh(c), other, encode_message("to:%s:kept" % sid)).status == 200
    response = helpers.poll(fresh(c), sid)
    assert response.status == 200
    assert [f.data for f in decode_payload(response.body.decode()) if f.type == "1"] == [":kept"]


def test_a_session_id_naming_no_live_process_gets_404_at_once(three):
    """A made-up owner (or a dead one) costs a lookup: no tunnel, no wait."""
    for sid in ("Q" * 12 + "x" * 16, "not-a-process-at-all-x", "short"):
        started = time.monotonic()
        response = helpers.poll(fresh(three[1].port), sid)
        assert response.status == 404, response
        assert time.monotonic() - started < 0.5


def test_a_websocket_reconnect_lands_on_another_process_and_keeps_its_session(three):
    a, b, c = (m.port for m in three)
    ws = RawWS(a)
    sid = re.match(r"3:\d+:(.+),", ws.next_message()).group(1)
    ws.send_text(encode_message("pid"))
    owner_pid = ws.next_message()
    ws.close()
    for port in (b, c, a, b):
        ws = RawWS(port, path="/socket.io/websocket/%s" % sid)
        assert ws.status == 101, ws.body
        ws.send_text(encode_message("pid"))
        assert ws.next_message(timeout=10) == owner_pid  # handled where the session lives
        ws.close()
        gevent.sleep(0.1)


def test_a_broadcast_from_each_process_reaches_every_client_once_in_order(three):
    clients: Dict[int, List[RawWS]] = {}
    for master in three:
        clients[master.port] = [RawWS(master.port) for _ in range(3)]
    for sockets in clients.values():
        for ws in sockets:
            assert ws.next_message().startswith("3:")
    per = 30
    for index, master in enumerate(three):
        sender = clients[master.port][0]
        for i in range(per):
            sender.send_text(encode_message("bcast:%d:%d" % (index, i)))
    expected = sorted("%d:%d" % (p, i) for p in range(3) for i in range(per))
    for sockets in clients.values():
        for ws in sockets:
            texts: List[str] = []
            while len(texts) < 3 * per:
                frames = decode_payload(ws.next_message(timeout=10))
                texts += [f.data[1:] for f in frames if f.type == "1"]  # heartbeats aside
            assert sorted(texts) == expected  # each exactly once
            for p in range(3):
                mine = [t for t in texts if t.startswith("%d:" % p)]
                assert mine == ["%d:%d" % (p, i) for i in range(per)]  # each publisher's order kept
            ws.close()


def test_a_send_and_a_disconnect_reach_a_session_of_another_process(three):
    a, b = three[0].port, three[1].port
    here = RawWS(a)
    here.next_message()
    there = RawWS(b)
    there_sid = re.match(r"3:\d+:(.+),", there.next_message()).group(1)
    here.send_text(encode_message("to:%s:psst" % there_sid))
    assert there.next_message(timeout=10) == encode_message("psst")
    here.send_text(encode_message("kick:%s" % there_sid))
    assert there.next_message(timeout=10) == "0:0:,"
    here.close()
