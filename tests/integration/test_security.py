"""Origins, CORS, limits and bad input on a real server (docs/protocol.rst §1 errors, §4.1, §6)."""
from __future__ import annotations

import logging
import socket as stdsocket

import gevent
import pytest
from gevent import socket

from socketio_gevent.client import SocketClient
from socketio_gevent.edge.handler import SocketIOHandler
from socketio_gevent.protocol.framing import encode_message

from .helpers import exchange, handshake, poll, poll_frames, post, ts


def test_foreign_origin_is_refused_by_default(serve):
    served = serve()
    conn = served.http()
    path = "/socket.io/xhr-polling//%d" % ts()
    refused = conn.request("GET", path, headers=[("Origin", "http://evil.example")])
    assert refused.status == 403 and refused.body == b"origin not allowed\n"
    same = conn.request("GET", path, headers=[("Origin", "http://127.0.0.1:%d" % served.port)])
    assert same.status == 200
    assert same.headers["access-control-allow-origin"] == "http://127.0.0.1:%d" % served.port
    assert same.headers["access-control-allow-credentials"] == "true"
    assert same.headers["vary"] == "Origin"
    assert served.listener.clients  # only the allowed one opened a session
    assert len(served.listener.clients) == 1


def test_cross_site_script_load_without_origin_is_judged_by_referer(serve):
    served = serve()
    conn = served.http()
    path = "/socket.io/jsonp-polling//%d/0" % ts()
    hostile = [("Sec-Fetch-Site", "cross-site"), ("Referer", "http://evil.example/page")]
    assert conn.request("GET", path, headers=hostile).status == 403
    own = [("Sec-Fetch-Site", "same-origin"), ("Referer", "http://127.0.0.1:%d/" % served.port)]
    assert conn.request("GET", path, headers=own).status == 200


def test_origin_patterns_and_allow_all(serve):
    patterned = serve(origins=["*.example.com:*"]).http()
    path = "/socket.io/xhr-polling//%d" % ts()
    assert patterned.request("GET", path, headers=[("Origin", "https://a.example.com")]).status == 200
    assert patterned.request("GET", path, headers=[("Origin", "https://example.org")]).status == 403
    everyone = serve(origins="*:*").http()
    assert everyone.request("GET", path, headers=[("Origin", "https://any.where:1")]).status == 200


@pytest.mark.parametrize("origins,credentials", [("*:*", False), (["app.example:*"], True)])
def test_preflight_from_allowed_origin(serve, origins, credentials):
    conn = serve(origins=origins).http()
    response = conn.request(
        "OPTIONS",
        "/socket.io/xhr-polling/abc/send",
        headers=[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type, x-custom"),
        ],
    )
    assert response.status == 204
    h = response.headers
    assert h["access-control-allow-origin"] == "https://app.example"
    # cookies only for an origin the configuration names, never under "*:*"
    assert h.get("access-control-allow-credentials") == ("true" if credentials else None)
    assert h["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert h["access-control-allow-headers"] == "content-type, x-custom"
    assert h["vary"] == "Origin"


def test_2mib_post_is_413_while_another_client_keeps_working(serve, caplog):
    served = serve()
    served.listener.on("connection", lambda c: c.on("message", lambda m, a: c.send(m)))
    conn = served.http()
    sid = handshake(conn)
    other = SocketClient(served.url).connect()
    with caplog.at_level(logging.WARNING, logger="socketio_gevent"):
        results = []

        def big():
            results.append(post(served.http(), sid, "1:2::x," + "y" * (2 * 1024 * 1024)))

        g = gevent.spawn(big)
        for i in range(20):
            other.send("still here %d" % i)
            assert other.receive(timeout=5) == ("still here %d" % i, {})
        g.join(timeout=20)
    assert results[0].status == 413
    assert b"max_message_size" in results[0].body
    assert any("max_message_size" in r.getMessage() for r in caplog.records)
    # the refused client's session is unharmed
    assert post(conn, sid, encode_message("fine")).status == 200
    assert [f.data for f in poll_frames(conn, sid)] == [":fine"]
    other.disconnect()


def test_malformed_payload_is_400_delivers_nothing_and_session_keeps_working(serve):
    served = serve()
    got = []
    served.listener.on("clientMessage", lambda m, c: got.append(m))
    conn = served.http()
    sid = handshake(conn)
    for bad, reason in [
        ("1:6::hello,1:x:y,", b"frame length"),
        ("1:6::hello,12:3:abc,", b"one character"),
        ("1:6::hello,1:5:hello,", b"separator"),
        ("1:6::hello,1:4:j\n:{,", b"JSON"),
        ("1:6::hello,1:9::hello", b"incomplete"),
    ]:
        response = post(conn, sid, bad)
        assert response.status == 400, bad
        assert reason in response.body and response.body.count(b"\n") == 1
    assert got == []
    assert post(conn, sid, "1:6::hello,").status == 200
    assert got == ["hello"]
    bad_form = conn.request("POST", "/socket.io/xhr-polling/%s/send" % sid, b"data=%ff%fe",
                            headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert bad_form.status == 400
    assert conn.request("POST", "/socket.io/xhr-polling/%s/send" % sid, b"nodata=1").status == 400


def test_full_outbound_queue_disconnects_with_logged_reason(serve, caplog):
    served = serve(max_queue_messages=10)
    fired = []
    served.listener.on("clientDisconnect", fired.append)
    conn = served.http()
    sid = handshake(conn)
    client = served.listener.clients[sid]
    with caplog.at_level(logging.WARNING, logger="socketio_gevent"):
        for i in range(11):
            client.send(str(i))
        gevent.sleep(0.1)
    assert not client.connected and len(fired) == 1
    assert any("max_queue_messages" in r.getMessage() for r in caplog.records)
    assert poll(conn, sid).status == 404


def test_queue_byte_bound(serve, caplog):
    served = serve(max_queue_bytes=1000)
    conn = served.http()
    sid = handshake(conn)
    client = served.listener.clients[sid]
    with caplog.at_level(logging.WARNING, logger="socketio_gevent"):
        client.send("x" * 600)
        assert client.connected
        client.send("x" * 600)
    assert not client.connected
    assert any("max_queue_bytes" in r.getMessage() for r in caplog.records)


def test_headers_not_finished_within_handshake_timeout_close_the_connection(serve):
    served = serve(handshake_timeout=0.5)
    sock = socket.create_connection(("127.0.0.1", served.port))
    sock.sendall(b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\n")
    sock.settimeout(5)
    answer = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break  # and the server closed the connection
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    sock.close()
    # a prompt client is served normally
    assert served.http().request("GET", "/plain").status == 200


def test_handler_sets_tcp_nodelay(serve):
    served = serve()
    listener_sock = socket.socket()
    listener_sock.bind(("127.0.0.1", 0))
    listener_sock.listen(1)
    peer = socket.create_connection(listener_sock.getsockname())
    accepted, address = listener_sock.accept()
    SocketIOHandler(accepted, address, served.server)
    assert accepted.getsockopt(stdsocket.IPPROTO_TCP, stdsocket.TCP_NODELAY) != 0
    for s in (accepted, peer, listener_sock):
        s.close()


def test_malformed_header_lines_are_400_and_underscored_names_never_reach_the_app(serve):
    seen = []

    def app(environ, start_response):
        seen.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        start_response("200 OK", [("Content-Length", "0")])
        return []

    served = serve(app)
    for bad in (b"Host : x\r\n", b"no colon\r\n", b" folded: first\r\n"):
        answer = exchange(served.port, b"GET /app HTTP/1.1\r\n" + bad + b"\r\n", until=b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), (bad, answer)
    assert seen == []
    answer = exchange(served.port, b"GET /app HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX_A: forged\r\n"
                                    b"Cookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert seen[0]["HTTP_X_A"] == "1" and seen[0]["HTTP_COOKIE"] == "a=1; b=2"


@pytest.mark.parametrize("transport", ["xhr-polling", "xhr-multipart", "jsonp-polling"])
def test_allow_all_never_grants_credentials_and_null_never_gets_them(serve, transport):
    served = serve(origins="*:*")
    conn = served.http()
    suffix = "/0" if transport == "jsonp-polling" else ""
    for origin in ("https://any.where", "null"):
        path = "/socket.io/%s//%d%s" % (transport, ts(), suffix)
        if transport == "xhr-multipart":  # a stream: read its head only
            head = exchange(served.port, ("GET %s HTTP/1.1\r\nHost: x\r\nOrigin: %s\r\n\r\n" % (path, origin))
                            .encode("ascii"), until=b"\r\n\r\n").split(b"\r\n\r\n")[0].decode("latin-1")
            lines = head.split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        else:
            answer = conn.request("GET", path, headers=[("Origin", origin)])
            status, headers = answer.status, answer.headers
        assert status == 200
        assert headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in headers
        assert headers["x-content-type-options"] == "nosniff"


def test_a_named_origin_gets_credentials_and_null_is_refused(serve):
    conn = serve(origins=["app.example:*"]).http()
    path = "/socket.io/xhr-polling//%d" % ts()
    named = conn.request("GET", path, headers=[("Origin", "https://app.example")])
    assert named.headers["access-control-allow-credentials"] == "true"
    assert conn.request("GET", path, headers=[("Origin", "null")]).status == 403


def test_every_answer_says_nosniff(serve):
    served = serve(origins="*:*")
    conn = served.http()
    sid = handshake(conn)
    answers = [
        conn.request("GET", "/socket.io/xhr-polling//%d" % ts()),
        post(conn, sid, "1:3::x,"),
        conn.request("GET", "/socket.io/socket.io.js"),
        conn.request("GET", "/socket.io/xhr-polling/no-such-session/1"),
        post(conn, sid, "garbage"),
    ]
    for answer in answers:
        assert answer.headers.get("x-content-type-options") == "nosniff", answer
