"""The gunicorn worker: every transport and dialect, and a clear refusal under a plain worker."""
from __future__ import annotations

import pytest
from gevent import socket

from socketio_gevent.client import SocketClient
from socketio_gevent.client.links import TRANSPORTS
from socketio_gevent.protocol.framing import encode_message

from ..integration.wsclient import RawWS


@pytest.fixture
def one_worker(gunicorn, redis_server):
    return gunicorn(redis_server.url, workers=1)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_worker_serves_every_transport(one_worker, transport):
    client = SocketClient("http://127.0.0.1:%d" % one_worker.port, transport=transport).connect()
    try:
        for text in ("hello", "é, : and \n"):
            client.send(text)
            assert client.receive(timeout=10) == ("echo:" + text, {})
    finally:
        client.disconnect()


@pytest.mark.parametrize("dialect", ["hixie75", "hixie76", "hybi03", "rfc6455-8", "rfc6455-13"])
def test_the_worker_upgrades_every_websocket_dialect(one_worker, dialect):
    ws = RawWS(one_worker.port, dialect=dialect)
    try:
        assert ws.status == 101
        assert ws.next_message(timeout=10).startswith("3:")
        ws.send_text(encode_message("hello"))
        assert ws.next_message(timeout=10) == encode_message("echo:hello")
    finally:
        ws.close()


def test_a_plain_gevent_worker_refuses_an_upgrade_clearly_and_says_which_worker_to_use(gunicorn):
    master = gunicorn(None, worker_class="gevent")
    ws = RawWS(master.port)
    assert ws.status == 501
    assert b"socketio_gevent.gunicorn.Worker" in ws.body
    ws.close()
    polling = SocketClient("http://127.0.0.1:%d" % master.port, transport="xhr-polling").connect()
    polling.send("still")
    assert polling.receive(timeout=10) == ("echo:still", {})  # the HTTP transports still work there
    polling.disconnect()
    master.stop()
    log = master.text
    assert "refused 1 WebSocket upgrade(s)" in log and "-k socketio_gevent.gunicorn.Worker" in log
    assert "Traceback" not in log


def test_no_worker_serves_the_flash_policy_port(gunicorn):
    gunicorn(None, workers=2)
    probe = socket.socket()
    probe.settimeout(2)
    try:
        with pytest.raises(OSError):  # refused: one policy server per host is the operator's to run
            probe.connect(("127.0.0.1", 843))
    finally:
        probe.close()


def test_an_app_that_is_not_the_middleware_fails_at_boot_with_what_to_do(tmp_path):
    import subprocess
    import sys

    from .conftest import ROOT, free_port

    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-k", "socketio_gevent.gunicorn.Worker", "-b", "127.0.0.1:%d" % port,
         "--control-socket", str(tmp_path / "ctl"), "tests.scale.app:page"],
        cwd=str(ROOT), capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"SocketIOMiddleware(your_wsgi_app, listener)" in result.stdout + result.stderr
