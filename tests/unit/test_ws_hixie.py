"""Exact-byte tests for the hixie-75 and hixie-76 codecs (docs/protocol.rst §4.3).

Vectors: text frames ``0x00 <UTF-8> 0xFF`` and the close frame ``0xFF 0x00``
(§4.3, "hixie frames"); length-prefixed frames with the high bit of the type
byte set are read and discarded (draft-hixie-thewebsocketprotocol-76 §5.3:
7-bit length groups, big-endian, high bit = another group follows; type 0xFF
with length 0 is the close frame). Error closes (§4.3): hixie-76 ``FF 00``,
hixie-75 nothing.

Every input is fed the way h11's ``tests/test_io.py`` feeds its readers:
whole, one byte at a time, split at every index, and followed by a partial
frame that must change nothing. Property tests (hypothesis) check that
random splits decode the same, that garbage only ever produces ``Failed``,
and that ``send_text`` round-trips any text, astral characters included.
"""
from __future__ import annotations

from typing import Iterable, Iterator, List, Sequence, Type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_gevent.websocket.codec import CloseCode
from socketio_gevent.websocket.events import Close, Event, Failed, Text
from socketio_gevent.websocket.hixie75 import Hixie75Codec, HixieFraming
from socketio_gevent.websocket.hixie76 import Hixie76Codec

SETTINGS = settings(deadline=None, max_examples=200)
CODECS = [Hixie75Codec, Hixie76Codec]
#: The dialect's error close (§4.3): hixie-76 ``FF 00``, hixie-75 nothing.
ERROR_REPLY = {Hixie75Codec: b"", Hixie76Codec: b"\xff\x00"}
CLOSE = b"\xff\x00"
PARTIAL = b"\x00un"  # a text frame whose 0xFF has not arrived yet


def decode(cls: Type[HixieFraming], chunks: Iterable[bytes], **kw: int) -> List[Event]:
    codec = cls(**kw)
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


def check(cls: Type[HixieFraming], data: bytes, expected: List[Event], **kw: int) -> None:
    for chunks in splits(data):
        assert decode(cls, chunks, **kw) == expected, chunks
    # Trailing partial data completes nothing (and after Close/Failed is ignored).
    assert decode(cls, [data + PARTIAL], **kw) == expected
    assert decode(cls, [data, PARTIAL], **kw) == expected


# -- decoding --------------------------------------------------------------

@pytest.mark.parametrize("cls", CODECS)
@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\x00Hello\xff", [Text("Hello")]),
        (b"\x00\xff", [Text("")]),
        # UTF-8 of 2, 3 and 4 bytes (astral), split at every index by check().
        (b"\x00h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff", [Text("h\u00e9\u20ac\U0001F600")]),
        # NUL is valid UTF-8 inside a frame; only 0xFF ends it.
        (b"\x00a\x00b\xff", [Text("a\x00b")]),
        # Several frames in one read (§4.3: parse bytes, not decoded text).
        (b"\x00one\xff\x00two\xff\x00\xff", [Text("one"), Text("two"), Text("")]),
        # Length-prefixed frames are discarded: 0x80 with length 2; a
        # two-group length (0x81 0x00 = 128); type 0xFE with length 0.
        (b"\x80\x02ab\x00x\xff", [Text("x")]),
        (b"\x80\x81\x00" + b"z" * 128 + b"\x00y\xff", [Text("y")]),
        (b"\xfe\x00\x00z\xff", [Text("z")]),
        # Type 0xFF with a non-zero length is an ordinary frame to discard.
        (b"\xff\x01q\x00w\xff", [Text("w")]),
        # Sentinel-terminated frames of another type are discarded.
        (b"\x01junk\xff\x7f\xff\x00v\xff", [Text("v")]),
        (b"", []),
    ],
)
def test_frames(cls: Type[HixieFraming], data: bytes, expected: List[Event]) -> None:
    check(cls, data, expected)


@pytest.mark.parametrize("cls", CODECS)
def test_close_is_answered_in_kind(cls: Type[HixieFraming]) -> None:
    # §4.3: "0xFF 0x00 closes (answer it in kind)"; nothing is decoded after it.
    check(cls, b"\x00bye\xff\xff\x00\x00after\xff", [Text("bye"), Close(None, "", CLOSE)])


@pytest.mark.parametrize("cls", CODECS)
def test_close_with_a_long_form_zero_length(cls: Type[HixieFraming]) -> None:
    # hixie-76 §5.3 closes on "type 0xFF and length 0", however it is spelled.
    check(cls, b"\xff\x80\x00", [Close(None, "", CLOSE)])


@pytest.mark.parametrize("cls", CODECS)
@pytest.mark.parametrize(
    "data, code",
    [
        (b"\x00\xc3\x28\xff", CloseCode.INVALID_DATA),          # bad continuation byte
        (b"\x00\xed\xa0\x80\xff", CloseCode.INVALID_DATA),      # UTF-8-encoded surrogate
        (b"\x00\xc0\xaf\xff", CloseCode.INVALID_DATA),          # overlong '/'
        (b"\x00abc\xe2\x82\xff", CloseCode.INVALID_DATA),       # truncated sequence
        (b"\x80" + b"\x80" * 10 + b"\x00", CloseCode.PROTOCOL_ERROR),  # length prefix too long
    ],
)
def test_failures(cls: Type[HixieFraming], data: bytes, code: int) -> None:
    events = decode(cls, [b"\x00ok\xff" + data])
    assert events[0] == Text("ok")
    assert len(events) == 2
    assert isinstance(events[1], Failed)
    assert (events[1].code, events[1].reply) == (code, ERROR_REPLY[cls])
    check(cls, b"\x00ok\xff" + data, events)


@pytest.mark.parametrize("cls", CODECS)
def test_text_at_the_limit_passes_and_one_byte_more_fails(cls: Type[HixieFraming]) -> None:
    check(cls, b"\x00" + b"a" * 8 + b"\xff", [Text("a" * 8)], max_message_size=8)
    events = decode(cls, [b"\x00" + b"a" * 9 + b"\xff"], max_message_size=8)
    assert [(e.code, e.reply) for e in events] == [(CloseCode.MESSAGE_TOO_BIG, ERROR_REPLY[cls])]  # type: ignore


@pytest.mark.parametrize("cls", CODECS)
def test_oversized_text_fails_before_its_end_arrives(cls: Type[HixieFraming]) -> None:
    # No 0xFF yet: the codec must not buffer past the limit waiting for one.
    codec = cls(max_message_size=8)
    codec.receive_data(b"\x00" + b"a" * 8)
    assert list(codec.events()) == []
    codec.receive_data(b"a")
    [failed] = list(codec.events())
    assert isinstance(failed, Failed) and failed.code == CloseCode.MESSAGE_TOO_BIG
    codec.receive_data(b"\xff\x00more\xff")
    assert list(codec.events()) == []


@pytest.mark.parametrize("cls", CODECS)
@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x09",                  # length 9 declared: refused from the header alone
        b"\x80\x81",                  # 1 + more groups: at least 128
        b"\x01" + b"j" * 9,           # a discarded sentinel frame grows past the limit
    ],
)
def test_oversized_discarded_frames_fail(cls: Type[HixieFraming], data: bytes) -> None:
    events = decode(cls, [data], max_message_size=8)
    assert events == [Failed(CloseCode.MESSAGE_TOO_BIG, events[0].reason, ERROR_REPLY[cls])]  # type: ignore
    for chunks in splits(data):
        assert decode(cls, chunks, max_message_size=8) == events


@pytest.mark.parametrize("cls", CODECS)
def test_discarded_frames_at_the_limit_pass(cls: Type[HixieFraming]) -> None:
    check(cls, b"\x80\x08" + b"b" * 8 + b"\x01" + b"c" * 8 + b"\xff\x00d\xff", [Text("d")],
          max_message_size=8)


@pytest.mark.parametrize("cls", CODECS)
def test_nothing_after_failed(cls: Type[HixieFraming]) -> None:
    codec = cls()
    codec.receive_data(b"\x00\xff\x00\xc3(\xff")
    assert [type(e) for e in codec.events()] == [Text, Failed]
    codec.receive_data(b"\x00again\xff")
    assert list(codec.events()) == []


@pytest.mark.parametrize("cls", CODECS)
def test_events_resume_across_calls(cls: Type[HixieFraming]) -> None:
    # A generator abandoned half-way leaves the rest for the next call.
    codec = cls()
    codec.receive_data(b"\x00a\xff\x00b\xff")
    first = codec.events()
    assert next(first) == Text("a")
    assert list(codec.events()) == [Text("b")]


def test_large_text_in_small_reads() -> None:
    # 1 MiB (the default limit) arriving in 1 KiB reads: the terminator
    # scan resumes where it stopped, and the payload is kept whole.
    codec = Hixie76Codec()
    codec.receive_data(b"\x00")
    chunk = b"x" * 1024
    for _ in range(1024):
        codec.receive_data(chunk)
        assert list(codec.events()) == []
    codec.receive_data(b"\xff")
    [text] = list(codec.events())
    assert text == Text("x" * (1 << 20))


# -- encoding --------------------------------------------------------------

@pytest.mark.parametrize("cls", CODECS)
def test_send(cls: Type[HixieFraming]) -> None:
    codec = cls()
    assert cls.binary_frames is False
    assert codec.send_text("Hello") == b"\x00Hello\xff"
    assert codec.send_text("\u00e9\U0001F600") == b"\x00\xc3\xa9\xf0\x9f\x98\x80\xff"
    assert codec.send_text("") == b"\x00\xff"
    assert codec.send_ping() == b"" and codec.send_ping(b"x") == b""
    assert codec.send_pong(b"x") == b""
    with pytest.raises(TypeError):
        codec.send_binary(b"data")


def test_send_close_per_dialect() -> None:
    # §4.3: hixie-76 closes with FF 00; hixie-75 has no close frame (TCP close).
    assert Hixie76Codec().send_close() == b"\xff\x00"
    assert Hixie76Codec().send_close(1001, "going away") == b"\xff\x00"
    assert Hixie75Codec().send_close() == b""


def test_codecs_are_distinct_dialects() -> None:
    # The runner may dispatch on the class: neither is a subclass of the other.
    assert not issubclass(Hixie76Codec, Hixie75Codec)
    assert not issubclass(Hixie75Codec, Hixie76Codec)


# -- properties ------------------------------------------------------------

texts = st.text()
frames = st.one_of(
    texts.map(lambda t: b"\x00" + t.encode("utf-8") + b"\xff"),
    st.binary(max_size=300).map(lambda b: b"\x80" + bytes([0x80 | (len(b) >> 7), len(b) & 0x7F]) + b),
    st.binary(max_size=20).map(lambda b: b"\x05" + b.replace(b"\xff", b"") + b"\xff"),
    st.just(b"\xff\x00"),
    st.binary(max_size=8),  # garbage
)


def _cut(data: bytes, points: List[int]) -> List[bytes]:
    cuts = sorted({p % (len(data) + 1) for p in points})
    edges = [0] + cuts + [len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@SETTINGS
@given(st.sampled_from(CODECS), st.lists(frames, max_size=8), st.lists(st.integers(0, 10_000), max_size=12),
       st.integers(1, 400))
def test_random_splits_decode_the_same(cls, parts, points, limit) -> None:
    data = b"".join(parts)
    whole = decode(cls, [data], max_message_size=limit)
    assert decode(cls, _cut(data, points), max_message_size=limit) == whole


@SETTINGS
@given(st.sampled_from(CODECS), st.lists(st.binary(max_size=64), max_size=8), st.integers(0, 200))
def test_garbage_only_ever_fails(cls, chunks, limit) -> None:
    events = decode(cls, chunks, max_message_size=limit)
    for event in events[:-1]:
        assert isinstance(event, Text)
    if events and isinstance(events[-1], Failed):
        assert events[-1].code in (CloseCode.INVALID_DATA, CloseCode.MESSAGE_TOO_BIG, CloseCode.PROTOCOL_ERROR)
        assert events[-1].reply == ERROR_REPLY[cls]


@SETTINGS
@given(st.sampled_from(CODECS), st.lists(texts, max_size=6))
def test_round_trip(cls, messages) -> None:
    sender = cls()
    data = b"".join(sender.send_text(m) for m in messages)
    assert decode(cls, [data]) == [Text(m) for m in messages]
    assert decode(cls, [data[i:i + 1] for i in range(len(data))]) == [Text(m) for m in messages]
