"""The Redis message bus between processes: URLs, the emitter, one port shared by four workers."""
from __future__ import annotations

import re
from typing import List

import gevent
import pytest

from socketio_gevent import Emitter
from socketio_gevent.client import SocketClient
from socketio_gevent.client.links import TRANSPORTS
from socketio_gevent.client.http import HTTPConnection
from socketio_gevent.edge.redis_backend import RedisBackend
from socketio_gevent.protocol.bus import Broadcast
from socketio_gevent.protocol.framing import decode_payload, encode_message

from ..integration import helpers
from ..integration.wsclient import RawWS
from .conftest import health


def messages(ws: RawWS, count: int, timeout: float = 10) -> List[str]:
    """The next ``count`` messages (heartbeats aside)."""
    got: List[str] = []
    while len(got) < count:
        got += [f.data[1:] if f.data.startswith(":") else f.data
                for f in decode_payload(ws.next_message(timeout=timeout)) if f.type == "1"]
    return got


def opened(port: int) -> "tuple[RawWS, str]":
    ws = RawWS(port)
    sid = re.match(r"3:\d+:(.+),", ws.next_message()).group(1)
    return ws, sid


def two_workers(gunicorn, url: str):
    """Two single-worker masters on one Redis, a WebSocket client on each:
    ``(a, b, (ws_a, sid_a), (ws_b, sid_b))``."""
    a, b = gunicorn(url), gunicorn(url)
    return a, b, opened(a.port), opened(b.port)


def test_without_gevent_monkey_patching_the_bus_refuses_to_start(redis_server):
    backend = RedisBackend(redis_server.url)
    with pytest.raises(RuntimeError, match=r"gevent\.monkey\.patch_all\(\)"):
        backend.start()  # this test process is not patched: redis-py would block its loop


def test_a_unix_socket_url_carries_broadcasts(gunicorn, redis_server):
    a, b, (ws_a, _), (ws_b, _) = two_workers(gunicorn, redis_server.unix_url)
    ws_a.send_text(encode_message("bcast:over the socket"))
    assert messages(ws_b, 1) == ["over the socket"]
    assert messages(ws_a, 1) == ["over the socket"]
    assert health(b.port)["connected"] is True


@pytest.mark.parametrize("protocol", ["2", "3"])
def test_either_redis_protocol_carries_broadcasts_and_relayed_requests(gunicorn, redis_server, protocol):
    """The bus reads replies itself: RESP2 (redis-py before 8 speaks it by
    default) answers entries as lists, RESP3 as maps; both must arrive."""
    url = redis_server.url + "?protocol=" + protocol
    a, b, (ws_a, _), (ws_b, _) = two_workers(gunicorn, url)
    ws_a.send_text(encode_message("bcast:in RESP" + protocol))
    assert messages(ws_b, 1) == ["in RESP" + protocol]
    sid = helpers.handshake(HTTPConnection("127.0.0.1", a.port, 30), "xhr-polling")
    response = helpers.post(HTTPConnection("127.0.0.1", b.port, 30), sid, encode_message("n:1"), "xhr-polling")
    assert response.status == 200 and response.body == b"ok", response  # relayed through a's inbox
    response = HTTPConnection("127.0.0.1", b.port, 30).request(
        "GET", "/socket.io/xhr-polling/%s/%d" % (sid, helpers.ts()))
    assert response.status == 200, response
    assert [f.data for f in decode_payload(response.body.decode()) if f.type == "1"] == [
        decode_payload(encode_message("echo:n:1"))[0].data]


def test_a_realm_broadcast_crosses_processes(gunicorn, redis_server):
    a, b, (ws_a, _), (ws_b, _) = two_workers(gunicorn, redis_server.url)
    ws_a.send_text(encode_message("realm:in chat"))
    frames = decode_payload(ws_b.next_message(timeout=10))
    assert [(f.type, f.data) for f in frames] == [("1", "r:chat\n:in chat")]  # annotated with its realm (§7)


def test_past_max_buffered_entries_for_other_processes_are_dropped_and_counted(caplog):
    """Redis away for long: local delivery goes on, what others would get is bounded."""
    backend = RedisBackend("redis://127.0.0.1:9/0", max_buffered=10)  # never started: nothing is written
    delivered = []
    backend.attach(delivered.append)
    for i in range(25):
        backend.publish(Broadcast("1:2::%d," % (i % 10), frozenset()))
    assert len(delivered) == 25  # this process's clients got every one
    health = backend.health()
    assert health["buffered"] == 10 and health["dropped"] == 15
    assert sum("dropped" in r.getMessage() for r in caplog.records) == 1  # one line, not fifteen


def test_a_tls_url_carries_broadcasts(gunicorn, tmp_path):
    """``rediss://``: the bus over TLS (a self-signed certificate made here, so
    the client is told not to verify it; verification is redis-py's, with the
    URL's ``ssl_*`` parameters)."""
    import subprocess

    from .conftest import free_port, wait_port

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                              "--tls-cert-file", str(tmp_path / "cert.pem"),
                              "--tls-key-file", str(tmp_path / "key.pem"), "--tls-auth-clients", "no",
                              "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=redis)
        url = "rediss://127.0.0.1:%d/0?ssl_cert_reqs=none" % port
        a, b, (ws_a, _), (ws_b, _) = two_workers(gunicorn, url)
        ws_a.send_text(encode_message("bcast:over TLS"))
        assert messages(ws_b, 1) == ["over TLS"]
        assert health(b.port)["connected"] is True
    finally:
        redis.terminate()
        redis.wait(10)


def test_the_emitter_reaches_every_process_rooms_and_single_sessions(gunicorn, redis_server):
    a, b, (ws_a, sid_a), (ws_b, sid_b) = two_workers(gunicorn, redis_server.url)
    ws_b.send_text(encode_message("join:lobby"))
    assert messages(ws_b, 1) == ["joined:lobby"]
    with Emitter(redis_server.url, channel="scale") as emitter:
        for i in range(20):
            emitter.send("all:%d" % i)
        emitter.send("lobby only", to="lobby")
        emitter.send("just a", to=sid_a)
        emitter.send("not b", except_=sid_b)
        emitter.emit("news", {"n": 1}, to=sid_b)
        assert messages(ws_a, 22) == ["all:%d" % i for i in range(20)] + ["just a", "not b"]
        got_b = messages(ws_b, 22)
        assert got_b[:21] == ["all:%d" % i for i in range(20)] + ["lobby only"]
        assert "e:news" in got_b[21] and '[{"n":1}]' in got_b[21]  # the named event (§10), annotated
        emitter.disconnect(sid_a)
        assert ws_a.next_message(timeout=10) == "0:0:,"


def test_four_workers_on_one_port_any_request_anywhere(gunicorn, redis_server):
    """gunicorn -w 4 --reuse-port, a new TCP connection for every request."""
    master = gunicorn(redis_server.url, workers=4, extra=["--reuse-port"])
    port = master.port

    def fresh() -> HTTPConnection:
        return HTTPConnection("127.0.0.1", port, 30)

    sid = helpers.handshake(fresh())
    got: List[str] = []
    for i in range(120):
        response = helpers.post(fresh(), sid, encode_message("n:%d" % i))
        assert response.status == 200, response
        if i % 10 == 9:
            while len(got) < i + 1:
                response = helpers.poll(fresh(), sid)
                assert response.status == 200, response
                got += [f.data[1:] for f in decode_payload(response.body.decode()) if f.type == "1"]
    assert got == ["echo:n:%d" % i for i in range(120)]
    gevent.sleep(0.2)
    pids = set(re.findall(r"\[(\d+)\] \[INFO\] [^\n]*/socket\.io/xhr-polling/%s/" % re.escape(sid), master.text))
    assert len(pids) >= 2, "one worker served every request: %s" % pids


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_transport_on_four_workers_sharing_one_port(gunicorn, redis_server, transport):
    """The Python client on one port that four workers accept on: each new
    connection lands on any of them. 100 numbered messages each way, and a
    broadcast from a second client reaches it once."""
    master = gunicorn(redis_server.url, workers=4, extra=["--reuse-port"])
    url = "http://127.0.0.1:%d" % master.port
    client = SocketClient(url, transport=transport).connect()
    other = SocketClient(url, transport="websocket").connect()
    try:
        for i in range(100):
            client.send("n:%d" % i)
        assert [client.receive(timeout=20)[0] for _ in range(100)] == ["echo:n:%d" % i for i in range(100)]
        other.send("bcast:to all")
        assert client.receive(timeout=20) == ("to all", {})
        assert other.receive(timeout=20) == ("to all", {})
    finally:
        client.disconnect()
        other.disconnect()
