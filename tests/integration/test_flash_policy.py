"""The Flash policy: inline on the main port and on its own port (docs/protocol.rst §4.4)."""
from __future__ import annotations

import logging

from gevent import socket
from gevent.pywsgi import WSGIServer

import socketio_gevent
from socketio_gevent.edge import flash_server
from socketio_gevent.protocol.flash_policy import POLICY_REQUEST, policy_reply

from ..conftest import plain_app
from .helpers import exchange


def ask(port: int, request: bytes = POLICY_REQUEST) -> bytes:
    return exchange(port, request)


def test_policy_reply_exact_bytes():
    assert policy_reply(["*"], ["8080"]) == (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE cross-domain-policy SYSTEM "http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd">\n'
        b"<cross-domain-policy>\n"
        b'<allow-access-from domain="*" to-ports="8080"/>\n'
        b"</cross-domain-policy>\n\x00"
    )
    assert b'domain="a.com" to-ports="*"' in policy_reply(["a.com", "a.com"], ["*", "80"])


def test_inline_policy_on_the_main_port_then_http_still_works(serve):
    served = serve()
    reply = ask(served.port)
    assert reply.endswith(b"</cross-domain-policy>\n\x00")
    assert b'<allow-access-from domain="*" to-ports="%d"/>' % served.port in reply
    assert served.http().request("GET", "/x").body == b"app:/x"


def test_inline_policy_names_pattern_hosts(serve):
    served = serve(origins=["chat.example.com:*", "*.example.org:443"])
    reply = ask(served.port)
    assert b'domain="chat.example.com"' in reply and b'domain="*.example.org"' in reply


def test_not_a_policy_request_is_a_400(serve):
    served = serve()
    assert ask(served.port, b"<html>hello</html>\r\n\r\n").startswith(b"HTTP/1.1 400")


def test_policy_server_on_its_own_port_once_per_process():
    servers = [WSGIServer(("127.0.0.1", 0), plain_app, log=None) for _ in range(2)]
    for s in servers:
        s.start()
    # port 0 picks a free port for the first; the second listener shares it
    first = socketio_gevent.listen(servers[0], flash_policy_port=0)
    service = flash_server.server_for(first)
    assert service is not None
    second = socketio_gevent.listen(servers[1], flash_policy_port=service.port)
    assert flash_server.server_for(second) is service
    reply = ask(service.port)
    for s in servers:
        assert b"%d" % s.server_port in reply
    first.close()
    assert service.server.started
    second.close()
    assert not service.server.started
    for s in servers:
        s.stop()


def test_bind_failure_is_logged_once_and_not_fatal(caplog):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    servers = [WSGIServer(("127.0.0.1", 0), plain_app, log=None) for _ in range(2)]
    with caplog.at_level(logging.WARNING, logger="socketio_gevent"):
        listeners = [socketio_gevent.listen(s, flash_policy_port=port) for s in servers]
    assert all(flash_server.server_for(each) is None for each in listeners)
    assert sum("flash policy server not started" in r.getMessage() for r in caplog.records) == 1
    blocker.close()


def test_the_standalone_policy_server_answers_for_the_given_origins_and_port(tmp_path):
    """``python -m socketio_gevent.flash_policy``: what an operator runs once per host."""
    import subprocess
    import sys

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = subprocess.Popen([sys.executable, "-m", "socketio_gevent.flash_policy", "--host", "127.0.0.1",
                             "--port", str(port), "--origins", "example.com:*", "--to-port", "8080"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("flash policy on 127.0.0.1:%d" % port)
        reply = ask(port)
        assert b'<allow-access-from domain="example.com" to-ports="8080"/>' in reply
    finally:
        proc.terminate()
        proc.wait(10)
