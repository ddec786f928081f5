"""Keep-alive polling connections the loop serves (socketio_gevent.edge.keepalive).

After its first lean answer a connection is the loop's: its polls are held
without a greenlet and its later requests are parsed from the bytes read.
These tests drive one raw connection through polls, sends, hang-ups and
requests the loop must give back to pywsgi, and compare answers with the
same server behind a pass-through wrapper (pywsgi's whole path)."""
from __future__ import annotations

import time
from typing import Any, List, Tuple

import gevent
import pytest
from gevent import socket

from socketio_gevent.edge import keepalive

from ..conftest import Served
from .helpers import handshake, read_all
from .test_lean_path import both, logging_server, poll_request, raw, read_response, send_request

pytestmark = pytest.mark.timeout(60)


def parked(served: Served) -> set:
    return served.server.handler_class.lean.parked  # type: ignore[no-any-return]


def gate_count(served: Served) -> int:
    return served.server.application.gate.count  # type: ignore[no-any-return]


def wait_for(condition: Any, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        gevent.sleep(0.01)
    return False


def kept_session(serve: Any, **options: Any) -> Tuple[Served, str, Any, socket.socket]:
    """A server (any origin), a session on it, its client, and a connection the loop keeps for it."""
    options.setdefault("origins", "*:*")
    served = serve(**options)
    sid = handshake(served.http())
    return served, sid, served.listener.clients[sid], kept(served, sid)


def kept(served: Served, sid: str) -> socket.socket:
    """A connection the loop keeps: one poll answered on it (on pywsgi's lean path), which parks it."""
    sock = raw(served)
    served.listener.clients[sid].send("x")
    sock.sendall(poll_request(sid))
    read_response(sock)
    return sock


def strip_date(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k != "date"}


def test_after_its_first_lean_answer_a_connection_is_the_loops(serve):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    client = served.listener.clients[sid]
    sock = raw(served)
    client.send("one")
    sock.sendall(poll_request(sid))
    _, _, body, _ = read_response(sock)
    assert body.endswith(b"one,")
    assert wait_for(lambda: len(parked(served)) == 1)
    # a held poll, answered when the application sends
    sock.sendall(poll_request(sid))
    gevent.sleep(0.05)
    client.send("two")
    status, _, body, _ = read_response(sock)
    assert status == "HTTP/1.1 200 OK" and body.endswith(b"two,")
    # a send, then a poll with something queued: answered at once
    got: List[str] = []
    client.on("message", lambda m, a=None: got.append(m))
    sock.sendall(send_request(sid, "1%3A2%3A%3Aa%2C"))
    _, _, body, _ = read_response(sock)
    assert body == b"ok" and got == ["a"]
    client.send("three")
    sock.sendall(poll_request(sid))
    _, _, body, _ = read_response(sock)
    assert body.endswith(b"three,")
    assert len(parked(served)) == 1
    sock.close()
    assert wait_for(lambda: not parked(served))


def test_the_loop_answers_as_pywsgi_does(serve):
    lean_served, full_served, wrapper = both(serve)
    answers = []
    for served in (lean_served, full_served):
        sid = handshake(served.http())
        client = served.listener.clients[sid]
        sock = raw(served)
        got = []
        for step in range(3):  # the first answer parks the connection, the next two are the loop's
            client.send("m%d" % step)
            sock.sendall(poll_request(sid))
            status, headers, body, _ = read_response(sock)
            sock.sendall(send_request(sid, "1%3A2%3A%3Aa%2C"))
            sent = read_response(sock)
            got.append((status, strip_date(headers), body.replace(sid.encode(), b"SID"),
                        sent[0], strip_date(sent[1]), sent[2]))
        sock.close()
        answers.append(got)
    assert answers[0] == answers[1]
    assert len(parked(full_served)) == 0  # a wrapped middleware keeps pywsgi's path


def test_a_held_poll_times_out_empty_and_the_connection_serves_on(serve):
    served, sid, client, sock = kept_session(serve, transport_options={"xhr-polling": {"duration": 0.3}})
    started = time.monotonic()
    sock.sendall(poll_request(sid))
    status, headers, body, _ = read_response(sock)
    assert 0.25 < time.monotonic() - started < 2.0
    assert status == "HTTP/1.1 200 OK" and body == b"" and headers["content-length"] == "0"
    client.send("after")
    sock.sendall(poll_request(sid))
    _, _, body, _ = read_response(sock)
    assert body.endswith(b"after,")
    sock.close()


def test_a_client_that_hangs_up_during_a_held_poll_loses_nothing(serve):
    served, sid, client, sock = kept_session(serve)
    sock.sendall(poll_request(sid))
    gevent.sleep(0.05)
    sock.close()
    assert wait_for(lambda: not parked(served) and gate_count(served) == 0)
    client.send("kept")
    assert served.sessions.find(sid) is not None
    other = raw(served)
    other.sendall(poll_request(sid))
    _, _, body, _ = read_response(other)
    assert body.endswith(b"kept,")
    other.close()


def test_a_newer_poll_takes_the_session_over_and_the_older_is_answered_empty(serve):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    client = served.listener.clients[sid]
    first, second = raw(served), raw(served)
    client.send("x")
    first.sendall(poll_request(sid))
    read_response(first)
    first.sendall(poll_request(sid))  # held by the loop
    gevent.sleep(0.05)
    second.sendall(poll_request(sid))
    status, _, body, _ = read_response(first)
    assert status == "HTTP/1.1 200 OK" and body == b""
    client.send("y")
    _, _, body, _ = read_response(second)
    assert body.endswith(b"y,")
    first.close()
    second.close()


@pytest.mark.parametrize("request_bytes, status", [
    # not ours: the application answers
    (b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 200 OK"),
    # a handshake (pywsgi gives the application a full environ)
    (b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1\r\n\r\n", b"HTTP/1.1 200 OK"),
    # a bad header line: pywsgi's 400
    (b"GET /socket.io/xhr-polling/SID/1 HTTP/1.1\r\nHost x\r\n\r\n", b"HTTP/1.1 400 Bad Request"),
    # a request line of two words: HTTP/0.9 to pywsgi, answered and closed
    (b"GET /socket.io/xhr-polling/SID/1\r\n\r\n", b"HTTP/1.1 200 OK"),  # (pywsgi's HTTP/0.9)
    # HTTP/1.0
    (b"GET /socket.io/xhr-polling/SID/1 HTTP/1.0\r\nOrigin: http://127.0.0.1\r\n\r\n", b"HTTP/1.1 200 OK"),
    # Connection: close (pywsgi says so and closes)
    (b"GET /socket.io/xhr-polling/SID/1 HTTP/1.1\r\nOrigin: http://127.0.0.1\r\nConnection: close\r\n\r\n",
     b"HTTP/1.1 200 OK"),
])
def test_requests_the_loop_gives_back_to_pywsgi_are_answered_on_the_same_connection(serve, request_bytes, status):
    served, sid, client, sock = kept_session(serve)
    assert wait_for(lambda: len(parked(served)) == 1)
    client.send("y")  # a poll that pywsgi serves is answered at once
    sock.sendall(request_bytes.replace(b"SID", sid.encode()))
    data = read_all(sock, until=b"\r\n\r\n")
    assert data.startswith(status), data
    assert wait_for(lambda: not parked(served))  # pywsgi's again (the request was not lean)
    sock.close()
    assert wait_for(lambda: gate_count(served) == 0)


def test_a_request_split_over_two_writes_is_served_and_the_connection_stays_kept(serve):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    client = served.listener.clients[sid]
    got: List[str] = []
    client.on("message", lambda m, a=None: got.append(m))
    sock = kept(served, sid)
    request = send_request(sid, "1%3A2%3A%3Aa%2C")
    for half in (request[:30], request[30:-4], request[-4:]):  # head, then the body in two parts
        sock.sendall(half)
        gevent.sleep(0.05)
    _, _, body, _ = read_response(sock)
    assert body == b"ok" and got == ["a"]
    for _ in range(2):
        client.send("z")
        sock.sendall(poll_request(sid))
        _, _, body, _ = read_response(sock)
        assert body.endswith(b"z,")
    assert wait_for(lambda: len(parked(served)) == 1)  # parked again after pywsgi's answer
    sock.close()


def test_pipelined_polls_and_sends_are_answered_in_order(serve):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    client = served.listener.clients[sid]
    got: List[str] = []
    client.on("message", lambda m, a=None: got.append(m))
    sock = kept(served, sid)
    assert wait_for(lambda: len(parked(served)) == 1)
    client.send("y")
    sock.sendall(send_request(sid, "1%3A2%3A%3Aa%2C") + poll_request(sid) + send_request(sid, "1%3A2%3A%3Ab%2C"))
    _, _, first, rest = read_response(sock)
    _, _, second, rest = read_response(sock, rest)
    _, _, third, _ = read_response(sock, rest)
    assert (first, third) == (b"ok", b"ok") and second.endswith(b"y,")
    assert got == ["a", "b"]
    sock.close()


def test_an_idle_kept_connection_is_closed_after_handshake_timeout(serve):
    served = serve(origins="*:*", handshake_timeout=0.3)
    sid = handshake(served.http())
    sock = kept(served, sid)
    started = time.monotonic()
    sock.settimeout(5)
    assert sock.recv(10) == b""
    assert 0.2 < time.monotonic() - started < 3.0
    assert wait_for(lambda: gate_count(served) == 0 and not parked(served))
    sock.close()


def test_a_client_that_floods_while_its_poll_is_held_is_closed_and_others_are_served(serve):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    other_sid = handshake(served.http())
    sock = kept(served, sid)
    sock.sendall(poll_request(sid))
    gevent.sleep(0.05)
    try:
        for _ in range(keepalive.MAX_PENDING // 4096 + 4):
            sock.sendall(b"x" * 4096)
    except OSError:
        pass  # closed under us: what the test wants
    sock.settimeout(5)
    assert read_all(sock) == b""
    sock.close()
    other = raw(served)
    served.listener.clients[other_sid].send("fine")
    other.sendall(poll_request(other_sid))
    _, _, body, _ = read_response(other)
    assert body.endswith(b"fine,")
    other.close()
    assert served.sessions.find(sid) is not None  # the session outlives its connection


def test_closing_the_listener_closes_the_connections_the_loop_serves(serve):
    served = serve(origins="*:*")
    sid = handshake(served.http())
    sock = kept(served, sid)
    sock.sendall(poll_request(sid))
    assert wait_for(lambda: isinstance(served.sessions.find(sid).machine.connection, keepalive.HeldPoll))
    served.listener.close()
    sock.settimeout(5)
    try:
        assert read_all(sock) == b""
    except ConnectionResetError:
        pass  # closed too
    sock.close()


def test_a_large_answer_is_written_whole_to_a_client_that_reads_slowly(serve, monkeypatch):
    flushes: List[int] = []
    flush = keepalive.KeepAlive._flush

    def counted(self: Any) -> None:
        flushes.append(1)
        flush(self)

    monkeypatch.setattr(keepalive.KeepAlive, "_flush", counted)
    served, sid, client, sock = kept_session(serve, max_queue_messages=10_000)
    for i in range(2000):  # 4 MB: more than the sockets' buffers hold
        client.send("%04d" % i + "y" * 2000)
    sock.sendall(poll_request(sid))
    gevent.sleep(0.3)  # the answer waits in the server's buffer
    _, _, body, _ = read_response(sock)
    assert [int(m[-2004:-2000]) for m in body.split(b",")[:-1]] == list(range(2000))
    assert flushes  # the socket took the answer in parts
    client.send("next")
    sock.sendall(poll_request(sid))
    _, _, body, _ = read_response(sock)
    assert body.endswith(b"next,")
    sock.close()


def test_the_access_log_has_a_line_for_each_request_the_loop_serves():
    with logging_server() as (served, lines):
        sid = handshake(served.http())
        sock = raw(served)
        for _ in range(3):
            served.listener.clients[sid].send("x")
            sock.sendall(poll_request(sid))
            read_response(sock)
        sock.close()
        assert wait_for(lambda: sum('"GET /socket.io/xhr-polling/%s/1 HTTP/1.1" 200 ' % sid in line
                                    for line in lines) == 3), lines


def test_a_held_poll_cut_by_the_server_leaves_the_queue_to_the_next_request(serve):
    served, sid, client, sock = kept_session(serve)
    sock.sendall(poll_request(sid))
    session = served.sessions.find(sid)
    assert wait_for(lambda: isinstance(session.machine.connection, keepalive.HeldPoll))
    session.machine.connection.abort()
    sock.settimeout(5)
    assert read_all(sock) == b""
    sock.close()
    client.send("kept")
    other = raw(served)
    other.sendall(poll_request(sid))
    _, _, body, _ = read_response(other)
    assert body.endswith(b"kept,")
    other.close()


def test_a_kept_connection_remembers_a_small_head_and_not_a_large_one(serve):
    # The previous head saves re-parsing a client's repeated header lines;
    # a peer's 60 KiB of them are served but not held between its polls.
    served, sid, client, sock = kept_session(serve)
    assert wait_for(lambda: len(parked(served)) == 1)
    (conn,) = parked(served)
    for extra, kept_after in (("", True), ("X-Pad: %s\r\n" % ("a" * 60000), False), ("", True)):
        for word in ("one", "two"):
            client.send(word)
            sock.sendall(poll_request(sid, extra))
            status, _, body, _ = read_response(sock)
            assert status == "HTTP/1.1 200 OK" and body.endswith(word.encode() + b",")
            assert (conn._head is not None) is kept_after
            assert conn._head is None or len(conn._head.block) <= keepalive.MAX_KEPT_BLOCK
    assert parked(served) == {conn}
    sock.close()
