"""The acks extension in the session machine (docs/protocol.rst §9), every cut point, by counts.

A client is simulated as the machine sees one: requests that attach and
detach with the count they say they have (``a=``), payloads they post or
send on a socket. What the server writes is checked exactly; what a client
would end up with is checked by counting, through a receiver ledger like
the clients' own.
"""
from __future__ import annotations

import logging
from typing import Any, List

from socketio_gevent.protocol.acks import AGREED, Incoming, Outgoing, ack_frame, plain_ack, read_query, seq_frame
from socketio_gevent.protocol.errors import ProtocolError
from socketio_gevent.protocol.framing import decode_payload, encode_message
from socketio_gevent.protocol.options import Options
from socketio_gevent.protocol.session import (CLOSED, DIRECT, DROPPED, OPEN, WAKE, Closed, EndConnection,
                                              Finished, Log, SendFrame, Session, SetTimer, Wake,
                                              decode_inbound)

import pytest

POLL, STREAM, WS = "xhr-polling", "htmlfile", "websocket"


class Conn:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def m(i: int) -> str:
    return encode_message("m%d" % i)


def acked_session(**options: Any) -> Session:
    session = Session("sid", Options.build(**options), POLL, 0.0, acks=True)
    session.open()
    session.effects.clear()
    return session


class Client:
    """What a client keeps of the server's messages: a receiver ledger."""

    def __init__(self) -> None:
        self.ledger = Incoming()
        self.got: List[str] = []

    def read(self, items: List[Any]) -> None:
        self.ledger.expect = None
        for frame in decode_payload("".join(items)):
            if frame.type == "5":
                assert self.ledger.sequence(int(frame.data)) is None
            elif frame.type == "1" and self.ledger.accept():
                self.got.append(frame.data[1:])  # ":" + message


def effects(session: Session) -> List[Any]:
    out, session.effects = session.effects, []
    return [e for e in out if not isinstance(e, SetTimer)]


# -- negotiation ----------------------------------------------------------------

def test_the_server_agrees_after_the_sid_frame_and_only_when_asked():
    assert acked_session().session_frame == "3:3:sid," + AGREED == "3:3:sid,4:1:0,"
    plain = Session("sid", Options.build(), POLL, 0.0)
    assert plain.session_frame == "3:3:sid,"
    assert read_query("t=1&acks=1") == (True, None)
    assert read_query("a=12") == (False, 12)
    assert read_query("c=x") == (False, None)
    with pytest.raises(ProtocolError):
        read_query("a=-1")


# -- server to client, over polling -----------------------------------------------

def test_a_poll_answer_lost_in_flight_is_written_again():
    session, client = acked_session(), Client()
    for i in range(1, 4):
        session.push(m(i))
    first = Conn("poll 1")
    session.attach(first, POLL, 1.0, resume=0)
    answer = session.take(first)
    assert answer == [seq_frame(1), m(1), m(2), m(3)]
    session.detach(first, 1.1)  # ... and the answer never reaches the client
    second = Conn("poll 2")
    session.attach(second, POLL, 2.0, resume=client.ledger.count)
    client.read(session.take(second))
    assert client.got == ["m1", "m2", "m3"] and session.pending == 3
    session.detach(second, 2.1)
    session.attach(Conn("poll 3"), POLL, 3.0, resume=client.ledger.count)
    assert session.pending == 0 and session.acknowledged == 3
    assert session.take(session.connection) == []


def test_an_answer_cut_half_way_leaves_only_the_rest_to_write():
    session, client = acked_session(), Client()
    first = Conn("poll 1")
    session.attach(first, POLL, 0.0, resume=0)
    for i in range(1, 6):
        session.push(m(i))
    answer = session.take(first)
    client.read(answer[:3])  # the 5: frame, m1 and m2 arrived
    session.detach(first, 0.1)
    second = Conn("poll 2")
    session.attach(second, POLL, 0.2, resume=client.ledger.count)
    assert session.take(second) == [seq_frame(3), m(3), m(4), m(5)]


def test_a_takeover_while_the_old_answer_is_in_flight_duplicates_nothing_for_the_client():
    session, client = acked_session(), Client()
    old, new = Conn("old poll"), Conn("new poll")
    session.attach(old, POLL, 0.0, resume=0)
    session.push(m(1))
    session.push(m(2))
    in_flight = session.take(old)
    session.attach(new, POLL, 0.1, resume=0)  # the client opened a new poll meanwhile
    assert EndConnection(old, "taken over by a newer request") in effects(session)
    again = session.take(new)
    client.read(in_flight)  # both answers arrive
    client.read(again)
    assert client.got == ["m1", "m2"]


# -- server to client, over a websocket --------------------------------------------

def test_direct_writes_are_kept_until_acknowledged_and_a_declined_one_is_queued():
    session = acked_session()
    sock = Conn("socket")
    session.attach(sock, WS, 0.0)
    assert session.push(m(1)) == WAKE  # first message on the socket: through take, numbered
    assert session.take(sock) == [seq_frame(1), m(1)]
    second = m(2)
    assert session.push(second) == DIRECT  # then straight to the socket
    session.written(second)  # it took it: kept until acknowledged
    assert session.sent is not None and session.sent.items == [m(1), m(2)]
    third = m(3)
    assert session.push(third) == DIRECT
    assert session.declined(third) == WAKE  # the socket was busy: queued, kept when taken
    assert session.sent.items == [m(1), m(2)] and session.take(sock) == [third]
    list(session.receive([("ack", "2", None)], 1.0))
    assert session.sent.items == [m(3)] and session.acknowledged == 2


def test_a_websocket_that_reopens_learns_where_the_server_is_and_gets_the_rest():
    session, client = acked_session(), Client()
    first = Conn("socket 1")
    session.attach(first, WS, 0.0, resume=0)
    session.push(m(1))
    client.read(session.take(first))
    for i in range(2, 5):
        item = m(i)
        assert session.push(item) == DIRECT  # written into a socket that dies now
        session.written(item)
    list(session.receive([("seq", "1", None), ("message", "up1", {}), ("message", "up2", {})], 0.5))
    session.detach(first, 1.0)
    effects(session)
    second = Conn("socket 2")
    session.attach(second, WS, 2.0, resume=client.ledger.count)
    assert effects(session) == [SendFrame(second, ack_frame(2))]  # the client resends from 3
    assert session.take(second) == [seq_frame(2), m(2), m(3), m(4)]


# -- client to server --------------------------------------------------------------

def test_a_post_sent_twice_is_delivered_once_and_a_gap_ends_the_session():
    session = acked_session()
    post = [("seq", "1", None), ("message", "a", {}), ("message", "b", {})]
    assert [x for x, _ in session.receive(post, 0.0, posted=True)] == ["a", "b"]
    assert [x for x, _ in session.receive(post, 1.0, posted=True)] == []  # its answer was lost: resent
    later = [("seq", "2", None), ("message", "b", {}), ("message", "c", {})]
    assert [x for x, _ in session.receive(later, 2.0, posted=True)] == ["c"]
    assert session.got is not None and session.got.told == 3  # the answers said it
    gap = [("seq", "9", None), ("message", "i", {})]
    assert list(session.receive(gap, 3.0, posted=True)) == []
    assert session.state is CLOSED and session.failure == "sequence gap: message 9 announced, 3 received so far"
    assert Closed(session.failure) in effects(session)


def test_websocket_messages_are_acked_after_16_or_after_the_delay():
    session = acked_session()
    sock = Conn("socket")
    session.attach(sock, WS, 0.0)
    effects(session)
    for _ in range(3):
        assert session.receive_one(lambda: 1.0)
    assert session.effects[-1] == SetTimer(1.2)  # the delay starts at the first untold one
    effects(session)
    session.tick(1.2)
    assert effects(session) == [SendFrame(sock, ack_frame(3))]
    for _ in range(16):
        session.receive_one(lambda: 2.0)
    # the 16th: the socket's next write carries the ack (with the answers, if any)
    assert effects(session) == [Wake(sock)]
    assert session.take(sock) == [ack_frame(19)]
    assert session.take(sock) == []


def test_an_ack_that_is_due_rides_on_a_payload_that_goes_anyway():
    session = acked_session()
    sock = Conn("socket")
    session.attach(sock, WS, 0.0)
    session.receive_one(lambda: 0.5)
    session.push(m(1))
    assert session.take(sock) == [seq_frame(1), m(1)]  # one owed: it waits for the timer or more
    for _ in range(15):
        session.receive_one(lambda: 0.6)
    assert session.push(m(2)) == DIRECT
    assert session.declined(m(2)) == WAKE  # the socket was busy: it goes in the next write
    assert session.take(sock) == [ack_frame(16), m(2)]  # sixteen owed: the ack rides along
    effects(session)
    session.tick(0.7)  # the timer armed at the first: nothing owed any more
    assert effects(session) == []


def test_the_16th_ack_goes_out_with_the_answers_to_those_messages():
    """An echo: the ack for 16 messages and the 16th answer leave as one payload."""
    session = acked_session()
    sock = Conn("socket")
    session.attach(sock, WS, 0.0)
    session.push(m(0))
    session.take(sock)  # numbered: [5:, m0]
    effects(session)
    for i in range(1, 17):
        session.receive_one(lambda: 0.1)
        assert session.push(m(i)) == DIRECT  # the reader declines while it reads
        session.declined(m(i))
        assert session.take(sock) == ([ack_frame(16), m(16)] if i == 16 else [m(i)])
    assert not [e for e in effects(session) if isinstance(e, SendFrame)]  # no frame of its own


# -- bad acknowledgements and bounds ---------------------------------------------------

def two_written() -> "tuple[Session, Conn]":
    """A WebSocket session that has written two messages, unacknowledged."""
    session = acked_session()
    sock = Conn("socket")
    session.attach(sock, WS, 0.0)
    session.push(m(1))
    session.push(m(2))
    session.take(sock)
    return session, sock


@pytest.mark.parametrize("count,reason", [
    ("3", "acknowledgement beyond what was sent (3 of 2)"),
    ("x", "acknowledgement count is not a decimal number: 'x'"),
])
def test_a_bad_ack_ends_the_session_with_a_reason(count, reason):
    session, sock = two_written()
    effects(session)
    list(session.receive([("ack", count, None)], 1.0))
    assert effects(session) == [
        Log(logging.WARNING, "disconnected: " + reason), Closed(reason), EndConnection(sock, reason), Finished(reason),
    ]
    assert session.failure == reason and session.pending == 2


def test_an_ack_that_goes_backwards_on_one_socket_ends_the_session():
    session, _ = two_written()
    list(session.receive([("ack", "2", None), ("ack", "1", None)], 1.0))
    assert session.failure == "acknowledgement went backwards (1 after 2)"


def test_an_older_count_on_another_request_is_stale_not_wrong():
    """Separate HTTP requests may arrive out of order: a delayed POST or poll
    after a newer one carries an older count, which changes nothing."""
    session = acked_session()
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    session.push(m(1))
    session.take(poll)
    session.detach(poll, 0.1)
    session.attach(Conn("next"), POLL, 0.2, resume=1)
    session.attach(Conn("late"), POLL, 0.3, resume=0)
    list(session.receive([("ack", "0", None)], 0.4, posted=True))
    assert session.failure is None and session.state is OPEN and session.acknowledged == 1


def test_unacknowledged_messages_count_against_the_bounds():
    session = acked_session(max_queue_messages=3)
    sock = Conn("socket")
    session.attach(sock, WS, 0.0)
    session.push(m(1))
    session.take(sock)
    for i in (2, 3):
        assert session.push(m(i)) == DIRECT
        session.written(m(i))  # the edge reports the socket took it: kept until acknowledged
    assert session.pending == 3
    assert session.push(m(4)) == DROPPED
    assert session.failure is None and session.state is CLOSED
    assert session.pending == 3  # what the application may have lost


def test_pending_counts_queued_and_unacknowledged_and_survives_the_end():
    session = acked_session()
    session.push(m(1))
    session.push(m(2))
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    session.take(poll)
    session.detach(poll, 0.1)
    session.push(m(3))
    session.close("bye", True, 0.5)  # queues 0:0:, which is not a message: not counted
    assert session.pending == 3
    session.close("gone", False, 1.0)
    assert session.pending == 3 and session.acknowledged == 0


def test_frames_4_and_5_are_ignored_without_the_extension():
    session = Session("sid", Options.build(), POLL, 0.0)
    session.open()
    events = decode_inbound(decode_payload("5:1:1,1:2::a,4:1:9,"))
    assert [x for x, _ in session.receive(events, 0.0, posted=True)] == ["a"]
    assert session.state is OPEN
    assert [e for e in session.effects if isinstance(e, Log)] == [
        Log(logging.DEBUG, "frame type '5' ignored"), Log(logging.DEBUG, "frame type '4' ignored"),
    ]


def test_the_ledgers_on_their_own():
    sent = Outgoing()
    for i in range(3):
        sent.keep(m(i))
    assert sent.number == 4 and sent.ack(2) is None and sent.items == [m(2)] and sent.number == 4
    assert sent.ack(1) is not None and sent.ack(4) is not None
    got = Incoming()
    assert got.sequence(2) is not None  # nothing received yet: 2 would leave a gap
    assert got.sequence(1) is None and got.accept() and got.accept()
    assert got.sequence(1) is None and not got.accept() and not got.accept() and got.accept()
    assert got.count == 3 and got.untold == 3 and got.told_now() == "4:1:3," and got.untold == 0


@pytest.mark.parametrize("payload,count", [
    ("4:2:16,", 16), ("4:1:0,", 0), ("4:12:999999999999,", 999999999999),
    ("4:3:16,", None), ("4:2:1x,", None), ("4:0:,", None), ("4:2:16", None), ("1:2:16,", None),
    ("4:13:1234567890123,", None), ("4:2:\u0661\u0666,", None), ("4:2:16,4:2:17,", None), ("4:x:1,", None),
])
def test_a_lone_ack_payload_is_read_without_the_decoder_and_agrees_with_it(payload, count):
    assert plain_ack(payload) == count
    if count is not None:  # the full decoder reads the same frame
        assert [(f.type, f.data) for f in decode_payload(payload)] == [("4", str(count))]
