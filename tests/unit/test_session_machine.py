"""The session machine (socketio_gevent.protocol.session), driven without sockets or sleeps.

Every lifecycle path of docs/protocol.rst §3 and §5: handshake, poll,
takeover, close timeout, heartbeat timeout, queue bound, application
disconnect, client disconnect. Time is a number the test passes in; the
effects are checked exactly.
"""
from __future__ import annotations

import logging
from typing import Any, List

import pytest

from socketio_gevent.protocol.framing import DISCONNECT_FRAME, decode_payload, encode_message
from socketio_gevent.protocol.options import Options
from socketio_gevent.protocol.outbox import ITEM_COST
from socketio_gevent.protocol.session import (DIRECT, DROPPED, QUEUED, WAKE, Closed, EndConnection,
                                              Finished, Log, Opened, SendFrame, Session, SetTimer,
                                              State, Wake, decode_inbound, decode_inbound_prefix)
from socketio_gevent.protocol.errors import ProtocolError

POLL, STREAM = "xhr-polling", "htmlfile"


class Conn:
    """A stand-in for a request or socket: the machine only compares identities."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def make(transport: str = POLL, now: float = 0.0, **options: Any) -> Session:
    return Session("sid", Options.build(**options), transport, now)


def drain(session: Session) -> List[Any]:
    effects, session.effects = session.effects, []
    return effects


def opened(transport: str = POLL, **options: Any) -> Session:
    session = make(transport, **options)
    session.open()
    drain(session)
    return session


# -- handshake ------------------------------------------------------------

def test_a_new_session_arms_its_close_timer_and_opens_once():
    session = make()
    assert session.state is State.NEW
    assert drain(session) == [SetTimer(8.0)]  # nobody may ever attach
    assert session.session_frame == "3:3:sid,"
    session.open()
    session.open()
    assert drain(session) == [Opened()]
    assert session.state is State.OPEN


def test_a_new_session_that_is_never_opened_ends_without_a_disconnect():
    session = make()
    drain(session)
    session.tick(8.0)
    assert drain(session) == [Log(logging.INFO, "timed out"), Finished("close_timeout passed"), SetTimer(None)]
    assert session.state is State.CLOSED


# -- polls ----------------------------------------------------------------

def test_a_poll_attaches_takes_and_detaches():
    session = opened()
    poll = Conn("poll")
    assert session.push("1:8::queued,") == QUEUED  # nobody attached: queued, nobody to wake
    session.attach(poll, POLL, 1.0)
    assert drain(session) == [SetTimer(None)]  # attached: no close timer, no heartbeats
    assert session.connections == 1 and session.connection is poll
    assert session.push("1:4::next,") == WAKE  # something is queued ahead: order is kept
    assert session.take(poll) == ["1:8::queued,", "1:4::next,"]
    assert session.push("x") == DIRECT  # attached, nothing queued: write it straight away
    assert session.push("x", direct=False) == WAKE  # the connection declined: queue it
    session.detach(poll, 2.0)
    assert drain(session) == [SetTimer(10.0)]
    assert session.connection is None


def test_queue_wakes_the_attached_connection():
    session = opened()
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    assert session.push("a", direct=False) == WAKE
    assert session.take(Conn("other")) == []  # only the attached one takes
    assert session.take(poll) == ["a"]


def test_a_newer_request_takes_over():
    session = opened()
    old, new = Conn("old"), Conn("new")
    session.attach(old, "xhr-polling", 0.0)
    drain(session)
    session.attach(new, "jsonp-polling", 1.0)
    assert drain(session) == [EndConnection(old, "taken over by a newer request")]
    assert session.connection is new and session.transport == "jsonp-polling"
    session.detach(old, 2.0)  # the old request ends later: nothing happens
    assert drain(session) == [] and session.connection is new
    assert session.connections == 2


def test_the_close_timeout_ends_the_session_once():
    session = opened()
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    session.detach(poll, 1.0)
    drain(session)
    session.tick(8.9)  # early: nothing is due
    assert drain(session) == []
    session.tick(9.0)
    assert drain(session) == [
        Log(logging.INFO, "timed out"), Closed("close_timeout passed"),
        Finished("close_timeout passed"), SetTimer(None),
    ]
    session.tick(20.0)
    assert drain(session) == []


def test_a_request_that_comes_back_in_time_keeps_the_session():
    session = opened()
    first, second = Conn("first"), Conn("second")
    session.attach(first, POLL, 0.0)
    session.detach(first, 1.0)
    session.push("1:4::kept,")
    session.attach(second, "websocket", 5.0)  # a fallback to another transport, within 8 s
    drain(session)
    session.tick(9.0)
    assert session.state is State.OPEN
    assert session.take(second) == ["1:4::kept,"]


def test_attaching_to_a_closed_session_ends_the_request():
    session = opened()
    session.close("gone", False, 0.0)
    drain(session)
    late = Conn("late")
    session.attach(late, POLL, 1.0)
    assert drain(session) == [EndConnection(late, "session closed")]
    assert session.connection is None


# -- heartbeats -----------------------------------------------------------

def test_a_stream_gets_heartbeats_and_loses_its_connection_when_one_is_not_answered():
    session = opened(STREAM)
    stream = Conn("stream")
    session.attach(stream, STREAM, 0.0)
    assert drain(session) == [SetTimer(10.0)]
    session.tick(10.0)
    assert drain(session) == [SendFrame(stream, "2:1:1,"), SetTimer(18.0)]
    session.tick(18.0)  # no echo within heartbeat_timeout
    assert drain(session) == [
        Log(logging.INFO, "heartbeat 1 not answered"), SetTimer(26.0),
        EndConnection(stream, "heartbeat 1 not answered"),
    ]
    assert session.connection is None and session.state is State.OPEN  # resumable
    session.tick(26.0)
    assert drain(session)[1:3] == [Closed("close_timeout passed"), Finished("close_timeout passed")]


def test_an_echo_keeps_the_stream_and_a_wrong_one_is_ignored():
    session = opened(STREAM)
    stream = Conn("stream")
    session.attach(stream, STREAM, 0.0)
    session.tick(10.0)
    drain(session)
    assert list(session.receive([("heartbeat", "7", None), ("heartbeat", "x", None)], 11.0)) == []
    assert drain(session) == []  # wrong and malformed echoes change nothing
    list(session.receive([("heartbeat", "1", None)], 12.0))
    assert drain(session) == [SetTimer(20.0)]  # only the next beat is due
    session.tick(20.0)
    assert drain(session) == [SendFrame(stream, "2:1:2,"), SetTimer(28.0)]


def test_an_echo_of_an_older_beat_leaves_the_latest_one_waiting():
    session = opened(STREAM, transport_options={STREAM: {"heartbeat_interval": 2, "heartbeat_timeout": 5}})
    stream = Conn("stream")
    session.attach(stream, STREAM, 0.0)
    session.tick(2.0)  # beat 1, check at 7
    session.tick(4.0)  # beat 2 (the check of beat 1 still stands)
    drain(session)
    list(session.receive([("heartbeat", "1", None)], 5.0))
    assert drain(session) == []  # beat 2 is now checked at 4 + 5 = 9; beat 3 is due first, at 6
    session.tick(6.0)
    session.tick(8.0)
    drain(session)
    session.tick(9.0)  # beat 2 never answered
    assert EndConnection(stream, "heartbeat 2 not answered") in drain(session)


def test_polling_has_no_heartbeats():
    session = opened()
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    assert drain(session) == [SetTimer(None)]


# -- bounds -----------------------------------------------------------------

def test_the_queue_bound_ends_the_session_with_a_reason():
    session = opened(max_queue_messages=2)
    assert session.push("a") == QUEUED and session.push("b") == QUEUED
    assert session.push("c") == DROPPED
    assert drain(session) == [
        Log(logging.WARNING, "disconnected: max_queue_messages (2) exceeded"),
        Closed("max_queue_messages (2) exceeded"), Finished("max_queue_messages (2) exceeded"),
        SetTimer(None),
    ]
    assert session.state is State.CLOSED and not session.outbox


def test_the_byte_bound_weighs_length_and_a_cost_per_message():
    session = opened(max_queue_bytes=10 + 2 * ITEM_COST)
    assert session.push("12345678") == QUEUED and session.push("12") == QUEUED  # 10 + 2 items: at the bound
    assert session.state is State.OPEN
    session.push("")  # nothing to write, but one more item to hold
    assert session.state is State.CLOSED
    assert Closed("max_queue_bytes (%d) exceeded" % (10 + 2 * ITEM_COST)) in drain(session)


def test_no_message_count_bound_by_default():
    session = opened()
    for _ in range(20000):  # twice the count bound this server used to have
        assert session.push("1:1::,") == QUEUED
    assert session.state is State.OPEN and len(session.outbox) == 20000


# -- the application disconnects ---------------------------------------------

def test_application_disconnect_while_attached_writes_0_0_then_ends():
    session = opened()
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    session.push("1:2::a,", direct=False)
    drain(session)
    session.close("disconnected by the application", True, 1.0)
    assert drain(session) == [Closed("disconnected by the application"), Wake(poll)]
    assert session.state is State.CLOSING
    assert session.push("late") == DROPPED  # nothing after 0:0:,
    assert session.take(poll) == ["1:2::a,", DISCONNECT_FRAME]
    assert session.connection is None and session.state is State.CLOSED
    assert drain(session) == [Finished("disconnected by the application")]


def test_application_disconnect_while_away_waits_for_the_client_to_collect_it():
    session = opened()
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    session.detach(poll, 1.0)
    session.close("bye", True, 2.0)
    assert drain(session)[-2:] == [SetTimer(9.0), Closed("bye")]  # its close timer stands
    back = Conn("back")
    session.attach(back, POLL, 3.0)
    assert session.take(back) == [DISCONNECT_FRAME]
    assert session.state is State.CLOSED


def test_application_disconnect_whose_client_never_returns_ends_at_the_timeout():
    session = opened()
    session.close("bye", True, 0.0)
    drain(session)
    session.tick(8.0)
    assert drain(session) == [Finished("disconnected by the application"), SetTimer(None)]


def test_close_without_notice_ends_the_connection():
    session = opened(STREAM)
    stream = Conn("stream")
    session.attach(stream, STREAM, 0.0)
    drain(session)
    session.close("listener closed", False, 1.0)
    assert drain(session) == [
        Closed("listener closed"), EndConnection(stream, "listener closed"),
        Finished("listener closed"), SetTimer(None),
    ]
    session.close("again", False, 2.0)
    assert drain(session) == []


# -- the client's messages ------------------------------------------------------

def test_messages_are_handed_over_in_order_and_the_client_disconnect_stops_the_rest():
    session = opened()
    poll = Conn("poll")
    session.attach(poll, POLL, 0.0)
    drain(session)
    events = [("message", "a", {}), ("ignored", "9", None), ("disconnect", None, None), ("message", "b", {})]
    assert list(session.receive(events, 1.0)) == [("a", {})]
    assert drain(session) == [
        Log(logging.DEBUG, "frame type '9' ignored"), Closed("client disconnected"),
        EndConnection(poll, "client disconnected"), Finished("client disconnected"),
    ]


def test_receiving_is_lazy_so_a_handler_that_closes_stops_the_payload():
    session = opened()
    got = []
    for message, _ in session.receive([("message", "a", {}), ("message", "b", {})], 0.0):
        got.append(message)
        session.close("the handler ended it", False, 0.0)
    assert got == ["a"]


def test_nothing_is_received_before_open_or_after_close():
    session = make()
    assert list(session.receive([("message", "a", {})], 0.0)) == []
    session.open()
    session.close("x", False, 0.0)
    assert list(session.receive([("message", "a", {})], 0.0)) == []


# -- decoding a payload into inbound events --------------------------------------

def test_decode_inbound_refuses_a_payload_whole_and_the_prefix_keeps_what_came_before():
    good = decode_payload(encode_message("a") + "2:1:1," + "0:0:," + "9:1:x,")
    assert decode_inbound(good) == [
        ("message", "a", {}), ("heartbeat", "1", None), ("disconnect", None, None), ("ignored", "9", None),
    ]
    bad = decode_payload(encode_message("a") + "1:4:j\n:x," + encode_message("c"))
    with pytest.raises(ProtocolError):
        decode_inbound(bad)
    assert decode_inbound_prefix(bad) == [("message", "a", {})]
