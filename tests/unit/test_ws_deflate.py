"""Tests for socketio_gevent.websocket.deflate (permessage-deflate, RFC 7692).

Vectors: RFC 7692 §7.2.3.1 ("Hello" -> ``f2 48 cd c9 c9 07 00``, also
fragmented), §7.2.3.2 (a second "Hello" sharing the window -> ``f2 00 11 00
00``), §7.2.3.3 (a stored block), §7.2.3.4 (a BFINAL block, padded) and
§7.2.3.5 (two blocks in one message). The negotiation table follows §7.1
and the offers Autobahn's cases 12.* and 13.* send.
"""
from __future__ import annotations

import dataclasses

import tracemalloc
import zlib
from typing import List, Optional

import pytest

from socketio_gevent.websocket.deflate import (DeflateError, DeflateParams, MessageTooBig,
                                               PerMessageDeflate, client_offer, negotiate,
                                               parse_response)
from socketio_gevent.websocket.codec import CloseCode
from socketio_gevent.websocket.events import Binary, Event, Failed, Text
from socketio_gevent.websocket.rfc6455 import RFC6455Codec

from .test_ws_rfc6455 import MASK, frame

HELLO_1 = bytes.fromhex("f248cdc9c90700")
HELLO_2 = bytes.fromhex("f200110000")
RSV1 = 0x40


def pmd(is_server: bool = True, limit: int = 1 << 20, **params: object) -> PerMessageDeflate:
    return PerMessageDeflate(DeflateParams(**params), is_server, limit)  # type: ignore[arg-type]


def decode(codec: RFC6455Codec, *chunks: bytes) -> List[Event]:
    out: List[Event] = []
    for chunk in chunks:
        codec.receive_data(chunk)
        out.extend(codec.events())
    return out


# --------------------------------------------------------------------------
# RFC 7692 §7.2.3 examples


def test_hello_vector() -> None:
    assert pmd().compress(b"Hello") == HELLO_1
    assert pmd().decompress(HELLO_1) == b"Hello"
    server = RFC6455Codec(deflate=DeflateParams(), deflate_min_size=0)
    assert server.send_text("Hello") == bytes.fromhex("c107") + HELLO_1
    client = RFC6455Codec(client=True, deflate=DeflateParams())
    assert decode(client, bytes.fromhex("c107") + HELLO_1) == [Text("Hello")]
    assert decode(RFC6455Codec(deflate=DeflateParams()), frame(1, HELLO_1, rsv=RSV1)) == [Text("Hello")]


def test_hello_vector_fragmented() -> None:
    # §7.2.3.1: RSV1 on the first fragment only
    wire = bytes.fromhex("4103f248cd") + bytes.fromhex("8004c9c90700")
    client = RFC6455Codec(client=True, deflate=DeflateParams())
    assert decode(client, wire) == [Text("Hello")]
    client = RFC6455Codec(client=True, deflate=DeflateParams())
    assert decode(client, *[wire[i:i + 1] for i in range(len(wire))]) == [Text("Hello")]


def test_shared_window_vector() -> None:
    sender = pmd()
    assert [sender.compress(b"Hello"), sender.compress(b"Hello")] == [HELLO_1, HELLO_2]
    receiver = pmd(is_server=False)
    assert [receiver.decompress(HELLO_1), receiver.decompress(HELLO_2)] == [b"Hello", b"Hello"]
    client = RFC6455Codec(client=True, deflate=DeflateParams())
    assert decode(client, b"\xc1\x07" + HELLO_1 + b"\xc1\x05" + HELLO_2) == [Text("Hello")] * 2


def test_stored_block_vector() -> None:
    assert pmd().decompress(bytes.fromhex("000500faff48656c6c6f")) == b"Hello"


def test_bfinal_vector_then_a_fresh_window() -> None:
    receiver = pmd()
    assert receiver.decompress(bytes.fromhex("f348cdc9c9070000")) == b"Hello"
    # the stream ended, so the next message starts a new one
    assert receiver.decompress(HELLO_1) == b"Hello"


def test_two_blocks_in_one_message_vector() -> None:
    assert pmd().decompress(bytes.fromhex("f248050000 00ffffcac9c90700".replace(" ", ""))) == b"Hello"


# --------------------------------------------------------------------------
# Context takeover


def test_server_no_context_takeover_resets_our_compressor() -> None:
    sender = pmd(server_no_context_takeover=True)
    assert [sender.compress(b"Hello"), sender.compress(b"Hello")] == [HELLO_1, HELLO_1]
    # ... and only ours: the client side still keeps its window
    client_side = pmd(is_server=False, server_no_context_takeover=True)
    assert [client_side.compress(b"Hello"), client_side.compress(b"Hello")] == [HELLO_1, HELLO_2]


def test_peer_no_context_takeover_resets_our_decompressor() -> None:
    keeps = pmd()
    assert keeps.decompress(HELLO_1) + keeps.decompress(HELLO_2) == b"HelloHello"
    resets = pmd(client_no_context_takeover=True)
    assert resets.decompress(HELLO_1) == b"Hello"
    # HELLO_2 refers back into the previous message, which was forgotten
    with pytest.raises(DeflateError):
        resets.decompress(HELLO_2)
    server = RFC6455Codec(deflate=DeflateParams(client_no_context_takeover=True))
    events = decode(server, frame(1, HELLO_1, rsv=RSV1) + frame(1, HELLO_2, rsv=RSV1))
    assert events[0] == Text("Hello")
    assert isinstance(events[1], Failed) and events[1].code == CloseCode.INVALID_DATA


@pytest.mark.parametrize("bits", range(8, 16))
@pytest.mark.parametrize("no_takeover", [False, True])
def test_window_sizes_round_trip(bits: int, no_takeover: bool) -> None:
    params = DeflateParams(no_takeover, no_takeover, bits, bits)
    text = (b"The quick brown fox jumps over the lazy dog. " * 50
            + bytes(range(256)) * 4 + b"lazy dog " * 100)
    for is_server in (True, False):
        sender, receiver = pmd(is_server, **vars(params)), pmd(not is_server, **vars(params))
        for i in range(5):
            message = text[i * 7:]
            assert receiver.decompress(sender.compress(message)) == message


def strict_inflate(data: bytes, wbits: int) -> bytes:
    """Inflate one byte at a time: zlib then checks every distance against
    the window it really has, instead of the output buffer of one call."""
    d = zlib.decompressobj(wbits)
    return b"".join(d.decompress(data[i:i + 1]) for i in range(len(data)))


def test_window_bits_8_is_honoured() -> None:
    # The peer asked for an 8-bit window; zlib compresses with 9 bits but never
    # reaches back more than 250 bytes, so a strict 256-byte window suffices.
    # repeats at distances 40, 200, 256 and 280: only the first two are usable
    near = b"The quick brown fox jumps over the dog. " * 30
    mid = bytes((i * 37 + 11) % 251 for i in range(200)) * 10
    block = bytes((i * 37 + 11) % 251 for i in range(240)) + bytes(range(40))
    messages = [near, block * 10, mid, bytes(range(256)) * 8, near]
    sender = pmd(server_max_window_bits=8)
    payloads = [sender.compress(m) + b"\x00\x00\xff\xff" for m in messages]
    assert len(payloads[0]) < len(near) // 10 and len(payloads[2]) < len(mid) // 5  # it compresses
    assert strict_inflate(b"".join(payloads), -8) == b"".join(messages)
    # the check has teeth: a 15-bit stream of the same data is refused
    wide = pmd().compress(block * 20) + b"\x00\x00\xff\xff"
    with pytest.raises(zlib.error):
        strict_inflate(wide, -8)


# --------------------------------------------------------------------------
# Limits and corrupt data


def test_decompression_bomb_stops_at_the_limit_with_bounded_memory() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(200)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 300_000  # 200 MiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooBig):
            pmd(limit=1 << 20).decompress(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_limit_is_exact_and_spans_chunks() -> None:
    data = bytes(1000)
    payload = pmd().compress(data)
    assert pmd(limit=1000).decompress(payload) == data
    with pytest.raises(MessageTooBig):
        pmd(limit=999).decompress(payload)
    receiver = pmd(limit=999)
    with pytest.raises(MessageTooBig):
        for i in range(len(payload)):
            receiver.decompress_chunk(payload[i:i + 1])
        receiver.decompress_chunk(b"", final=True)


def test_bomb_through_the_codec_fails_1009() -> None:
    payload = pmd().compress(bytes(100_000))
    server = RFC6455Codec(max_message_size=50_000, deflate=DeflateParams())
    (failed,) = decode(server, frame(2, payload, rsv=RSV1))
    assert isinstance(failed, Failed) and failed.code == CloseCode.MESSAGE_TOO_BIG


@pytest.mark.parametrize("payload", [b"\xff\xff\xff\xff", b"\x07", bytes.fromhex("f200110000")])
def test_corrupt_data(payload: bytes) -> None:
    with pytest.raises(DeflateError):
        pmd().decompress(payload)
    (failed,) = decode(RFC6455Codec(deflate=DeflateParams()), frame(1, payload, rsv=RSV1))
    assert isinstance(failed, Failed) and failed.code == CloseCode.INVALID_DATA


def test_invalid_utf8_after_decompression_fails_1007() -> None:
    payload = pmd().compress(b"ok \xff not utf-8")
    (failed,) = decode(RFC6455Codec(deflate=DeflateParams()), frame(1, payload, rsv=RSV1))
    assert isinstance(failed, Failed) and failed.code == CloseCode.INVALID_DATA
    assert decode(RFC6455Codec(deflate=DeflateParams()), frame(2, payload, rsv=RSV1)) == [
        Binary(b"ok \xff not utf-8")]


# --------------------------------------------------------------------------
# RSV1 rules through the codec (RFC 7692 §6)


def test_rsv1_rules() -> None:
    on = DeflateParams()
    # without deflate, RSV1 is a protocol error
    (failed,) = decode(RFC6455Codec(), frame(1, HELLO_1, rsv=RSV1))
    assert isinstance(failed, Failed) and failed.code == CloseCode.PROTOCOL_ERROR
    # with deflate: not on a continuation frame, not on control frames
    events = decode(RFC6455Codec(deflate=on), frame(1, HELLO_1[:3], fin=False, rsv=RSV1)
                    + frame(0, HELLO_1[3:], rsv=RSV1))
    assert isinstance(events[0], Failed) and events[0].code == CloseCode.PROTOCOL_ERROR
    (failed,) = decode(RFC6455Codec(deflate=on), frame(9, b"", rsv=RSV1))
    assert isinstance(failed, Failed) and failed.code == CloseCode.PROTOCOL_ERROR
    # uncompressed messages still pass when deflate is on
    assert decode(RFC6455Codec(deflate=on), frame(1, b"plain")) == [Text("plain")]


def test_small_messages_are_sent_uncompressed() -> None:
    server = RFC6455Codec(deflate=DeflateParams(), deflate_min_size=10)
    assert server.send_text("short") == b"\x81\x05short"
    big = server.send_text("long enough to compress")
    assert big[0] == 0xC1
    client = RFC6455Codec(client=True, random_bytes=lambda n: MASK, deflate=DeflateParams())
    assert client.send_binary(bytes(100))[0] == 0xC2


def test_interleaved_compressed_and_plain_keep_the_window() -> None:
    sender = RFC6455Codec(client=True, deflate=DeflateParams(), deflate_min_size=20)
    receiver = RFC6455Codec(deflate=DeflateParams())
    messages = ["a message long enough %d" % i if i % 2 else "tiny" for i in range(10)]
    wire = b"".join(sender.send_text(m) for m in messages)
    assert decode(receiver, wire) == [Text(m) for m in messages]


# --------------------------------------------------------------------------
# Negotiation (RFC 7692 §7.1)

NEGOTIATE = [
    # (offer header, expected response or None, expected params)
    ("permessage-deflate", "permessage-deflate", DeflateParams()),
    ("permessage-deflate; client_max_window_bits", "permessage-deflate", DeflateParams()),
    ("permessage-deflate; client_max_window_bits=10",
     "permessage-deflate; client_max_window_bits=10", DeflateParams(client_max_window_bits=10)),
    ('permessage-deflate; client_max_window_bits="10"',
     "permessage-deflate; client_max_window_bits=10", DeflateParams(client_max_window_bits=10)),
    ('permessage-deflate; server_max_window_bits="8"',
     "permessage-deflate; server_max_window_bits=8", DeflateParams(server_max_window_bits=8)),
    ("permessage-deflate; server_max_window_bits=15",
     "permessage-deflate; server_max_window_bits=15", DeflateParams()),
    ("PerMessage-Deflate ; Server_No_Context_Takeover",
     "permessage-deflate; server_no_context_takeover", DeflateParams(server_no_context_takeover=True)),
    ("permessage-deflate;client_no_context_takeover;server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
     DeflateParams(True, True)),
    # other extensions are skipped
    ("x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=12, foo",
     "permessage-deflate; server_max_window_bits=12", DeflateParams(server_max_window_bits=12)),
    # the first acceptable offer wins; bad ones are skipped
    ("permessage-deflate; server_max_window_bits=7, permessage-deflate; server_no_context_takeover",
     "permessage-deflate; server_no_context_takeover", DeflateParams(server_no_context_takeover=True)),
    ("permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=9, permessage-deflate",
     "permessage-deflate; server_max_window_bits=9", DeflateParams(server_max_window_bits=9)),
    ('permessage-deflate; x="a,b", permessage-deflate', "permessage-deflate", DeflateParams()),
    # no acceptable offer
    ("", None, None),
    ("x-webkit-deflate-frame", None, None),
    ("permessage-deflate; server_max_window_bits", None, None),  # a value is required
    ("permessage-deflate; server_max_window_bits=16", None, None),
    ("permessage-deflate; server_max_window_bits=08", None, None),  # no leading zeros
    ("permessage-deflate; client_max_window_bits=7", None, None),
    ("permessage-deflate; client_max_window_bits=", None, None),
    ('permessage-deflate; client_max_window_bits="1 0"', None, None),
    ("permessage-deflate; client_max_window_bits=x", None, None),
    ("permessage-deflate; server_no_context_takeover=1", None, None),
    ("permessage-deflate; client_no_context_takeover=true", None, None),
    ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", None, None),
    ("permessage-deflate; client_max_window_bits; client_max_window_bits=9", None, None),
    ("permessage-deflate; mystery", None, None),
    ('permessage-deflate; server_max_window_bits="9', None, None),
]


def without_takeover(response: str, params: DeflateParams) -> "tuple[str, DeflateParams]":
    """What the server answers: the table's agreement, plus no context takeover
    either way, which it always asks for (RFC 7692 §7.1.1, answered unasked)."""
    rest = [part for part in response.split("; ")[1:]
            if part not in ("server_no_context_takeover", "client_no_context_takeover")]
    answer = "; ".join(["permessage-deflate", "server_no_context_takeover", "client_no_context_takeover"] + rest)
    return answer, dataclasses.replace(params, server_no_context_takeover=True, client_no_context_takeover=True)


@pytest.mark.parametrize("offer,response,params", NEGOTIATE)
def test_negotiate(offer: str, response: Optional[str], params: Optional[DeflateParams]) -> None:
    result = negotiate(offer)
    if response is None:
        assert result is None
    else:
        assert params is not None
        expected = without_takeover(response, params)
        assert result == expected
        # the client reads our answer back to the same parameters
        assert parse_response(expected[0]) == expected[1]


# What Autobahn's cases 12.* and 13.* offer (autobahn's PerMessageDeflateOffer
# string), and what they must agree on.
AUTOBAHN = [
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits",
     DeflateParams(client_no_context_takeover=True)),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover",
     DeflateParams(True, True)),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8",
     DeflateParams(False, True, 8)),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15",
     DeflateParams(False, True, 15)),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover;"
     " server_max_window_bits=8", DeflateParams(True, True, 8)),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover;"
     " server_max_window_bits=15", DeflateParams(True, True, 15)),
    ("permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover;"
     " server_max_window_bits=8, permessage-deflate; client_no_context_takeover; client_max_window_bits;"
     " server_no_context_takeover, permessage-deflate; client_no_context_takeover; client_max_window_bits",
     DeflateParams(True, True, 8)),
]


@pytest.mark.parametrize("offer,params", AUTOBAHN)
def test_autobahn_offers(offer: str, params: DeflateParams) -> None:
    result = negotiate(offer)
    params = dataclasses.replace(params, server_no_context_takeover=True, client_no_context_takeover=True)
    assert result is not None and result[1] == params
    agreed = parse_response(result[0])
    assert agreed == params
    server = RFC6455Codec(deflate=params, deflate_min_size=0)
    client = RFC6455Codec(client=True, deflate=agreed, deflate_min_size=0)
    json = "".join('{"id": %d, "name": "item %d", "tags": ["a", "b"]}, ' % (i, i) for i in range(300))
    messages = [json[i:i + 4000] for i in range(0, len(json), 3000)]
    assert decode(server, *[client.send_text(m) for m in messages]) == [Text(m) for m in messages]
    assert decode(client, *[server.send_text(m) for m in messages]) == [Text(m) for m in messages]


def test_client_offer_and_parse_response() -> None:
    assert client_offer() == "permessage-deflate; client_max_window_bits"
    assert negotiate(client_offer()) == ("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                                         DeflateParams(True, True))
    assert parse_response("permessage-deflate; client_max_window_bits=8; server_no_context_takeover") == \
        DeflateParams(server_no_context_takeover=True, client_max_window_bits=8)


@pytest.mark.parametrize("header", [
    "",
    "x-webkit-deflate-frame",
    "permessage-deflate, permessage-deflate",
    "permessage-deflate, foo",
    "permessage-deflate; client_max_window_bits",  # a response must carry a value
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; unknown",
])
def test_parse_response_rejects(header: str) -> None:
    with pytest.raises(ValueError):
        parse_response(header)


@pytest.mark.parametrize("offer,response,params", NEGOTIATE)
def test_negotiate_keeping_context_answers_what_was_offered(offer: str, response: Optional[str],
                                                            params: Optional[DeflateParams]) -> None:
    """websocket_deflate="context": the RFC's defaults, takeover where the offer allows."""
    result = negotiate(offer, takeover=True)
    assert result == (None if response is None else (response, params))


def test_by_default_an_idle_connection_holds_no_zlib_state() -> None:
    for takeover, held in ((False, False), (True, True)):
        answer, params = negotiate("permessage-deflate; client_max_window_bits", takeover=takeover) or ("", None)
        agreed = parse_response(answer)
        server = RFC6455Codec(deflate=params)
        client = RFC6455Codec(client=True, deflate=agreed)
        for text in ("x" * 1000, "2:1:1,", "y" * 70000):  # every size, each compressed on its own
            assert decode(server, client.send_text(text)) == [Text(text)]
            frame = server.send_text(text)
            assert frame[0] & 0x40  # compressed (RSV1)
            assert decode(client, frame) == [Text(text)]
        state = server._deflate
        assert (state._compressor is not None, state._decompressor is not None) == (held, held)
