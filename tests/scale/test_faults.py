"""Faults: a worker killed, Redis restarted, its connections killed, Redis paused or absent.

No worker goes deaf, local delivery never stops, a gap of 10 s loses no
broadcast, and a dead worker's sessions get 404 within a bound (the client
opens a new session and fires ``reconnect``).
"""
from __future__ import annotations

import os
import signal
import time
from typing import List

import gevent
import pytest

from socketio_gevent.client import SocketClient
from socketio_gevent.client.http import HTTPConnection
from socketio_gevent.protocol.framing import encode_message

from ..integration import helpers
from .conftest import free_port, health
from .proxy import RoundRobin
from .test_bus import messages, two_workers

pytestmark = pytest.mark.timeout(120)

#: A dead worker's sessions are refused within this (its alive key lapses in
#: 4 s; a relayed request waits 2 s for the owner first).
DEAD_BOUND = 10.0


def wait_connected(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = health(port)
        if state["reading"] and state["writing"]:
            return
        gevent.sleep(0.1)
    raise AssertionError("the bus did not reconnect: %s" % health(port))


def crosses(sender, receiver, text: str) -> None:
    sender.send_text(encode_message("bcast:" + text))
    assert text in messages(receiver, 1, timeout=15)


def test_a_killed_worker_s_sessions_get_404_and_a_new_session_others_are_untouched(gunicorn, redis_server):
    a, b = gunicorn(redis_server.url), gunicorn(redis_server.url)
    balancer = RoundRobin([a.port, b.port])  # the handshake lands on A, later requests on both
    doomed = SocketClient(balancer.url, transport="xhr-polling", reconnect=True)
    reconnected: List[object] = []
    doomed.on("reconnect", lambda *args: reconnected.append(args))
    doomed.connect()
    first_sid = doomed.session_id
    survivor = SocketClient("http://127.0.0.1:%d" % b.port, transport="websocket").connect()
    [worker] = a.worker_pids()
    os.kill(worker, signal.SIGKILL)
    started = time.monotonic()
    while not reconnected and time.monotonic() - started < DEAD_BOUND + 10:
        gevent.sleep(0.2)
    assert reconnected, "the client never learnt its session was gone"
    assert doomed.session_id != first_sid
    assert time.monotonic() - started < DEAD_BOUND + 5
    # the dead session's id is refused everywhere, with 404
    for port in (a.port, b.port):
        assert helpers.poll(HTTPConnection("127.0.0.1", port, 30), first_sid).status == 404
    doomed.send("after")
    assert doomed.receive(timeout=10) == ("echo:after", {})
    survivor.send("still here")
    assert survivor.receive(timeout=10) == ("echo:still here", {})
    doomed.disconnect()
    survivor.disconnect()
    balancer.stop()


def test_redis_restart_killed_connections_and_a_pause_leave_no_worker_deaf(gunicorn, redis_server):
    a, b, (ws_a, _), (ws_b, _) = two_workers(gunicorn, redis_server.url)
    crosses(ws_a, ws_b, "before")
    messages(ws_a, 1)

    redis_server.restart(down_for=0.5)
    wait_connected(a.port)
    wait_connected(b.port)
    crosses(ws_a, ws_b, "after a restart")
    messages(ws_a, 1)

    client = redis_server.client()
    killed = client.client_kill_filter(_type="normal", skipme=True)
    assert killed >= 4  # each worker's reader and writer
    crosses(ws_b, ws_a, "after CLIENT KILL")
    messages(ws_b, 1)

    client.execute_command("DEBUG", "SLEEP", "5")  # every connection stalls for 5 s
    client.close()
    wait_connected(a.port)
    wait_connected(b.port)
    crosses(ws_a, ws_b, "after a pause")
    assert health(a.port)["errors"] >= 1  # each fault was seen, survived, counted


def test_a_ten_second_outage_loses_no_broadcast_and_local_delivery_never_stops(gunicorn, redis_server):
    a, b, (ws_a, _), (ws_b, _) = two_workers(gunicorn, redis_server.url)
    crosses(ws_a, ws_b, "warm")
    messages(ws_a, 1)
    redis_server.stop()
    for i in range(50):
        ws_a.send_text(encode_message("bcast:gap:%d" % i))
    assert messages(ws_a, 50, timeout=5) == ["gap:%d" % i for i in range(50)]  # at once, Redis or not
    assert health(a.port)["buffered"] == 50
    gevent.sleep(10)
    redis_server.start()
    assert messages(ws_b, 50, timeout=20) == ["gap:%d" % i for i in range(50)]
    assert health(a.port)["dropped"] == 0 and health(b.port)["missed"] == 0


def test_redis_absent_at_start_relays_answer_503_fast_and_all_resumes_when_it_comes(gunicorn, tmp_path):
    from .conftest import Redis

    port = free_port()
    url = "redis://127.0.0.1:%d/0" % port
    a, b = gunicorn(url), gunicorn(url)
    sid = helpers.handshake(HTTPConnection("127.0.0.1", a.port, 30))  # each worker serves (after waiting
    helpers.handshake(HTTPConnection("127.0.0.1", b.port, 30))  # for its bus a while: it is not there)
    assert helpers.post(HTTPConnection("127.0.0.1", a.port, 30), sid, encode_message("local")).status == 200
    started = time.monotonic()
    response = helpers.poll(HTTPConnection("127.0.0.1", b.port, 30), sid)
    assert response.status == 503 and response.headers.get("retry-after") == "1"
    assert time.monotonic() - started < 1.0
    assert health(a.port)["connected"] is False
    assert "serves without its message bus" in a.text
    redis = Redis.__new__(Redis)
    redis.workdir, redis.port, redis.unix, redis.proc = tmp_path, port, str(tmp_path / "late.sock"), None
    redis.start()
    try:
        wait_connected(a.port)
        wait_connected(b.port)
        response = helpers.poll(HTTPConnection("127.0.0.1", b.port, 30), sid)  # relayed to A now
        assert response.status == 200 and b"echo:local" in response.body
    finally:
        redis.stop()
