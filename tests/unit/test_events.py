"""Named events and answers as annotated messages (docs/protocol.rst §10), on exact bytes."""
from __future__ import annotations

import pytest

from socketio_gevent.protocol.events import (MAX_CALLBACKS, Answer, Callbacks, Event, check_name, encode_answer,
                                             encode_event, read_answer, read_event)
from socketio_gevent.protocol.framing import decode_body, decode_payload


def decoded(frame: str):  # type: ignore[no-untyped-def]
    (one,) = decode_payload(frame)
    return decode_body(one.data)


def test_event_bytes_with_and_without_a_callback_and_in_a_realm():
    assert encode_event("chat", ["hi", 3]) == '1:18:e:chat\nj\n:["hi",3],'
    assert encode_event("add", [1, 2], 1) == "1:18:e:add\nc:1\nj\n:[1,2],"
    assert encode_event("chat", [], None, {"r": "room"}) == "1:19:e:chat\nr:room\nj\n:[],"
    assert encode_event("ünï", ["😀"]) == '1:15:e:ünï\nj\n:["😀"],'  # lengths in UTF-16 units
    assert encode_answer(1, [3]) == "1:11:ca:1\nj\n:[3],"
    assert encode_answer(12, []) == "1:11:ca:12\nj\n:[],"


def test_a_2010_decoder_reads_an_event_as_an_ordinary_annotated_json_message():
    assert decoded('1:18:e:chat\nj\n:["hi",3],') == (["hi", 3], {"e": "chat"})
    assert decoded("1:18:e:add\nc:1\nj\n:[1,2],") == ([1, 2], {"e": "add", "c": "1"})
    assert decoded("1:11:ca:1\nj\n:[3],") == ([3], {"ca": "1"})


def test_reading_events_and_answers():
    assert read_event(["hi", 3], {"e": "chat"}) == Event("chat", ["hi", 3], None)
    assert read_event([1, 2], {"e": "add", "c": "7"}) == Event("add", [1, 2], 7)
    assert read_event("one", {"e": "solo"}) == Event("solo", ["one"], None)  # not an array: one argument
    assert read_event([1], {"e": "x", "c": "-1"}) == Event("x", [1], None)  # a bad id asks for nothing
    assert read_event("hello", {}) is None
    assert read_event(["m"], {"e": "message"}) is None  # a built-in name: an ordinary message
    assert read_event(["m"], {"e": ""}) is None
    assert read_answer([3], {"ca": "1"}) == Answer(1, [3])
    assert read_answer([3], {"ca": "x"}) is None
    assert read_answer([3], {"e": "a"}) is None


@pytest.mark.parametrize("name", ["message", "disconnect", "connect", "connection", "reconnect", "error"])
def test_built_in_names_cannot_be_emitted_and_the_error_says_what_to_use(name):
    with pytest.raises(ValueError, match="built-in event"):
        check_name(name)
    with pytest.raises(ValueError):
        encode_event(name, [])


@pytest.mark.parametrize("name", ["", "a\nb", None, 3])
def test_names_are_non_empty_strings_without_a_newline(name):
    with pytest.raises(TypeError, match="event name"):
        check_name(name)


def test_callbacks_are_bounded_and_each_answer_calls_once():
    callbacks = Callbacks(limit=3)
    fns = [lambda *a, i=i: i for i in range(5)]
    ids = [callbacks.add(fn) for fn in fns]
    assert [number for number, _ in ids] == [1, 2, 3, 4, 5]
    assert ids[3][1] is fns[0] and ids[4][1] is fns[1]  # the oldest made room
    assert len(callbacks) == 3
    assert callbacks.pop(1) is None and callbacks.pop(3) is fns[2] and callbacks.pop(3) is None
    callbacks.clear()
    assert len(callbacks) == 0 and MAX_CALLBACKS == 1000
    with pytest.raises(TypeError):
        callbacks.add("not callable")  # type: ignore[arg-type]
