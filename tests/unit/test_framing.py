"""Exact-string tests for socketio_gevent.protocol.framing.

Vectors come from docs/protocol.rst §1 (frames: ``1:6::hello,``, ``0:0:,``,
``2:1:1,``, ``3:n:sid,``, lengths in UTF-16 code units) and §2 (message bodies:
``1:19:r:chat\\n:Hello world,``, the 2010 README form ``1:18:r:chat:Hello world,``,
``j`` and ``b`` annotations), and RFC 4648 §10 (base64 test vectors).
Every good payload is also fed in pieces, as h11's ``tests/test_io.py`` does:
whole, one character at a time, split at every index, and with trailing data.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import pytest

from socketio_gevent.protocol.framing import (
    DISCONNECT,
    DISCONNECT_FRAME,
    HEARTBEAT,
    MESSAGE,
    SESSION_ID,
    Decoder,
    Frame,
    ProtocolError,
    decode_body,
    decode_payload,
    encode_body,
    encode_frame,
    encode_message,
    utf16_len,
)

EMOJI = "\U0001F600"  # U+1F600, two UTF-16 code units

Annotations = Dict[str, Optional[str]]

# (payload, frames) — every payload here is valid and complete.
GOOD = [
    # §1 / §2 examples
    ("1:6::hello,", [Frame("1", ":hello")]),
    ("1:19:r:chat\n:Hello world,", [Frame("1", "r:chat\n:Hello world")]),
    ("1:18:r:chat:Hello world,", [Frame("1", "r:chat:Hello world")]),
    ("0:0:,", [Frame("0", "")]),
    ("2:1:1,", [Frame("2", "1")]),
    ("2:3:123,", [Frame("2", "123")]),
    ("3:3:sid,", [Frame("3", "sid")]),
    # UTF-16 lengths: an astral character counts 2
    (f"1:3::{EMOJI},", [Frame("1", ":" + EMOJI)]),
    (f"1:7::a{EMOJI}b{EMOJI},", [Frame("1", f":a{EMOJI}b{EMOJI}")]),
    ("1:3::\u00e9\u4e2d,", [Frame("1", ":\u00e9\u4e2d")]),  # BMP: one unit each
    # ":", "," and newlines inside data
    ("1:8::a,b:c\nd,", [Frame("1", ":a,b:c\nd")]),
    ("1:4::,,,,", [Frame("1", ":,,,")]),
    # leading zeros in the length
    ("2:01:7,", [Frame("2", "7")]),
    # several frames in one payload, and an unknown type passing through
    (
        f"3:3:abc,1:6::hello,5:2:xy,2:1:1,1:3::{EMOJI},0:0:,",
        [
            Frame("3", "abc"),
            Frame("1", ":hello"),
            Frame("5", "xy"),
            Frame("2", "1"),
            Frame("1", ":" + EMOJI),
            Frame("0", ""),
        ],
    ),
    ("", []),
]


def feed_all(decoder: Decoder, chunks: List[str]) -> List[Frame]:
    frames: List[Frame] = []
    for chunk in chunks:
        frames.extend(decoder.feed(chunk))
    return frames


@pytest.mark.parametrize("payload, frames", GOOD)
def test_decode_whole(payload: str, frames: List[Frame]) -> None:
    assert decode_payload(payload) == frames


@pytest.mark.parametrize("payload, frames", GOOD)
def test_feed_one_character_at_a_time(payload: str, frames: List[Frame]) -> None:
    decoder = Decoder()
    assert feed_all(decoder, list(payload)) == frames
    assert not decoder.pending
    decoder.close()


@pytest.mark.parametrize("payload, frames", GOOD)
def test_feed_split_at_every_index(payload: str, frames: List[Frame]) -> None:
    for index in range(len(payload) + 1):
        decoder = Decoder()
        assert feed_all(decoder, [payload[:index], payload[index:]]) == frames
        decoder.close()


@pytest.mark.parametrize("payload, frames", GOOD)
@pytest.mark.parametrize("trailing", ["1", "1:", "1:12", "1:12:", "1:3:ab", f"1:3:{EMOJI}", "1:2:ab"])
def test_feed_with_trailing_partial_frame(payload: str, frames: List[Frame], trailing: str) -> None:
    decoder = Decoder()
    assert decoder.feed(payload + trailing) == frames
    assert decoder.pending
    with pytest.raises(ProtocolError, match="incomplete frame at end of payload"):
        decoder.close()
    with pytest.raises(ProtocolError, match="incomplete frame at end of payload"):
        decode_payload(payload + trailing)


def test_trailing_partial_frame_completes_later() -> None:
    decoder = Decoder()
    assert decoder.feed("2:1:1,1:6::he") == [Frame("2", "1")]
    assert decoder.pending
    assert decoder.feed("llo") == []
    assert decoder.feed(",0:0") == [Frame("1", ":hello")]
    assert decoder.feed(":,") == [Frame("0", "")]
    assert not decoder.pending
    decoder.close()


def test_feed_empty_chunks_changes_nothing() -> None:
    decoder = Decoder()
    assert decoder.feed("") == []
    assert not decoder.pending
    assert decoder.feed("1:6::h") == []
    assert decoder.feed("") == []
    assert decoder.feed("ello,") == [Frame("1", ":hello")]


# --- encoding (§1, §2) ------------------------------------------------------


def test_constants() -> None:
    assert (DISCONNECT, MESSAGE, HEARTBEAT, SESSION_ID) == ("0", "1", "2", "3")
    assert DISCONNECT_FRAME == "0:0:,"


def test_encode_frame() -> None:
    assert encode_frame("1", ":hello") == "1:6::hello,"
    assert encode_frame(HEARTBEAT, "1") == "2:1:1,"
    assert encode_frame(SESSION_ID, "sid") == "3:3:sid,"
    assert encode_frame(DISCONNECT, "") == "0:0:,"
    assert encode_frame("1", ":" + EMOJI) == f"1:3::{EMOJI},"
    assert encode_frame("1", "a,b:c\n") == "1:6:a,b:c\n,"


@pytest.mark.parametrize("bad_type", ["", "12", ":"])
def test_encode_frame_refuses_bad_type(bad_type: str) -> None:
    with pytest.raises(ValueError):
        encode_frame(bad_type, "x")


def test_utf16_len() -> None:
    assert utf16_len("") == 0
    assert utf16_len("hello") == 5
    assert utf16_len(EMOJI) == 2
    assert utf16_len(f"a{EMOJI}b") == 4
    assert utf16_len("\u00e9\u4e2d\uffff") == 3
    assert utf16_len("\U00010000\U0010FFFF") == 4


def test_encode_body() -> None:
    assert encode_body("hello") == ":hello"
    assert encode_body("hello", {}) == ":hello"
    assert encode_body("Hello world", {"r": "chat"}) == "r:chat\n:Hello world"
    assert encode_body("m", {"x": None, "r": "a:b"}) == "x\nr:a:b\n:m"
    assert encode_body(":\n", {"k": ""}) == "k:\n::\n"


@pytest.mark.parametrize(
    "annotations",
    [{"": "v"}, {"a:b": "v"}, {"a\nb": None}, {"k": "line\nbreak"}],
)
def test_encode_body_refuses_what_would_not_decode(annotations: Annotations) -> None:
    with pytest.raises(ValueError):
        encode_body("m", annotations)


def test_encode_message() -> None:
    assert encode_message("hello") == "1:6::hello,"
    assert encode_message("Hello world", {"r": "chat"}) == "1:19:r:chat\n:Hello world,"
    assert encode_message({"a": 1}) == '1:10:j\n:{"a":1},'
    assert encode_message([1, "\u00e9"]) == '1:10:j\n:[1,"\u00e9"],'
    assert encode_message(None) == "1:7:j\n:null,"
    assert encode_message(True) == "1:7:j\n:true,"
    assert encode_message(1.5) == "1:6:j\n:1.5,"
    assert encode_message(b"foobar") == "1:11:b\n:Zm9vYmFy,"
    assert encode_message(bytearray(b"fo"), {"r": "x"}) == "1:11:r:x\nb\n:Zm8=,"
    assert encode_message(memoryview(b"f")) == "1:7:b\n:Zg==,"
    assert encode_message({"k": EMOJI}, {"r": "x"}) == f'1:17:r:x\nj\n:{{"k":"{EMOJI}"}},'


@pytest.mark.parametrize("reserved", ["j", "b"])
def test_encode_message_refuses_reserved_annotations(reserved: str) -> None:
    with pytest.raises(ValueError):
        encode_message("x", {reserved: None})


def test_encode_message_refuses_non_json() -> None:
    with pytest.raises(TypeError):
        encode_message(object())
    with pytest.raises(ValueError):
        encode_message(float("nan"))  # JSON.parse in the browser rejects NaN


# --- bodies (§2) --------------------------------------------------------------


@pytest.mark.parametrize(
    "body, expected",
    [
        ("r:chat\n:Hello world", ("Hello world", {"r": "chat"})),
        ("r:chat:Hello world", ("Hello world", {"r": "chat"})),  # 2010 README form
        (":hello", ("hello", {})),
        (":", ("", {})),
        ("::x", (":x", {})),
        ("r:a:b\n:msg", ("msg", {"r": "a:b"})),
        ("x\nr:chat\n:hi\nthere", ("hi\nthere", {"x": None, "r": "chat"})),
        ("\n\n:m", ("m", {})),  # empty keys are ignored
        ("k:\n:m", ("m", {"k": ""})),
        ("a\nr:x:y:z", ("y:z", {"a": None, "r": "x"})),
        # canonical reading first; README form for the last annotation that fits
        ("r:a:b\nzzz", ("b\nzzz", {"r": "a"})),
        ("p:1\nr:a:b", ("b", {"p": "1", "r": "a"})),
        ("p:1:2\nr:a", ("2\nr:a", {"p": "1"})),
        ("k:1\nk:2\n:m", ("m", {"k": "2"})),  # a repeated key keeps its last value
        # j and b are consumed, r and other keys kept
        ("j\n:[1,2]", ([1, 2], {})),
        ('r:chat\nj\n:{"a":null}', ({"a": None}, {"r": "chat"})),
        ("j:1\n:true", (True, {})),
        # RFC 4648 §10 test vectors
        ("b\n:", (b"", {})),
        ("b\n:Zg==", (b"f", {})),
        ("b\n:Zm8=", (b"fo", {})),
        ("b\n:Zm9v", (b"foo", {})),
        ("b\n:Zm9vYg==", (b"foob", {})),
        ("b\n:Zm9vYmE=", (b"fooba", {})),
        ("b\n:Zm9vYmFy", (b"foobar", {})),
        ("r:x\nb\n:+/8=", (b"\xfb\xff", {"r": "x"})),
    ],
)
def test_decode_body(body: str, expected: Tuple[object, Annotations]) -> None:
    assert decode_body(body) == expected


@pytest.mark.parametrize(
    "body, reason",
    [
        ("hello", "message body has no ':' separator"),
        ("", "message body has no ':' separator"),
        ("a\nb\n", "message body has no ':' separator"),
        ("r:chat", "message body has no ':' separator"),
        ("r:chat\nhello", "message body has no ':' separator"),
        # values never hold "\n": the README form ends a value on its own line
        ("a:x\nb:y", "message body has no ':' separator"),
        ("j\n:[1,", "invalid JSON under 'j'"),
        ("j\n:", "invalid JSON under 'j'"),
        ("j\n:NaN", "invalid JSON under 'j'"),
        ("j\n:" + "[" * 100000, "invalid JSON under 'j'"),
        ("b\n:Zg", "invalid base64 under 'b'"),
        ("b\n:Zg=", "invalid base64 under 'b'"),
        ("b\n:Zg===", "invalid base64 under 'b'"),
        ("b\n:Zm9v\n", "invalid base64 under 'b'"),
        ("b\n:Zm-v", "invalid base64 under 'b'"),
        ("b\n:Zh==", "invalid base64 under 'b'"),  # non-zero padding bits
        ("b\n:Z\u00e9==", "invalid base64 under 'b'"),
        ("j\nb\n:1", "message has both 'j' and 'b' annotations"),
    ],
)
def test_decode_body_errors(body: str, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_body(body)
    assert info.value.reason == reason
    assert info.value.status == 400


def test_message_frames_round_trip() -> None:
    cases: List[Tuple[object, Annotations]] = [
        ("Hello world", {"r": "chat"}),
        (f"a{EMOJI}:,\n", {"x": None}),
        (b"\x00\xff" * 10, {}),
        ({"a": [1, 2.5, None, True, "\u00e9"]}, {"r": "room"}),
    ]
    for message, notes in cases:
        [frame] = decode_payload(encode_message(message, notes))
        assert frame.type == MESSAGE
        assert decode_body(frame.data) == (message, notes)


# --- malformed frames (§1 errors) ---------------------------------------------


@pytest.mark.parametrize(
    "payload, reason",
    [
        ("12:3:abc,", "frame type must be one character"),
        ("1a", "frame type must be one character"),
        (":1:a,", "frame type is missing"),
        ("1:a", "frame length is not a decimal number"),
        ("1::hello,", "frame length is not a decimal number"),
        ("1:-1:,", "frame length is not a decimal number"),
        ("1:+1:a,", "frame length is not a decimal number"),
        ("1: 1:a,", "frame length is not a decimal number"),
        ("1:\u00b2:ab,", "frame length is not a decimal number"),  # "²".isdigit()
        ("1:\u0661:a,", "frame length is not a decimal number"),  # Arabic-Indic 1
        ("1:1234567890", "frame length has more than 9 digits"),
        ("1:0000000001:a,", "frame length has more than 9 digits"),
        ("1:3:abcd,", "frame data not terminated by ','"),
        ("1:1:ab", "frame data not terminated by ','"),
        ("1:6::hello;", "frame data not terminated by ','"),
        (f"1:1:{EMOJI},", "frame length splits a surrogate pair"),
        (f"1:3:ab{EMOJI}{EMOJI},", "frame length splits a surrogate pair"),
        (f"1:4:ab{EMOJI}{EMOJI},", "frame data not terminated by ','"),
        (f"1:2:a{EMOJI}", "frame length splits a surrogate pair"),
        ("1:6::hell", "incomplete frame at end of payload"),
        ("1:6:", "incomplete frame at end of payload"),
        ("1:6", "incomplete frame at end of payload"),
        ("1", "incomplete frame at end of payload"),
        ("1:6::hello", "incomplete frame at end of payload"),
        (f"1:3::{EMOJI}", "incomplete frame at end of payload"),
        ("0:0:,1:6::hell", "incomplete frame at end of payload"),
    ],
)
def test_malformed_payload(payload: str, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_payload(payload)
    assert info.value.reason == reason
    assert str(info.value) == reason
    assert info.value.status == 400


@pytest.mark.parametrize(
    "prefix, reason",
    [
        ("1:a", "frame length is not a decimal number"),  # fails before the rest arrives
        ("12", "frame type must be one character"),
        ("1:123456789", None),  # nine digits: still waiting
        ("1:1234567890", "frame length has more than 9 digits"),
        ("1:2:abX", "frame data not terminated by ','"),
    ],
)
def test_error_raised_as_soon_as_certain(prefix: str, reason: Optional[str]) -> None:
    decoder = Decoder()
    for char in prefix[:-1]:
        assert decoder.feed(char) == []
    if reason is None:
        assert decoder.feed(prefix[-1]) == []
        assert decoder.pending
    else:
        with pytest.raises(ProtocolError, match=reason):
            decoder.feed(prefix[-1])


def test_frames_before_the_bad_one_are_kept_on_the_error() -> None:
    # §1: over WebSocket the frames decoded before the bad one stand.
    decoder = Decoder()
    assert decoder.feed("2:1:1,1:6::he") == [Frame("2", "1")]
    with pytest.raises(ProtocolError) as info:
        decoder.feed("llo,0:0:,1:x")
    assert info.value.reason == "frame length is not a decimal number"
    assert info.value.frames == [Frame("1", ":hello"), Frame("0", "")]


def test_decoder_is_dead_after_an_error() -> None:
    decoder = Decoder()
    with pytest.raises(ProtocolError):
        decoder.feed("1:x")
    assert not decoder.pending
    for _ in range(2):
        with pytest.raises(ProtocolError, match="decoder already failed: frame length is not"):
            decoder.feed("1:6::hello,")
    with pytest.raises(ProtocolError, match="decoder already failed"):
        decoder.close()
    # A new decoder is not poisoned by the old one (§1).
    assert Decoder().feed("1:6::hello,") == [Frame("1", ":hello")]


def test_decoder_is_dead_after_a_failed_close() -> None:
    decoder = Decoder()
    decoder.feed("1:6:")
    with pytest.raises(ProtocolError, match="incomplete frame"):
        decoder.close()
    with pytest.raises(ProtocolError, match="decoder already failed"):
        decoder.feed(":hello,")


# --- max_length ----------------------------------------------------------------


def test_max_length_allows_frames_up_to_the_limit() -> None:
    assert decode_payload("1:6::hello,", max_length=6) == [Frame("1", ":hello")]
    assert decode_payload(f"1:3::{EMOJI},", max_length=3) == [Frame("1", ":" + EMOJI)]
    assert decode_payload("0:0:,", max_length=0) == [Frame("0", "")]


def test_max_length_fails_when_the_length_is_read_before_any_data() -> None:
    decoder = Decoder(max_length=10)
    assert decoder.feed("2:1:1,1:1") == [Frame("2", "1")]
    with pytest.raises(ProtocolError) as info:
        decoder.feed("1:")  # 11 > 10: no data has arrived yet
    assert info.value.reason == "frame length exceeds limit"
    with pytest.raises(ProtocolError, match="decoder already failed"):
        decoder.feed("x" * 11 + ",")


def test_max_length_fails_while_digits_still_arrive() -> None:
    # "100" can only grow with more digits, so it is over a limit of 99 already.
    decoder = Decoder(max_length=99)
    assert decoder.feed("1:10") == []
    with pytest.raises(ProtocolError, match="frame length exceeds limit"):
        decoder.feed("0")


def test_max_length_counts_utf16_units() -> None:
    with pytest.raises(ProtocolError, match="frame length exceeds limit"):
        decode_payload(f"1:3::{EMOJI},", max_length=2)


def test_large_frame_fed_in_small_pieces() -> None:
    data = ":" + ("x" * 999 + EMOJI) * 100
    payload = encode_frame(MESSAGE, data) + "0:0:,"
    decoder = Decoder()
    frames = feed_all(decoder, [payload[i:i + 7] for i in range(0, len(payload), 7)])
    assert frames == [Frame("1", data), Frame("0", "")]
