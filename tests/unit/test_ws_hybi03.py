"""Exact-byte tests for the hybi-03 codec (docs/protocol.rst §4.3).

Vectors, all from §4.3 ("hybi-03 frames", taken from
draft-ietf-hybi-thewebsocketprotocol-03 §4.7): text ``04 05 "Hello"``;
fragmented ``84 03 "Hel"`` + ``00 02 "lo"``; ping ``02 05 "Hello"`` answered
by pong ``03 05 "Hello"``; 256-byte binary ``05 7E 01 00 …``; close ``01 00``
answered by a close with the same body. Error close: a close frame with an
empty body (``01 00``).

Inputs are fed as h11's ``tests/test_io.py`` feeds its readers: whole, one
byte at a time, split at every index, and followed by a partial frame that
must change nothing. Property tests check split invariance, that garbage
only ever yields ``Failed``, and the ``send_*`` -> receive round trip.
"""
from __future__ import annotations

import struct
from typing import Iterable, Iterator, List, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_gevent.websocket.codec import CloseCode
from socketio_gevent.websocket.events import Binary, Close, Event, Failed, Ping, Pong, Text
from socketio_gevent.websocket.hybi03 import Hybi03Codec, encode_frame

SETTINGS = settings(deadline=None, max_examples=200)
EMPTY_CLOSE = b"\x01\x00"
PARTIAL = b"\x04\x05He"  # a text frame still missing three bytes


def decode(chunks: Iterable[bytes], **kw: int) -> List[Event]:
    codec = Hybi03Codec(**kw)
    out: List[Event] = []
    for chunk in chunks:
        codec.receive_data(chunk)
        out.extend(codec.events())
    return out


def splits(data: bytes) -> Iterator[Sequence[bytes]]:
    """Whole, one byte at a time, and cut in two at every index."""
    yield [data]
    yield [data[i:i + 1] for i in range(len(data))]
    for i in range(len(data) + 1):
        yield [data[:i], data[i:]]


def check(data: bytes, expected: List[Event], **kw: int) -> None:
    for chunks in splits(data):
        assert decode(chunks, **kw) == expected, chunks
    assert decode([data + PARTIAL], **kw) == expected
    assert decode([data, PARTIAL], **kw) == expected


def failed(code: int, data: bytes, **kw: int) -> Failed:
    """Decode ``data`` (in every split) and return its single final Failed."""
    events = decode([data], **kw)
    last = events[-1]
    assert isinstance(last, Failed), events
    assert (last.code, last.reply) == (code, EMPTY_CLOSE)
    check(data, events, **kw)
    return last


BIN256 = bytes(range(256))

# -- decoding --------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\x04\x05Hello", [Text("Hello")]),                        # §4.3 text
        (b"\x84\x03Hel\x00\x02lo", [Text("Hello")]),                # §4.3 fragmented
        (b"\x02\x05Hello", [Ping(b"Hello")]),                       # §4.3 ping
        (b"\x03\x05Hello", [Pong(b"Hello")]),
        (b"\x05\x7e\x01\x00" + BIN256, [Binary(BIN256)]),           # §4.3 256-byte binary
        (b"\x04\x00", [Text("")]),
        (b"\x05\x00", [Binary(b"")]),
        (b"\x02\x00", [Ping(b"")]),
        # Several frames in one read.
        (b"\x04\x01a\x05\x01b\x03\x00\x04\x01c", [Text("a"), Binary(b"b"), Pong(b""), Text("c")]),
        # Control frames interleaved inside a fragmented message.
        (b"\x84\x02He\x02\x01p\x80\x01l\x03\x00\x00\x02lo", [Ping(b"p"), Pong(b""), Text("Hello")]),
        # A UTF-8 sequence split across fragments (the decoder is incremental).
        (b"\x84\x02\xf0\x9f\x80\x02\x98\x80\x00\x01!", [Text("\U0001F600!")]),
        (b"\x85\x01\x00\x00\x01\xff", [Binary(b"\x00\xff")]),
        # The 127 form with a 64-bit length, and a non-minimal 126 form.
        (b"\x04\x7f" + struct.pack(">Q", 3) + b"abc", [Text("abc")]),
        (b"\x04\x7e\x00\x02ab", [Text("ab")]),
        (b"", []),
    ],
)
def test_frames(data: bytes, expected: List[Event]) -> None:
    check(data, expected)


def test_close_is_answered_with_the_same_body() -> None:
    check(b"\x01\x00", [Close(None, "", b"\x01\x00")])                 # §4.3 close
    check(b"\x04\x01a\x01\x03bye\x04\x01z", [Text("a"), Close(None, "", b"\x01\x03bye")])
    body = bytes(200)
    check(b"\x01\x7e\x00\xc8" + body, [Close(None, "", b"\x01\x7e\x00\xc8" + body)])


@pytest.mark.parametrize(
    "data",
    [
        b"\x14\x00", b"\x24\x00", b"\x44\x00",      # RSV1, RSV2, RSV3
        b"\x04\x80",                                # RSV4
        b"\x06\x00", b"\x0a\x00", b"\x0f\x00",      # reserved opcodes
        b"\x81\x00", b"\x82\x00", b"\x83\x00",      # fragmented close / ping / pong
        b"\x00\x01a",                               # continuation with no message
        b"\x84\x01a\x04\x01b",                      # a new text inside a fragmented one
        b"\x84\x01a\x05\x01b",                      # a new binary inside a fragmented one
        b"\x04\x7f\x80" + bytes(7),                 # 64-bit length with the top bit set
    ],
)
def test_protocol_errors(data: bytes) -> None:
    failed(CloseCode.PROTOCOL_ERROR, data)


def test_protocol_errors_are_found_from_the_first_byte() -> None:
    # A bad opcode fails before the length byte arrives.
    assert decode([b"\x06"]) == [Failed(CloseCode.PROTOCOL_ERROR, "reserved opcode 0x6", EMPTY_CLOSE)]


@pytest.mark.parametrize(
    "data",
    [
        b"\x04\x03\xc3\x28a",                # bad continuation byte
        b"\x04\x03\xed\xa0\x80",             # UTF-8-encoded surrogate
        b"\x04\x02\xc0\xaf",                 # overlong '/'
        b"\x04\x02a\xe2",                    # message ends inside a sequence
        b"\x84\x01\xe2\x00\x01a",            # ...or is broken across fragments
        b"\x04\x01\xff",
    ],
)
def test_invalid_utf8(data: bytes) -> None:
    failed(CloseCode.INVALID_DATA, data)


def test_invalid_utf8_fails_before_the_frame_ends() -> None:
    # fail fast: a 1000-byte frame is refused at its second payload byte.
    codec = Hybi03Codec()
    codec.receive_data(b"\x04\x7e\x03\xe8\xc3\x28")
    [event] = list(codec.events())
    assert isinstance(event, Failed) and event.code == CloseCode.INVALID_DATA


def test_sizes_at_the_limit_pass() -> None:
    check(b"\x04\x08" + b"a" * 8, [Text("a" * 8)], max_message_size=8)
    check(b"\x84\x04aaaa\x02\x00\x00\x04aaaa", [Ping(b""), Text("a" * 8)], max_message_size=8)
    check(b"\x02\x08" + b"p" * 8, [Ping(b"p" * 8)], max_message_size=8)


@pytest.mark.parametrize(
    "data",
    [
        b"\x04\x09",                               # declared: no payload needed
        b"\x05\x7e\x01\x00",
        b"\x04\x7f\x7f" + b"\xff" * 7,             # 2**63 - 1
        b"\x84\x05aaaaa\x00\x04",                  # fragments add up past the limit
        b"\x02\x09",                               # control frames too
    ],
)
def test_message_too_big_from_the_header(data: bytes) -> None:
    failed(CloseCode.MESSAGE_TOO_BIG, data, max_message_size=8)


def test_nothing_after_close_or_failed() -> None:
    codec = Hybi03Codec()
    codec.receive_data(b"\x01\x00\x04\x01a")
    assert list(codec.events()) == [Close(None, "", b"\x01\x00")]
    codec.receive_data(b"\x04\x01b")
    assert list(codec.events()) == []
    codec = Hybi03Codec()
    codec.receive_data(b"\x06\x00")
    assert len(list(codec.events())) == 1
    codec.receive_data(b"\x04\x01b")
    assert list(codec.events()) == []


def test_events_resume_across_calls() -> None:
    codec = Hybi03Codec()
    codec.receive_data(b"\x04\x01a\x04\x01b")
    assert next(codec.events()) == Text("a")
    assert list(codec.events()) == [Text("b")]


# -- encoding --------------------------------------------------------------


def test_send() -> None:
    codec = Hybi03Codec()
    assert Hybi03Codec.binary_frames is True
    assert codec.send_text("Hello") == b"\x04\x05Hello"                 # §4.3
    assert codec.send_pong(b"Hello") == b"\x03\x05Hello"               # §4.3
    assert codec.send_ping(b"Hello") == b"\x02\x05Hello"
    assert codec.send_ping() == b"\x02\x00"
    assert codec.send_binary(BIN256) == b"\x05\x7e\x01\x00" + BIN256     # §4.3
    assert codec.send_text("\U0001F600") == b"\x04\x04\xf0\x9f\x98\x80"
    assert codec.send_close() == b"\x01\x00"
    assert codec.send_close(1001, "going away") == b"\x01\x00"


@pytest.mark.parametrize(
    "size, header",
    [
        (0, b"\x05\x00"), (125, b"\x05\x7d"), (126, b"\x05\x7e\x00\x7e"),
        (65535, b"\x05\x7e\xff\xff"), (65536, b"\x05\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_minimal_length_encoding(size: int, header: bytes) -> None:
    assert Hybi03Codec().send_binary(b"x" * size) == header + b"x" * size


def test_encode_frame_with_more() -> None:
    assert encode_frame(0x4, b"Hel", more=True) == b"\x84\x03Hel"          # §4.3


# -- properties ------------------------------------------------------------

texts = st.text()
frames = st.one_of(
    texts.map(lambda t: encode_frame(0x4, t.encode("utf-8"))),
    st.binary(max_size=300).map(lambda b: encode_frame(0x5, b)),
    st.binary(max_size=20).map(lambda b: encode_frame(0x2, b)),
    st.binary(max_size=20).map(lambda b: encode_frame(0x3, b)),
    st.binary(max_size=20).map(lambda b: encode_frame(0x4, b, more=True)),
    st.binary(max_size=20).map(lambda b: encode_frame(0x0, b, more=True)),
    st.binary(max_size=20).map(lambda b: encode_frame(0x0, b)),
    st.binary(max_size=20).map(lambda b: encode_frame(0x1, b)),
    st.binary(max_size=6),  # garbage
)


def _cut(data: bytes, points: List[int]) -> List[bytes]:
    cuts = sorted({p % (len(data) + 1) for p in points})
    edges = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@SETTINGS
@given(st.lists(frames, max_size=10), st.lists(st.integers(0, 10_000), max_size=12), st.integers(1, 400))
def test_random_splits_decode_the_same(parts: List[bytes], points: List[int], limit: int) -> None:
    data = b"".join(parts)
    assert decode(_cut(data, points), max_message_size=limit) == decode([data], max_message_size=limit)


@SETTINGS
@given(st.lists(st.binary(max_size=64), max_size=8), st.integers(0, 200))
def test_garbage_only_ever_fails(chunks: List[bytes], limit: int) -> None:
    events = decode(chunks, max_message_size=limit)
    for event in events[:-1]:
        assert isinstance(event, (Text, Binary, Ping, Pong))
    if events and isinstance(events[-1], Failed):
        assert events[-1].code in (CloseCode.INVALID_DATA, CloseCode.MESSAGE_TOO_BIG, CloseCode.PROTOCOL_ERROR)
        assert events[-1].reply == EMPTY_CLOSE


@SETTINGS
@given(st.lists(st.one_of(texts, st.binary()), max_size=6))
def test_round_trip(messages: List[object]) -> None:
    sender = Hybi03Codec()
    data = b"".join(
        sender.send_text(m) if isinstance(m, str) else sender.send_binary(m) for m in messages  # type: ignore
    )
    expected = [Text(m) if isinstance(m, str) else Binary(m) for m in messages]  # type: ignore
    assert decode([data]) == expected
    assert decode([data[i:i + 1] for i in range(len(data))]) == expected
