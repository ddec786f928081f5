"""Exact-byte tests for socketio_gevent.websocket.rfc6455.

Vectors: RFC 6455 §5.7 (the "Hello" frames, ping/pong, 256-byte and 64 KiB
binary frames), the §5.2 base framing rules (RSV bits, opcodes, minimal
length encoding, masking direction), §5.4/§5.5 (fragmentation, control
frames), §7.4 (close codes) and §8.1 (UTF-8). Good input is fed as h11's
``tests/test_io.py`` does: whole, one byte at a time, split at every index,
and followed by the start of another frame. Test frames are built here by a
slow, obvious encoder (``frame``) so the codec is never its own oracle.
"""
from __future__ import annotations

import struct
import tracemalloc
from typing import Iterable, List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_gevent.websocket.deflate import DeflateParams
from socketio_gevent.websocket.codec import CloseCode
from socketio_gevent.websocket.events import Binary, Close, Event, Failed, Ping, Pong, Text
from socketio_gevent.websocket.rfc6455 import RFC6455Codec, valid_close_code

MASK = bytes.fromhex("37fa213d")  # the RFC 6455 §5.7 masking key
HELLO = b"Hello"


def fixed_mask(n: int) -> bytes:
    assert n == 4
    return MASK


def server(**kw: object) -> RFC6455Codec:
    return RFC6455Codec(**kw)  # type: ignore[arg-type]


def client(**kw: object) -> RFC6455Codec:
    return RFC6455Codec(client=True, random_bytes=fixed_mask, **kw)  # type: ignore[arg-type]


def frame(op: int, payload: bytes = b"", fin: bool = True, mask: Optional[bytes] = MASK,
          rsv: int = 0) -> bytes:
    """A frame, encoded byte by byte (RFC 6455 §5.2); ``mask=None``: unmasked."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv | op])
    bit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def feed(codec: RFC6455Codec, chunks: Iterable[bytes]) -> List[Event]:
    out: List[Event] = []
    for chunk in chunks:
        codec.receive_data(chunk)
        out.extend(codec.events())
    return out


def decode(data: bytes, make=server) -> List[Event]:  # type: ignore[no-untyped-def]
    return feed(make(), [data])


def tr(data: bytes, expected: List[Event], make=server, every_split: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Whole, byte by byte, at every split point, and with a trailing partial frame."""
    assert decode(data, make) == expected
    assert feed(make(), [data[i:i + 1] for i in range(len(data))]) == expected
    splits = range(len(data) + 1) if every_split else sorted({0, 1, 2, 3, 5, 9, 13, 14, 100,
                                                               len(data) // 2, len(data) - 1})
    for i in splits:
        assert feed(make(), [data[:i], data[i:]]) == expected, i
    if not any(isinstance(e, (Close, Failed)) for e in expected):
        trailing = data + b"\x81"  # the first byte of another frame
        assert decode(trailing, make) == expected


def close_code(reply: bytes) -> int:
    return struct.unpack("!H", reply[2:4])[0]


# --------------------------------------------------------------------------
# RFC 6455 §5.7 examples


def test_single_frame_unmasked_text() -> None:
    wire = bytes.fromhex("810548656c6c6f")
    tr(wire, [Text("Hello")], make=client)
    assert server().send_text("Hello") == wire


def test_single_frame_masked_text() -> None:
    wire = bytes.fromhex("818537fa213d7f9f4d5158")
    tr(wire, [Text("Hello")])
    assert client().send_text("Hello") == wire
    assert frame(1, HELLO) == wire  # the test encoder agrees with the RFC


def test_fragmented_unmasked_text() -> None:
    tr(bytes.fromhex("010348656c") + bytes.fromhex("80026c6f"), [Text("Hello")], make=client)


def test_fragmented_masked_text() -> None:
    tr(frame(1, b"Hel", fin=False) + frame(0, b"lo"), [Text("Hello")])


def test_unmasked_ping_and_masked_pong() -> None:
    ping = bytes.fromhex("890548656c6c6f")
    pong = bytes.fromhex("8a8537fa213d7f9f4d5158")
    tr(ping, [Ping(HELLO)], make=client)
    assert server().send_ping(HELLO) == ping
    tr(pong, [Pong(HELLO)])
    assert client().send_pong(HELLO) == pong


def test_256_byte_binary() -> None:
    data = bytes(range(256))
    wire = bytes.fromhex("827e0100") + data
    tr(wire, [Binary(data)], make=client)
    assert server().send_binary(data) == wire
    masked = client().send_binary(data)
    assert masked[:8] == bytes.fromhex("82fe0100") + MASK
    tr(masked, [Binary(data)])


def test_64k_binary() -> None:
    data = bytes(range(256)) * 256
    wire = bytes.fromhex("827f0000000000010000") + data
    tr(wire, [Binary(data)], make=client, every_split=False)
    assert server().send_binary(data) == wire
    masked = client().send_binary(data)
    assert masked[:14] == bytes.fromhex("82ff0000000000010000") + MASK
    assert masked == frame(2, data)
    tr(masked, [Binary(data)], every_split=False)


@pytest.mark.parametrize("size", [1, 3, 4, 5, 125, 126, 511, 512, 513, 4099, 65535, 65536])
def test_masking_matches_the_byte_by_byte_oracle(size: int) -> None:
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    wire = client().send_binary(data)
    assert wire == frame(2, data)
    assert decode(wire) == [Binary(data)]
    # a split that leaves the mask rotated by 1, 2 and 3 bytes
    head = len(wire) - size
    assert feed(server(), [wire[:head + 1], wire[head + 1:head + 3], wire[head + 3:head + 6],
                           wire[head + 6:]]) == [Binary(data)]


def test_many_frames_in_one_read() -> None:
    wire = b"".join(frame(1, b"m%d" % i) for i in range(500))
    assert decode(wire) == [Text("m%d" % i) for i in range(500)]
    codec = server()
    assert feed(codec, [wire[i:i + 7] for i in range(0, len(wire), 7)]) == [
        Text("m%d" % i) for i in range(500)]


def test_empty_messages() -> None:
    tr(frame(1) + frame(2) + frame(9) + frame(1, fin=False) + frame(0),
       [Text(""), Binary(b""), Ping(b""), Text("")])


def test_receive_data_between_events() -> None:
    # a runner may feed more bytes while it is still iterating events()
    codec = server()
    codec.receive_data(frame(1, b"one") + frame(1, b"tw"))
    events = codec.events()
    assert next(events) == Text("one")
    codec.receive_data(frame(1, b"three")[:4])
    codec.receive_data(frame(1, b"three")[4:])
    assert list(events) == [Text("tw"), Text("three")]


def test_a_dripped_frame_costs_no_object_per_byte() -> None:
    data = bytes(range(256)) * 256
    wire = frame(2, data)
    pieces = [wire[i:i + 2] for i in range(0, len(wire), 2)]
    codec = server()
    tracemalloc.start()
    try:
        events = feed(codec, pieces)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert events == [Binary(data)]
    # the payload and a copy or two of it, not 32k small objects (~1.1 MB)
    assert peak < 4 * len(data)


# --------------------------------------------------------------------------
# Fragmentation and interleaved control frames (§5.4)


def test_control_frames_between_fragments() -> None:
    wire = (frame(1, b"He", fin=False) + frame(9, b"p1") + frame(0, b"l", fin=False)
            + frame(10, b"p2") + frame(9) + frame(0, b"lo"))
    tr(wire, [Ping(b"p1"), Pong(b"p2"), Ping(b""), Text("Hello")])


def test_binary_fragments_and_close_between() -> None:
    wire = frame(2, b"\x00\x01", fin=False) + frame(8, struct.pack("!H", 1000) + b"bye")
    events = decode(wire)
    assert events == [Close(1000, "bye", b"\x88\x02\x03\xe8")]


def test_multibyte_character_split_across_fragments() -> None:
    data = "h\u00e9\u4e2d\U0001F600".encode()
    wire = b"".join(frame(0 if i else 1, data[i:i + 1], fin=i == len(data) - 1)
                    for i in range(len(data)))
    tr(wire, [Text(data.decode())])


# --------------------------------------------------------------------------
# Failures: (wire bytes, code); server side unless marked


FAILURES = [
    # RSV bits without an extension that defines them (§5.2)
    ("rsv1 without deflate", frame(1, HELLO, rsv=0x40), CloseCode.PROTOCOL_ERROR),
    ("rsv2", frame(1, HELLO, rsv=0x20), CloseCode.PROTOCOL_ERROR),
    ("rsv3", frame(1, HELLO, rsv=0x10), CloseCode.PROTOCOL_ERROR),
    ("rsv on ping", frame(9, rsv=0x40), CloseCode.PROTOCOL_ERROR),
    # reserved opcodes
    *[("opcode %d" % op, frame(op, HELLO), CloseCode.PROTOCOL_ERROR) for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)],
    # control frames (§5.5)
    ("fragmented ping", frame(9, fin=False), CloseCode.PROTOCOL_ERROR),
    ("fragmented close", frame(8, fin=False), CloseCode.PROTOCOL_ERROR),
    ("fragmented pong", frame(10, fin=False), CloseCode.PROTOCOL_ERROR),
    ("126-byte ping", frame(9, b"x" * 126), CloseCode.PROTOCOL_ERROR),
    ("126-byte close", frame(8, b"\x03\xe8" + b"x" * 124), CloseCode.PROTOCOL_ERROR),
    # fragmentation (§5.4)
    ("lone continuation", frame(0, HELLO), CloseCode.PROTOCOL_ERROR),
    ("text inside text", frame(1, b"a", fin=False) + frame(1, b"b"), CloseCode.PROTOCOL_ERROR),
    ("binary inside text", frame(1, b"a", fin=False) + frame(2, b"b"), CloseCode.PROTOCOL_ERROR),
    ("continuation after the end", frame(1, b"a") + frame(0, b"b"), CloseCode.PROTOCOL_ERROR),
    # length encoding (§5.2: "the minimal number of bytes MUST be used")
    ("125 in 16 bits", b"\x82\xfe\x00\x7d" + MASK + b"x" * 125, CloseCode.PROTOCOL_ERROR),
    ("0 in 16 bits", b"\x82\xfe\x00\x00" + MASK, CloseCode.PROTOCOL_ERROR),
    ("65535 in 64 bits", b"\x82\xff" + (65535).to_bytes(8, "big") + MASK, CloseCode.PROTOCOL_ERROR),
    ("5 in 64 bits", b"\x82\xff" + (5).to_bytes(8, "big") + MASK + b"x" * 5, CloseCode.PROTOCOL_ERROR),
    ("64-bit high bit", b"\x82\xff\x80" + bytes(7), CloseCode.PROTOCOL_ERROR),
    # masking (§5.1)
    ("unmasked client frame", frame(1, HELLO, mask=None), CloseCode.PROTOCOL_ERROR),
    ("unmasked client ping", frame(9, mask=None), CloseCode.PROTOCOL_ERROR),
    # UTF-8 (§8.1)
    ("invalid UTF-8", frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"),
     CloseCode.INVALID_DATA),
    ("truncated UTF-8", frame(1, b"abc\xe2\x82"), CloseCode.INVALID_DATA),
    ("truncated UTF-8 in fragments", frame(1, b"abc\xe2", fin=False) + frame(0, b"\x82"), CloseCode.INVALID_DATA),
    ("overlong", frame(1, b"\xc0\xaf"), CloseCode.INVALID_DATA),
    # close frames (§5.5.1, §7.4)
    ("1-byte close", frame(8, b"\x03"), CloseCode.PROTOCOL_ERROR),
    ("bad close reason", frame(8, b"\x03\xe8\xff"), CloseCode.INVALID_DATA),
]


@pytest.mark.parametrize("name,wire,code", FAILURES, ids=[f[0] for f in FAILURES])
def test_failures(name: str, wire: bytes, code: int) -> None:
    expected = decode(wire)
    assert len(expected) == 1 or not any(isinstance(e, Failed) for e in expected[:-1])
    failed = expected[-1]
    assert isinstance(failed, Failed), expected
    assert failed.code == code
    assert failed.reply[:1] == b"\x88" and close_code(failed.reply) == code
    assert failed.reply[1] == len(failed.reply) - 2 <= 125
    # the same failure whatever the chunking, and nothing decoded after it
    assert feed(server(), [wire[i:i + 1] for i in range(len(wire))]) == expected
    codec = server()
    assert feed(codec, [wire, frame(1, HELLO)]) == expected
    assert list(codec.events()) == []


def test_masked_server_frame_fails_on_the_client() -> None:
    (failed,) = decode(frame(1, HELLO), make=client)
    assert isinstance(failed, Failed) and failed.code == CloseCode.PROTOCOL_ERROR
    # the client's error close is masked
    assert failed.reply[0] == 0x88 and failed.reply[1] & 0x80
    assert failed.reply[2:6] == MASK


def test_failures_come_as_soon_as_the_header_shows_them() -> None:
    # a reserved opcode is known from the first two bytes
    assert [type(e) for e in decode(b"\x83\x85")] == [Failed]
    # 64-bit length with the high bit: known before any mask or payload
    assert [type(e) for e in decode(b"\x82\xff\x80" + bytes(7))] == [Failed]


def test_too_big_is_detected_from_the_header() -> None:
    codec = server(max_message_size=100)
    codec.receive_data(b"\x82\xfe\x00\xc8")  # 200 bytes declared; no mask, no payload yet
    (failed,) = codec.events()
    assert isinstance(failed, Failed) and failed.code == CloseCode.MESSAGE_TOO_BIG
    assert close_code(failed.reply) == CloseCode.MESSAGE_TOO_BIG
    # a 2**62-byte header is refused without waiting for (or buffering) it
    codec = server()
    codec.receive_data(b"\x82\xff" + (1 << 62).to_bytes(8, "big"))
    assert [e.code for e in codec.events()] == [CloseCode.MESSAGE_TOO_BIG]  # type: ignore[union-attr]


def test_too_big_counts_all_fragments() -> None:
    ok = frame(2, b"x" * 50, fin=False) + frame(0, b"y" * 50)
    assert decode(ok, make=lambda: server(max_message_size=100)) == [Binary(b"x" * 50 + b"y" * 50)]
    codec = server(max_message_size=100)
    codec.receive_data(frame(2, b"x" * 60, fin=False) + frame(9, b"ping"))
    assert list(codec.events()) == [Ping(b"ping")]
    codec.receive_data(b"\x80\xa9")  # continuation declaring 41 more bytes
    assert [e.code for e in codec.events()] == [CloseCode.MESSAGE_TOO_BIG]  # type: ignore[union-attr]
    # control frames do not count, and the limit resets per message
    wire = (frame(2, b"x" * 100) + frame(9, b"p" * 100) + frame(1, b"a" * 60, fin=False)
            + frame(0, b"b" * 40))
    assert decode(wire, make=lambda: server(max_message_size=100)) == [
        Binary(b"x" * 100), Ping(b"p" * 100), Text("a" * 60 + "b" * 40)]


def test_invalid_utf8_fails_before_the_final_fragment() -> None:
    # Autobahn 6.4.2: F4 then 90 (a code point over U+10FFFF), more to come
    codec = server()
    codec.receive_data(frame(1, "\u03ba\u1f79\u03c3\u03bc\u03b5".encode() + b"\xf4", fin=False))
    assert list(codec.events()) == []
    codec.receive_data(frame(0, b"\x90", fin=False))
    assert [e.code for e in codec.events()] == [CloseCode.INVALID_DATA]  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", [b"\xf4\x90", b"\xed\xa0", b"\xc0", b"\xff", b"\xe0\x80"])
def test_invalid_utf8_fails_mid_frame(bad: bytes) -> None:
    # Autobahn 6.4.3/6.4.4: one frame, its payload arriving in pieces
    wire = frame(1, b"valid " + bad + b" and the rest of a long frame")
    cut = len(wire) - len(b" and the rest of a long frame")
    codec = server()
    codec.receive_data(wire[:cut - len(bad)])
    assert list(codec.events()) == []
    codec.receive_data(wire[cut - len(bad):cut])
    assert [e.code for e in codec.events()] == [CloseCode.INVALID_DATA]  # type: ignore[union-attr]


# --------------------------------------------------------------------------
# Close (§5.5.1, §7.4)

GOOD_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
              3000, 3999, 4000, 4999]
BAD_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


def test_close_code_table() -> None:
    assert all(valid_close_code(c) for c in GOOD_CODES)
    assert not any(valid_close_code(c) for c in BAD_CODES)
    allowed = [c for c in range(0, 70000) if valid_close_code(c)]
    assert allowed == [*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)]


@pytest.mark.parametrize("code", GOOD_CODES)
def test_valid_close_is_echoed(code: int) -> None:
    wire = frame(8, struct.pack("!H", code) + "caf\u00e9".encode())
    tr(wire, [Close(code, "caf\u00e9", b"\x88\x02" + struct.pack("!H", code))])


@pytest.mark.parametrize("code", BAD_CODES)
def test_invalid_close_code(code: int) -> None:
    (failed,) = decode(frame(8, struct.pack("!H", code)))
    assert isinstance(failed, Failed) and failed.code == CloseCode.PROTOCOL_ERROR
    assert close_code(failed.reply) == CloseCode.PROTOCOL_ERROR


def test_empty_close_is_answered_with_an_empty_close() -> None:
    tr(frame(8), [Close(None, "", b"\x88\x00")])


def test_client_close_reply_is_masked() -> None:
    (event,) = decode(frame(8, b"\x03\xe9", mask=None), make=client)
    assert event == Close(1001, "", bytes.fromhex("8882") + MASK + bytes([0x03 ^ 0x37, 0xE9 ^ 0xFA]))


def test_nothing_after_close() -> None:
    codec = server()
    events = feed(codec, [frame(8) + frame(1, HELLO), frame(1, HELLO)])
    assert events == [Close(None, "", b"\x88\x00")]


def test_send_close() -> None:
    assert server().send_close() == b"\x88\x02\x03\xe8"
    assert server().send_close(1001, "bye") == b"\x88\x05\x03\xe9bye"
    long = server().send_close(4000, "\u00e9" * 200)  # 400 bytes of reason
    assert long[1] == len(long) - 2 <= 125
    assert long[4:].decode("utf-8") == "\u00e9" * 61  # cut at a character boundary
    assert client().send_close(1000) == bytes.fromhex("8882") + MASK + bytes([0x03 ^ 0x37, 0xE8 ^ 0xFA])
    for code in (1005, 1006, 999, 5000):
        with pytest.raises(ValueError):
            server().send_close(code)


def test_close_answering_our_close_needs_no_reply() -> None:
    codec = server()
    codec.send_close(1001)
    assert decode_with(codec, frame(8, b"\x03\xe9")) == [Close(1001, "", b"")]


def decode_with(codec: RFC6455Codec, data: bytes) -> List[Event]:
    return feed(codec, [data])


# --------------------------------------------------------------------------
# Round trips between a client codec and a server codec


def test_round_trip() -> None:
    c, s = RFC6455Codec(client=True), RFC6455Codec()
    s.receive_data(c.send_text("h\u00e9llo") + c.send_binary(b"\x00\xff") + c.send_ping(b"p")
                   + c.send_pong(b"q") + c.send_close(1000, "done"))
    assert list(s.events()) == [Text("h\u00e9llo"), Binary(b"\x00\xff"), Ping(b"p"), Pong(b"q"),
                                Close(1000, "done", b"\x88\x02\x03\xe8")]
    c2, s2 = RFC6455Codec(client=True), RFC6455Codec()
    c2.receive_data(s2.send_text("x" * 70000) + s2.send_binary(b"y" * 300) + s2.send_ping()
                    + s2.send_close(1001))
    events = list(c2.events())
    assert events[:3] == [Text("x" * 70000), Binary(b"y" * 300), Ping(b"")]
    close = events[3]
    assert isinstance(close, Close) and close.code == 1001
    s2.receive_data(close.reply)
    assert list(s2.events()) == [Close(1001, "", b"")]


def test_control_payload_limit_on_send() -> None:
    with pytest.raises(ValueError):
        server().send_ping(b"x" * 126)
    with pytest.raises(ValueError):
        server().send_pong(b"x" * 126)


def test_random_masks_are_used() -> None:
    c = RFC6455Codec(client=True)
    a, b = c.send_text("same"), c.send_text("same")
    assert a[2:6] != b[2:6] or a == b  # 2**-32 chance of equal masks


# --------------------------------------------------------------------------
# Properties (hypothesis)

message = st.one_of(
    st.builds(Text, st.text(max_size=300)),
    st.builds(Binary, st.binary(max_size=300)),
    st.builds(Ping, st.binary(max_size=125)),
    st.builds(Pong, st.binary(max_size=125)),
)


def encode(events: List[Event], fragment: int) -> bytes:
    out = b""
    for event in events:
        if isinstance(event, Ping):
            out += frame(9, event.payload)
        elif isinstance(event, Pong):
            out += frame(10, event.payload)
        else:
            data = event.data.encode() if isinstance(event, Text) else event.data  # type: ignore[union-attr]
            op = 1 if isinstance(event, Text) else 2
            pieces = [data[i:i + fragment] for i in range(0, len(data), fragment)] or [b""]
            for i, piece in enumerate(pieces):
                out += frame(op if i == 0 else 0, piece, fin=i == len(pieces) - 1)
    return out


@settings(deadline=None, max_examples=200)
@given(st.lists(message, max_size=8), st.integers(1, 400), st.lists(st.integers(0, 5000), max_size=6))
def test_any_split_decodes_the_same(events: List[Event], fragment: int, cuts: List[int]) -> None:
    wire = encode(events, fragment)
    points = sorted({min(c, len(wire)) for c in cuts})
    chunks = [wire[a:b] for a, b in zip([0] + points, points + [len(wire)])]
    assert feed(server(), chunks) == events
    assert decode(wire) == events


# Frames with any opcode, flags, mask and payload: garbage that gets past the
# first header and into fragmentation, UTF-8 and inflate states.
wild_frame = st.builds(
    lambda op, fin, rsv, masked, payload: frame(op, payload, fin, MASK if masked else None, rsv),
    st.integers(0, 15), st.booleans(), st.sampled_from([0, 0, 0, 0x40, 0x20, 0x10]),
    st.booleans(), st.one_of(st.binary(max_size=200), st.text(max_size=60).map(str.encode)))
garbage = st.lists(st.one_of(st.binary(max_size=40), wild_frame), max_size=10).map(b"".join)


@settings(deadline=None, max_examples=200)
@given(st.one_of(st.binary(max_size=600), garbage), st.booleans(), st.booleans(), st.integers(1, 50))
def test_garbage_never_raises(data: bytes, as_client: bool, deflate: bool, step: int) -> None:
    def make() -> RFC6455Codec:
        return RFC6455Codec(max_message_size=1000, client=as_client, random_bytes=fixed_mask,
                            deflate=DeflateParams() if deflate else None)

    events = feed(make(), [data[i:i + step] for i in range(0, len(data), step)])
    whole = decode(data, make)
    # Chunking changes nothing but, at most, which failure is seen first
    # (a split text frame can fail on UTF-8 before a later size check).
    if events and isinstance(events[-1], Failed):
        assert events[:-1] == whole[:-1] and isinstance(whole[-1], Failed)
    else:
        assert events == whole
    ends = [e for e in events if isinstance(e, (Close, Failed))]
    assert len(ends) <= 1 and (not ends or events[-1] is ends[0])
    for event in ends:
        assert event.reply[:1] == b"\x88"


@settings(deadline=None, max_examples=200)
@given(st.lists(st.one_of(st.text(max_size=200), st.binary(max_size=200)), max_size=6),
       st.sampled_from([None, DeflateParams(), DeflateParams(True, True, 9, 8),
                        DeflateParams(False, True, 15, 12)]),
       st.integers(0, 100))
def test_round_trip_both_ways(messages: List[object], params: Optional[DeflateParams],
                              min_size: int) -> None:
    expected = [Text(m) if isinstance(m, str) else Binary(m) for m in messages]  # type: ignore[arg-type]
    for sender, receiver in [(RFC6455Codec(client=True, deflate=params, deflate_min_size=min_size),
                              RFC6455Codec(deflate=params)),
                             (RFC6455Codec(deflate=params, deflate_min_size=min_size),
                              RFC6455Codec(client=True, deflate=params))]:
        wire = b"".join(sender.send_text(m) if isinstance(m, str) else sender.send_binary(m)  # type: ignore[arg-type]
                        for m in messages)
        assert feed(receiver, [wire[i:i + 37] for i in range(0, len(wire), 37)]) == expected


# --------------------------------------------------------------------------
# whole_text: the one-read fast path must agree with receive_data + events()

def test_whole_text_reads_the_rfc_hello() -> None:
    codec = server()
    assert codec.whole_text(bytes.fromhex("818537fa213d7f9f4d5158")) == "Hello"
    # the codec is left as it was: the next frame decodes as usual
    assert decode(frame(1, b"again")) == [Text("again")]
    assert feed(codec, [frame(1, b"again")]) == [Text("again")]


def test_whole_text_on_the_client_reads_unmasked_frames() -> None:
    assert client().whole_text(bytes.fromhex("810548656c6c6f")) == "Hello"
    assert client().whole_text(frame(1, HELLO)) is None  # masked from a server: the general path fails it
    assert server().whole_text(frame(1, HELLO, mask=None)) is None


@pytest.mark.parametrize("count", [63, 200, 2000])  # 126 bytes; under and over _xor's 512-byte switch
def test_whole_text_16_bit_length(count: int) -> None:
    payload = "é".encode() * count
    assert server().whole_text(frame(1, payload)) == payload.decode()


@pytest.mark.parametrize("name, wire", [
    ("binary", frame(2, HELLO)),
    ("ping", frame(9, HELLO)),
    ("close", frame(8, struct.pack("!H", 1000))),
    ("first fragment", frame(1, HELLO, fin=False)),
    ("compressed", frame(1, HELLO, rsv=0x40)),
    ("two frames", frame(1, HELLO) + frame(1, HELLO)),
    ("frame and a half", frame(1, HELLO) + frame(1, HELLO)[:3]),
    ("half a frame", frame(1, HELLO)[:-1]),
    ("one byte", b"\x81"),
    ("invalid UTF-8", frame(1, b"\xff\xfe")),
    ("surrogate", frame(1, b"\xed\xa0\x80")),
    ("16-bit length under 126", b"\x81\xfe\x00\x05" + MASK + frame(1, HELLO)[6:]),
    ("64-bit length", b"\x81\xff" + (5).to_bytes(8, "big") + MASK + frame(1, HELLO)[6:]),
    ("over the limit", frame(1, b"x" * 101)),
])
def test_whole_text_leaves_the_rest_to_the_general_path(name: str, wire: bytes) -> None:
    codec = server(max_message_size=100)
    assert codec.whole_text(wire) is None
    assert feed(codec, [wire]) == decode(wire, lambda: server(max_message_size=100))


def test_whole_text_declines_while_a_message_or_frame_is_in_progress() -> None:
    for started in (frame(1, HELLO, fin=False), frame(1, HELLO)[:8]):
        codec = server()
        assert feed(codec, [started]) == []
        assert codec.whole_text(frame(1, HELLO)) is None
    closed = server()
    feed(closed, [frame(8, b"")])
    assert closed.whole_text(frame(1, HELLO)) is None


@settings(deadline=None, max_examples=300)
@given(st.one_of(garbage, wild_frame, st.text(max_size=300).map(lambda t: frame(1, t.encode()))),
       st.binary(max_size=12), st.booleans())
def test_whole_text_agrees_with_the_general_path(data: bytes, before: bytes, as_client: bool) -> None:
    """Whatever came before and whatever this read holds: the fast path
    gives the one Text the general path would, and leaves the codec in the
    state the general path does, or declines and changes nothing."""
    def make() -> RFC6455Codec:
        return RFC6455Codec(max_message_size=250, client=as_client, random_bytes=fixed_mask)

    fast, slow = make(), make()
    feed(fast, [before])
    feed(slow, [before])
    text = fast.whole_text(data)
    expected = feed(slow, [data])
    if text is None:
        assert feed(fast, [data]) == expected
    else:
        assert expected == [Text(text)]
    more = frame(1, b"next", mask=None if as_client else MASK)
    assert feed(fast, [more]) == feed(slow, [more])
