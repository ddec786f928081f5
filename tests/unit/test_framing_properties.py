"""Property tests for socketio_gevent.protocol.framing (docs/protocol.rst §1, §2).

What they prove: ``decode(encode(x)) == x`` for arbitrary text (astral
characters included), frame types, annotations, bytes and JSON values; a
payload split into any chunks decodes exactly as it does whole, for valid and
invalid input alike; and no ``str`` a peer can send makes a decoder raise
anything but ``ProtocolError``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from socketio_gevent.protocol.framing import (
    Decoder,
    encodable,
    Frame,
    ProtocolError,
    decode_body,
    decode_payload,
    encode_body,
    encode_frame,
    encode_message,
    plain_message,
    utf16_len,
)

SETTINGS = settings(deadline=None, max_examples=200)

frame_types = st.characters(blacklist_characters=":")
frames = st.builds(Frame, frame_types, st.text())
# Text rich in the characters the grammar cares about, and in astral ones.
GRAMMAR = "0123:,\n\U0001F600ab"
grammar_text = st.text(alphabet=GRAMMAR)
# Lone surrogates cannot come from UTF-8, but nothing in a str may crash us.
any_text = st.one_of(
    st.text(),
    grammar_text,
    st.text(alphabet=st.one_of(st.sampled_from(GRAMMAR), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))),
)

keys = st.text(min_size=1).filter(lambda k: ":" not in k and "\n" not in k and k not in ("j", "b"))
values = st.none() | st.text().filter(lambda v: "\n" not in v)
annotation_dicts = st.dictionaries(keys, values, max_size=5)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


def split(text: str, cuts: List[int]) -> List[str]:
    """``text`` cut at the given indices (taken modulo its length)."""
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0] + points + [len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def outcome(chunks: List[str], max_length: Optional[int] = None) -> Tuple[List[Frame], Optional[str]]:
    """Every frame decoded before the first error, and that error's reason."""
    decoder = Decoder(max_length)
    got: List[Frame] = []
    try:
        for chunk in chunks:
            got.extend(decoder.feed(chunk))
        decoder.close()
    except ProtocolError as exc:
        got.extend(exc.frames)
        return got, exc.reason
    return got, None


@SETTINGS
@given(frame_types, st.text())
def test_frame_round_trip(type_: str, data: str) -> None:
    encoded = encode_frame(type_, data)
    assert decode_payload(encoded) == [Frame(type_, data)]
    assert decode_payload(encoded, max_length=utf16_len(data)) == [Frame(type_, data)]


@SETTINGS
@given(st.lists(frames, max_size=6), st.lists(st.integers(min_value=0), max_size=8))
def test_any_split_decodes_the_same(items: List[Frame], cuts: List[int]) -> None:
    payload = "".join(encode_frame(f.type, f.data) for f in items)
    assert decode_payload(payload) == items
    assert outcome(split(payload, cuts)) == (items, None)


@SETTINGS
@given(st.lists(frames, max_size=4))
def test_one_character_at_a_time(items: List[Frame]) -> None:
    payload = "".join(encode_frame(f.type, f.data) for f in items)
    assert outcome(list(payload)) == (items, None)


@SETTINGS
@given(any_text, st.lists(st.integers(min_value=0), max_size=6), st.none() | st.integers(0, 20))
@example("0:1;", [3], 0)  # found by CI: a cut before ";" showed "1" over the limit, the whole "1;" not a number
def test_garbage_only_raises_protocol_error_and_ignores_splits(
    text: str, cuts: List[int], max_length: Optional[int]
) -> None:
    whole = outcome([text], max_length)  # raises nothing but ProtocolError
    assert outcome(split(text, cuts), max_length) == whole
    try:
        assert decode_payload(text, max_length) == whole[0]
        assert whole[1] is None
    except ProtocolError as exc:
        assert exc.reason == whole[1]


@SETTINGS
@given(any_text)
def test_dead_decoder_keeps_raising_protocol_error(text: str) -> None:
    decoder = Decoder()
    try:
        decoder.feed(text)
        decoder.close()
    except ProtocolError:
        for call in (lambda: decoder.feed(text), decoder.close):
            try:
                call()
            except ProtocolError as exc:
                assert exc.reason.startswith("decoder already failed: ")
            else:
                raise AssertionError("a dead decoder accepted input")


@SETTINGS
@given(st.one_of(any_text, st.builds(lambda a, b: a + b, st.sampled_from(["j\n:", "b\n:", "r:x\nj\n:"]), any_text)))
def test_decode_body_only_raises_protocol_error(body: str) -> None:
    try:
        decode_body(body)
    except ProtocolError as exc:
        assert exc.reason and "\n" not in exc.reason


@SETTINGS
@given(st.text(), annotation_dicts)
def test_body_round_trip(message: str, notes: Dict[str, Optional[str]]) -> None:
    assert decode_body(encode_body(message, notes)) == (message, notes)


@SETTINGS
@given(keys, st.text().filter(lambda v: ":" not in v and "\n" not in v), st.text().filter(lambda m: "\n" not in m))
def test_readme_form(key: str, value: str, message: str) -> None:
    # docs/protocol.rst §2: the last annotation not closed by "\n" ends at its first ":".
    assert decode_body(f"{key}:{value}:{message}") == (message, {key: value})


@SETTINGS
@given(st.one_of(st.text(), st.binary(), json_values), annotation_dicts)
def test_message_round_trip(message: object, notes: Dict[str, Optional[str]]) -> None:
    [frame] = decode_payload(encode_message(message, notes))
    assert frame.type == "1"
    assert decode_body(frame.data) == (message, notes)


@SETTINGS
@given(st.text())
def test_utf16_len_matches_javascript(text: str) -> None:
    assert utf16_len(text) == sum(2 if ord(c) > 0xFFFF else 1 for c in text)


# -- the fast paths agree with the general ones ------------------------------

@SETTINGS
@given(any_text)
def test_encode_message_of_plain_text_is_the_general_frame(message):
    if not encodable(message):  # a lone surrogate: no one could be sent it, so sending it is an error
        with pytest.raises(ValueError, match="lone surrogate"):
            encode_message(message)
        return
    assert encode_message(message) == encode_frame("1", encode_body(message))


@SETTINGS
@given(any_text | st.builds(encode_message, st.text()) | st.builds(encode_message, st.text(), annotation_dicts)
       | st.builds(lambda a, b: a + b, st.builds(encode_message, st.text()), grammar_text))
def test_plain_message_is_none_or_what_the_decoder_reads(payload):
    fast = plain_message(payload)
    if fast is None:
        return
    (frame,) = decode_payload(payload)
    assert frame.type == "1"
    assert decode_body(frame.data) == (fast, {})


@SETTINGS
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_plain_message_reads_every_ascii_message(message):
    assert plain_message(encode_message(message)) == message
    assert plain_message(encode_message(message), max_length=len(message)) is None
