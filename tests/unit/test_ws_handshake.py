"""Tests for dialect selection and the handshake answers (docs/protocol.rst §4.3).

Vectors: RFC 6455 §1.3 / §4.2.2 key ``dGhlIHNhbXBsZSBub25jZQ==`` -> accept
``s3pPLMBiTxaQ9kYGzzhZRbK+xOo=``; draft-hixie-thewebsocketprotocol-76 §1.3
key1 ``4 @1  46546xW%0l 1 5``, key2 ``12998 5 Y3 1  .P00``, key3
``^n:ds[4U`` -> ``8jKS'y:G*Co,Wxa-`` (both quoted in §4.3).

The environs are real WSGI environs (plain dicts, as gevent.pywsgi builds
them), one per dialect and per refusal, following §4.3's precedence.
"""
from __future__ import annotations

import subprocess
import sys
import zlib
from typing import Dict, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_gevent.websocket import deflate, handshake
from socketio_gevent.websocket.deflate import DeflateParams
from socketio_gevent.websocket.events import Text
from socketio_gevent.websocket.handshake import (
    HIXIE75,
    HIXIE76,
    HYBI03,
    RFC6455,
    Accept,
    Refuse,
    accept_key,
    challenge_response,
    make_codec,
    negotiate,
)
from socketio_gevent.websocket.hixie75 import Hixie75Codec
from socketio_gevent.websocket.hixie76 import Hixie76Codec, key_number
from socketio_gevent.websocket.hybi03 import Hybi03Codec
from socketio_gevent.websocket.rfc6455 import RFC6455Codec

KEY1 = "4 @1  46546xW%0l 1 5"
KEY2 = "12998 5 Y3 1  .P00"
KEY3 = b"^n:ds[4U"
ANSWER = b"8jKS'y:G*Co,Wxa-"
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
PATH = "/socket.io/websocket"


#: Keys passed to ``environ`` under their own name; any other is a header.
_WSGI_KEYS = {"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
              "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme"}


def environ(**headers: Optional[str]) -> Dict[str, object]:
    """A GET upgrade environ; ``X=v`` sets ``HTTP_X`` (or a WSGI key), ``X=None`` drops it."""
    env: Dict[str, object] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "example.com",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "example.com",
        "HTTP_UPGRADE": "websocket",
        "HTTP_CONNECTION": "Upgrade",
    }
    for name, value in headers.items():
        key = name if name in _WSGI_KEYS else "HTTP_" + name
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def rfc(**headers: Optional[str]) -> Dict[str, object]:
    base: Dict[str, Optional[str]] = {"SEC_WEBSOCKET_VERSION": "13", "SEC_WEBSOCKET_KEY": RFC_KEY}
    base.update(headers)
    return environ(**base)


def hixie76(**headers: Optional[str]) -> Dict[str, object]:
    base: Dict[str, Optional[str]] = {"UPGRADE": "WebSocket", "ORIGIN": "http://example.com",
            "SEC_WEBSOCKET_KEY1": KEY1, "SEC_WEBSOCKET_KEY2": KEY2}
    base.update(headers)
    return environ(**base)


def accepted(env: Dict[str, object], **kw: bool) -> Accept:
    result = negotiate(env, **kw)
    assert isinstance(result, Accept), result
    return result


def refused(env: Dict[str, object]) -> Refuse:
    result = negotiate(env)
    assert isinstance(result, Refuse), result
    assert "\n" not in result.reason
    return result


# -- the vectors -------------------------------------------------------------


def test_rfc6455_vector() -> None:
    assert accept_key(RFC_KEY) == RFC_ACCEPT


def test_hixie76_vector() -> None:
    assert challenge_response(KEY1, KEY2, KEY3) == ANSWER
    # The draft's worked example: 4146546015 / 5 spaces, 1299853100 / 5 spaces.
    assert key_number(KEY1) == 829309203
    assert key_number(KEY2) == 259970620
    assert accepted(hixie76()).answer(KEY3) == ANSWER
    assert handshake.challenge_response is challenge_response


# -- one environ per dialect -------------------------------------------------


@pytest.mark.parametrize("version", ["13", "8", "7", " 13 "])
def test_rfc6455(version: str) -> None:
    result = accepted(rfc(SEC_WEBSOCKET_VERSION=version, SEC_WEBSOCKET_PROTOCOL="chat"))
    assert result == Accept(RFC6455, "101 Switching Protocols", [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", RFC_ACCEPT),
    ], False, None)
    # No subprotocols are supported, so none is echoed; no challenge.
    with pytest.raises(ValueError):
        result.answer(KEY3)


def test_hixie76() -> None:
    result = accepted(hixie76(SEC_WEBSOCKET_PROTOCOL="sample"))
    assert (result.dialect, result.status, result.key3_needed, result.deflate) == (
        HIXIE76, "101 WebSocket Protocol Handshake", True, None)
    assert result.headers == [
        ("Upgrade", "WebSocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Origin", "http://example.com"),
        ("Sec-WebSocket-Location", "ws://example.com/socket.io/websocket"),
        ("Sec-WebSocket-Protocol", "sample"),
    ]


@pytest.mark.parametrize("draft", ["1", "2", "3"])
def test_hybi03(draft: str) -> None:
    result = accepted(hixie76(SEC_WEBSOCKET_DRAFT=draft))
    assert (result.dialect, result.status, result.key3_needed) == (
        HYBI03, "101 WebSocket Protocol Handshake", True)
    assert result.headers == [
        ("Upgrade", "WebSocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Origin", "http://example.com"),
        ("Sec-WebSocket-Location", "ws://example.com/socket.io/websocket"),
    ]
    assert result.answer(KEY3) == ANSWER


def test_hixie75() -> None:
    result = accepted(environ(UPGRADE="WebSocket", ORIGIN="http://example.com",
                              WEBSOCKET_PROTOCOL="sample"))
    # hixie-75 clients compare the status line byte for byte: "Web Socket".
    assert (result.dialect, result.status, result.key3_needed, result.deflate) == (
        HIXIE75, "101 Web Socket Protocol Handshake", False, None)
    assert result.headers == [
        ("Upgrade", "WebSocket"),
        ("Connection", "Upgrade"),
        ("WebSocket-Origin", "http://example.com"),
        ("WebSocket-Location", "ws://example.com/socket.io/websocket"),
        ("WebSocket-Protocol", "sample"),
    ]
    with pytest.raises(ValueError):
        result.answer(KEY3)


def test_legacy_headers_without_origin_or_protocol() -> None:
    assert accepted(environ()).headers == [
        ("Upgrade", "WebSocket"), ("Connection", "Upgrade"),
        ("WebSocket-Location", "ws://example.com/socket.io/websocket"),
    ]
    assert [name for name, _ in accepted(hixie76(ORIGIN=None)).headers] == [
        "Upgrade", "Connection", "Sec-WebSocket-Location"]
    # A hybi-era client may name its origin Sec-WebSocket-Origin.
    result = accepted(hixie76(ORIGIN=None, SEC_WEBSOCKET_ORIGIN="http://a.example"))
    assert ("Sec-WebSocket-Origin", "http://a.example") in result.headers


@pytest.mark.parametrize(
    "extra, location",
    [
        ({}, "ws://example.com/socket.io/websocket"),
        ({"wsgi.url_scheme": "https"}, "wss://example.com/socket.io/websocket"),
        ({"HOST": "example.com:8080"}, "ws://example.com:8080/socket.io/websocket"),
        ({"QUERY_STRING": "t=1&x=y"}, "ws://example.com/socket.io/websocket?t=1&x=y"),
        ({"PATH_INFO": "/socket.io/websocket/12345"}, "ws://example.com/socket.io/websocket/12345"),
        ({"SCRIPT_NAME": "/app"}, "ws://example.com/app/socket.io/websocket"),
        # PATH_INFO is decoded (PEP 3333): re-quote what a browser would.
        ({"PATH_INFO": "/a b/%"}, "ws://example.com/a%20b/%25"),
        ({"PATH_INFO": "/caf\xc3\xa9"}, "ws://example.com/caf%C3%A9"),
        # No Host header: rebuilt from SERVER_NAME/PORT, default port left out.
        ({"HOST": None, "SERVER_PORT": "8000"}, "ws://example.com:8000/socket.io/websocket"),
        ({"HOST": None}, "ws://example.com/socket.io/websocket"),
        ({"HOST": None, "wsgi.url_scheme": "https", "SERVER_PORT": "443"},
         "wss://example.com/socket.io/websocket"),
    ],
)
def test_location(extra: Dict[str, str], location: str) -> None:
    legacy = dict(hixie76(**extra))
    assert ("Sec-WebSocket-Location", location) in accepted(legacy).headers
    assert ("WebSocket-Location", location) in accepted(environ(**extra)).headers


@pytest.mark.parametrize("upgrade", ["websocket", "WebSocket", "WEBSOCKET", "h2c, WebSocket", " websocket "])
@pytest.mark.parametrize("connection", ["Upgrade", "upgrade", "keep-alive, Upgrade", "UPGRADE,close"])
def test_upgrade_and_connection_tokens_are_case_insensitive(upgrade: str, connection: str) -> None:
    assert accepted(rfc(UPGRADE=upgrade, CONNECTION=connection)).dialect == RFC6455
    assert accepted(environ(UPGRADE=upgrade, CONNECTION=connection)).dialect == HIXIE75


# -- refusals ----------------------------------------------------------------


REFUSALS: List[Tuple[str, Dict[str, object], int]] = [
    ("POST", rfc(REQUEST_METHOD="POST"), 405),
    ("HEAD", environ(REQUEST_METHOD="HEAD"), 405),
    ("no Upgrade", rfc(UPGRADE=None), 400),
    ("Upgrade not websocket", rfc(UPGRADE="h2c"), 400),
    ("Upgrade token substring", rfc(UPGRADE="websocketx"), 400),
    ("no Connection", rfc(CONNECTION=None), 400),
    ("Connection without upgrade", rfc(CONNECTION="keep-alive"), 400),
    ("version without key", rfc(SEC_WEBSOCKET_KEY=None), 400),
    ("key not base64", rfc(SEC_WEBSOCKET_KEY="not base64!!"), 400),
    ("key of 15 bytes", rfc(SEC_WEBSOCKET_KEY="AAAAAAAAAAAAAAAAAAAA"), 400),
    ("key of 17 bytes", rfc(SEC_WEBSOCKET_KEY="AAAAAAAAAAAAAAAAAAAAAAA="), 400),
    ("key unpadded", rfc(SEC_WEBSOCKET_KEY="dGhlIHNhbXBsZSBub25jZQ"), 400),
    ("key non-ascii", rfc(SEC_WEBSOCKET_KEY="dGhlIHNhbXBsZSBub25jZQ\xe9="), 400),
    ("only key1", hixie76(SEC_WEBSOCKET_KEY2=None), 400),
    ("only key2", hixie76(SEC_WEBSOCKET_KEY1=None), 400),
    ("draft 0", hixie76(SEC_WEBSOCKET_DRAFT="0"), 400),
    ("draft 4", hixie76(SEC_WEBSOCKET_DRAFT="4"), 400),
    ("CR in origin", hixie76(ORIGIN="http://a\r\nSet-Cookie: x=1"), 400),
    ("LF in protocol", hixie76(SEC_WEBSOCKET_PROTOCOL="a\nb"), 400),
    ("CR in host", environ(HOST="a\rb"), 400),
    ("LF in query", environ(QUERY_STRING="a=\n"), 400),
    ("NUL in origin", environ(ORIGIN="http://a\x00"), 400),
]


@pytest.mark.parametrize("env, status", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals(env: Dict[str, object], status: int) -> None:
    result = refused(env)
    assert result.status == status
    if status == 405:
        assert result.headers == [("Allow", "GET")]
    else:
        assert result.headers == []


@pytest.mark.parametrize("version", ["6", "9", "12", "14", "0", "", "13, 8", "abc"])
def test_other_versions_get_426(version: str) -> None:
    assert refused(rfc(SEC_WEBSOCKET_VERSION=version)) == Refuse(
        426, "unsupported Sec-WebSocket-Version", [("Sec-WebSocket-Version", "13, 8, 7")])


def test_version_decides_alone() -> None:
    # §4.3 precedence: Key1/Key2 and Draft are ignored once a version is sent.
    both = rfc(SEC_WEBSOCKET_KEY1=KEY1, SEC_WEBSOCKET_KEY2=KEY2, SEC_WEBSOCKET_DRAFT="9")
    assert accepted(both).dialect == RFC6455
    assert refused(dict(both, HTTP_SEC_WEBSOCKET_VERSION="99")).status == 426
    assert refused(hixie76(SEC_WEBSOCKET_VERSION="13")).status == 400  # no Sec-WebSocket-Key


def test_draft_without_keys_is_hixie75() -> None:
    # §4.3 precedence as written: Draft only matters together with Key1/Key2.
    assert accepted(environ(SEC_WEBSOCKET_DRAFT="2")).dialect == HIXIE75


def test_method_is_checked_first() -> None:
    assert refused(environ(REQUEST_METHOD="POST", UPGRADE=None)).status == 405


@pytest.mark.parametrize(
    "key, number",
    [
        (KEY1, 829309203),
        (KEY2, 259970620),
        ("1 2", 12),                         # one space: the number itself
        ("0 0", 0),
        ("8589934590  ", 4294967295),        # 2**33 - 2 over 2 spaces: 2**32 - 1
        (" 1\xb2 2", 6),                     # '²' is not an ASCII digit
    ],
)
def test_key_numbers(key: str, number: int) -> None:
    assert key_number(key) == number


@pytest.mark.parametrize(
    "key",
    [
        "12345",                    # no spaces
        "1 2 3",                    # 123 is not a multiple of 2
        "  ",                       # no digits
        "4294967296 ",              # 2**32: does not fit in 32 bits
        "1" * 40 + " ",             # absurdly many digits
        "\u0661 \u0662",            # Arabic-Indic digits are not digits here
    ],
)
def test_bad_keys(key: str) -> None:
    with pytest.raises(ValueError):
        key_number(key)
    result = refused(hixie76(SEC_WEBSOCKET_KEY1=key))
    assert result.status == 400 and result.reason.startswith("bad key")
    assert refused(hixie76(SEC_WEBSOCKET_KEY2=key)).status == 400


@pytest.mark.parametrize("key3", [b"", b"1234567", b"123456789"])
def test_answer_needs_exactly_eight_bytes(key3: bytes) -> None:
    with pytest.raises(ValueError):
        accepted(hixie76()).answer(key3)
    with pytest.raises(ValueError):
        challenge_response(KEY1, KEY2, key3)


# -- permessage-deflate (RFC 7692) -------------------------------------------


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate",
        "permessage-deflate; client_max_window_bits",
        "x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover",
    ],
)
def test_deflate_is_negotiated(offer: str) -> None:
    # The answer and parameters are the deflate module's (RFC 7692); the
    # handshake appends them after the accept header, unchanged.
    agreed = deflate.negotiate(offer)
    assert agreed is not None
    result = accepted(rfc(SEC_WEBSOCKET_EXTENSIONS=offer))
    assert result.headers == [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", RFC_ACCEPT),
        ("Sec-WebSocket-Extensions", agreed[0]),
    ]
    assert result.deflate == agreed[1]
    assert result.headers[-1][1].startswith("permessage-deflate")


@pytest.mark.parametrize("offer", [None, "", "x-webkit-deflate-frame", "permessage-deflate; bogus"])
def test_no_acceptable_deflate_offer(offer: str) -> None:
    result = accepted(rfc(SEC_WEBSOCKET_EXTENSIONS=offer))
    assert [name for name, _ in result.headers] == ["Upgrade", "Connection", "Sec-WebSocket-Accept"]
    assert result.deflate is None


def test_deflate_can_be_turned_off() -> None:
    result = accepted(rfc(SEC_WEBSOCKET_EXTENSIONS="permessage-deflate"), deflate=False)
    assert len(result.headers) == 3 and result.deflate is None


def test_deflate_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    # The offer is passed through as sent, and the answer copied as returned.
    seen: List[str] = []
    params = DeflateParams(client_max_window_bits=9)

    def fake(offer: str, takeover: bool = False) -> Tuple[str, DeflateParams]:
        seen.append(offer)
        return "permessage-deflate; answer", params

    monkeypatch.setattr("socketio_gevent.websocket.deflate.negotiate", fake)
    result = accepted(rfc(SEC_WEBSOCKET_EXTENSIONS="permessage-deflate; x"))
    assert seen == ["permessage-deflate; x"]
    assert result.headers[-1] == ("Sec-WebSocket-Extensions", "permessage-deflate; answer")
    assert result.deflate is params


# -- codecs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, cls",
    [(rfc(), RFC6455Codec), (hixie76(SEC_WEBSOCKET_DRAFT="3"), Hybi03Codec),
     (hixie76(), Hixie76Codec), (environ(), Hixie75Codec)],
)
def test_make_codec(env: Dict[str, object], cls: type) -> None:
    codec = make_codec(accepted(env), 1234)
    assert type(codec) is cls
    assert codec.send_text("hi")  # type: ignore[attr-defined]


def _masked(first: int, payload: bytes) -> bytes:
    """A client frame (RFC 6455 §5.2) with an all-zero mask, payload < 126."""
    return bytes([first, 0x80 | len(payload)]) + bytes(4) + payload


def test_make_codec_passes_the_limit() -> None:
    codec = make_codec(accepted(rfc()), 16)
    codec.receive_data(_masked(0x81, b"a" * 17))  # type: ignore[attr-defined]
    assert [e.code for e in codec.events()] == [1009]  # type: ignore[attr-defined]
    hixie = make_codec(accepted(hixie76()), 4)
    hixie.receive_data(b"\x00hello\xff")  # type: ignore[attr-defined]
    assert [e.code for e in hixie.events()] == [1009]  # type: ignore[attr-defined]


def test_make_codec_passes_deflate() -> None:
    # RFC 7692 §7.2.3.1: "Hello" compressed, sync-flush tail removed, RSV1 set.
    packer = zlib.compressobj(wbits=-15)
    payload = (packer.compress(b"Hello") + packer.flush(zlib.Z_SYNC_FLUSH))[:-4]
    frame = _masked(0xC1, payload)
    codec = make_codec(accepted(rfc(SEC_WEBSOCKET_EXTENSIONS="permessage-deflate")), 1024)
    codec.receive_data(frame)  # type: ignore[attr-defined]
    assert list(codec.events()) == [Text("Hello")]  # type: ignore[attr-defined]
    plain = make_codec(accepted(rfc()), 1024)  # no extension agreed: RSV1 is an error
    plain.receive_data(frame)  # type: ignore[attr-defined]
    assert [e.code for e in plain.events()] == [1002]  # type: ignore[attr-defined]


def test_make_codec_unknown_dialect() -> None:
    with pytest.raises(ValueError):
        make_codec(Accept("hybi99", "101 x", []), 10)


# -- properties and purity ---------------------------------------------------

HEADERS = ["UPGRADE", "CONNECTION", "HOST", "ORIGIN", "SEC_WEBSOCKET_VERSION", "SEC_WEBSOCKET_KEY",
           "SEC_WEBSOCKET_KEY1", "SEC_WEBSOCKET_KEY2", "SEC_WEBSOCKET_DRAFT", "SEC_WEBSOCKET_PROTOCOL",
           "SEC_WEBSOCKET_EXTENSIONS", "WEBSOCKET_PROTOCOL", "QUERY_STRING", "PATH_INFO"]
# Text rich in what the parsers care about; WSGI header values are latin-1 str.
header_values = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=30),
    st.text(alphabet="0123456789 ,;=websocketupgradeWU\r\n", max_size=30),
    st.sampled_from(["websocket", "Upgrade", "13", "8", "2", KEY1, KEY2, RFC_KEY, "permessage-deflate"]),
)


@settings(deadline=None, max_examples=200)
@given(st.fixed_dictionaries({}, optional={name: header_values for name in HEADERS}),
       st.sampled_from(["GET", "POST"]), st.booleans())
def test_negotiate_never_raises(headers: Dict[str, Optional[str]], method: str, use_deflate: bool) -> None:
    result = negotiate(environ(REQUEST_METHOD=method, **headers), deflate=use_deflate)
    assert isinstance(result, (Accept, Refuse))
    if isinstance(result, Accept):
        for name, value in result.headers:
            assert not set(value) & set("\r\n\x00"), (name, value)
        make_codec(result, 100)
    else:
        assert result.status in (400, 405, 426)


def test_modules_do_not_import_gevent() -> None:
    # docs/architecture.rst: the pure layer never imports gevent.
    code = (
        "import sys\n"
        "import socketio_gevent.websocket.handshake, socketio_gevent.websocket.hixie75\n"
        "import socketio_gevent.websocket.hixie76, socketio_gevent.websocket.hybi03\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'gevent'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
