"""The message bus's entries and its reader's bookkeeping (protocol.bus), on exact bytes."""
from __future__ import annotations

import pytest

from socketio_gevent.protocol.bus import Broadcast, BusError, BusReader, Disconnect, decode_entry, encode_entry
from socketio_gevent.protocol.outbox import BinaryMessage, encode_item


def test_a_text_broadcast_is_the_frame_encoded_once_with_its_room_and_exclusions() -> None:
    frame = encode_item("hé")
    entry = encode_entry(b"w1", 7, Broadcast(frame, frozenset({"b", "a"}), "lobby"))
    assert entry == {b"o": b"w1", b"s": b"7", b"k": b"t", b"d": "1:3::hé,".encode(),
                     b"x": b"a,b", b"r": b"lobby"}
    assert decode_entry(entry) == Broadcast("1:3::hé,", frozenset({"a", "b"}), "lobby")


def test_a_broadcast_to_everyone_carries_no_room_and_no_exclusions() -> None:
    entry = encode_entry(b"w1", 1, Broadcast("1:2::x,", frozenset()))
    assert entry == {b"o": b"w1", b"s": b"1", b"k": b"t", b"d": b"1:2::x,"}
    assert decode_entry(entry) == Broadcast("1:2::x,", frozenset(), None)


def test_binary_data_travels_as_bytes() -> None:
    entry = encode_entry(b"w1", 2, Broadcast(BinaryMessage(b"\x00\xff"), frozenset()))
    assert entry[b"k"] == b"b" and entry[b"d"] == b"\x00\xff"
    assert decode_entry(entry) == Broadcast(BinaryMessage(b"\x00\xff"), frozenset(), None)


def test_a_disconnect_names_the_session() -> None:
    entry = encode_entry(b"w1", 3, Disconnect("abc"))
    assert entry == {b"o": b"w1", b"s": b"3", b"k": b"c", b"d": b"abc"}
    assert decode_entry(entry) == Disconnect("abc")


@pytest.mark.parametrize("entry", [
    {b"o": b"w", b"s": b"1"},
    {b"o": b"w", b"s": b"1", b"k": b"z", b"d": b""},
    {b"o": b"w", b"s": b"1", b"k": b"t", b"d": b"\xff"},
])
def test_an_entry_that_is_not_ours_is_a_bus_error(entry: dict) -> None:
    with pytest.raises(BusError):
        BusReader(b"me").read(entry)


def test_the_reader_skips_its_own_entries_drops_copies_and_counts_gaps() -> None:
    reader = BusReader(b"me")
    item = Broadcast("1:2::x,", frozenset())
    assert reader.read(encode_entry(b"me", 1, item)) is None
    assert reader.read(encode_entry(b"other", 1, item)) == item
    assert reader.read(encode_entry(b"other", 1, item)) is None  # a retried write read twice
    assert reader.duplicates == 1
    assert reader.read(encode_entry(b"other", 4, item)) == item  # 2 and 3 were trimmed away
    assert reader.missed == 2
    assert reader.read(encode_entry(b"third", 9, item)) == item  # a publisher's first entry: no gap
    assert reader.missed == 2
    with pytest.raises(BusError):
        reader.read({b"s": b"1", b"k": b"t", b"d": b"x"})
    with pytest.raises(BusError):
        reader.read({b"o": b"x", b"s": b"one", b"k": b"t", b"d": b"x"})


def test_the_reader_remembers_a_bounded_number_of_publishers() -> None:
    reader = BusReader(b"me", max_publishers=3)
    item = Broadcast("1:2::x,", frozenset())
    for name in (b"a", b"b", b"c"):
        reader.read(encode_entry(name, 5, item))
    reader.read(encode_entry(b"a", 6, item))  # a is the most recent now; b the oldest
    reader.read(encode_entry(b"d", 1, item))
    assert reader.read(encode_entry(b"a", 6, item)) is None  # still known
    assert reader.read(encode_entry(b"b", 5, item)) == item  # forgotten: taken as new
