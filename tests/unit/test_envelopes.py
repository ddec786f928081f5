"""Exact bytes of the polling envelopes and helpers (docs/protocol.rst §3, §4.1, §4.2)."""
from __future__ import annotations

import pytest

from socketio_gevent.protocol.framing import ProtocolError
from socketio_gevent.protocol.outbox import ITEM_COST, BinaryMessage, Outbox, QueueFull, as_text
from socketio_gevent.protocol.session import Heartbeats
from socketio_gevent.protocol.routing import Route, parse
from socketio_gevent.transports import jsonp_polling, xhr_polling
from socketio_gevent.transports.common import json_string, parse_form, preflight_headers


def test_json_string_escapes_what_could_end_a_script():
    assert json_string('</script><!--&"\u2028\u2029😀') == (
        '"\\u003c/script\\u003e\\u003c!--\\u0026\\"\\u2028\\u2029😀"'
    )


def test_xhr_polling_response_counts_utf8_bytes():
    headers, body = xhr_polling.response("1:3::😀,")
    assert body == "1:3::😀,".encode("utf-8")
    assert ("Content-Length", "10") in headers
    assert ("Content-Type", "text/plain; charset=UTF-8") in headers


def test_jsonp_response_and_index():
    headers, body = jsonp_polling.response(12, "3:2:ab,")
    assert body == b'io.JSONP[12]._("3:2:ab,");'
    assert ("Content-Type", "text/javascript; charset=UTF-8") in headers
    assert jsonp_polling.parse_index("007") == 7
    for bad in ("", "a", "1.0", "-1", "１", "1" * 10):
        with pytest.raises(ProtocolError):
            jsonp_polling.parse_index(bad)


def test_jsonp_form_fields():
    assert jsonp_polling.payload_from_jsonp_form({"d": '"1:3::a\\n,"'}) == "1:3::a\n,"
    assert jsonp_polling.payload_from_jsonp_form({"data": "1:3::a\r\n,"}) == "1:3::a\n,"
    for bad in ({"d": "not json"}, {"d": "[1]"}, {}):
        with pytest.raises(ProtocolError):
            jsonp_polling.payload_from_jsonp_form(bad)


def test_parse_form():
    assert parse_form(b"data=1%3A2%3A%3Ax%2C&data=ignored") == {"data": "1:2::x,"}
    assert parse_form(b"data=%F0%9F%98%80+x") == {"data": "😀 x"}
    with pytest.raises(ProtocolError):
        parse_form(b"data=%ff")
    with pytest.raises(ProtocolError):
        parse_form("data=é".encode("utf-8"))


def test_preflight_headers():
    assert preflight_headers("https://a", " X-A ") == [
        ("Access-Control-Allow-Origin", "https://a"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Vary", "Origin"),
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
        ("Access-Control-Max-Age", "86400"),
        ("Access-Control-Allow-Headers", "X-A"),
    ]


def test_routing():
    assert parse("/socket.io/xhr-polling//123", "socket.io") == Route("xhr-polling", "", ("123",))
    assert parse("/socket.io/jsonp-polling/abc/1/2", "socket.io") == Route("jsonp-polling", "abc", ("1", "2"))
    assert parse("/socket.io/websocket", "socket.io") == Route("websocket", "", ())
    assert parse("/socket.io/socket.io.js", "socket.io") == Route("static", "", ())
    assert parse("/socket.io/unknown/x", "socket.io") is None
    assert parse("/socket.iox/xhr-polling", "socket.io") is None
    assert parse("/other/xhr-polling", "socket.io") is None
    assert parse("/rt/xhr-polling/s", "rt") == Route("xhr-polling", "s", ())


def test_outbox_bounds_and_order():
    box = Outbox(max_messages=3, max_bytes=10 + 3 * ITEM_COST)
    box.put("1:1::,")
    box.put(BinaryMessage(b"ab"))
    with pytest.raises(QueueFull, match="max_queue_bytes"):
        box.put("x" * 3)  # 6 + 2 + 3 characters and three items: one byte over
    box.put("1")
    with pytest.raises(QueueFull, match="max_queue_messages"):
        box.put("2")
    box.put("0:0:,", bounded=False)
    items = box.take()
    assert items == ["1:1::,", BinaryMessage(b"ab"), "1", "0:0:,"] and not box
    assert as_text(items) == "1:1::,1:7:b\n:YWI=,10:0:,"


def test_outbox_weighs_each_item_so_tiny_ones_cannot_pile_up_for_free():
    box = Outbox(max_messages=None, max_bytes=100 * (ITEM_COST + 1))
    for _ in range(100):
        box.put("x")
    with pytest.raises(QueueFull, match=r"max_queue_bytes \(6500\)"):
        box.put("")  # an empty item still costs its slot
    assert len(box) == 100 and box.max_messages > 10 ** 9  # no count bound unless asked


def test_heartbeats_count_from_one_and_ignore_wrong_or_stale_echoes():
    hb = Heartbeats()
    assert hb.beat() == "2:1:1,"
    assert not hb.echo("0") and not hb.echo("2") and not hb.echo("x") and hb.awaiting == "1"
    assert hb.overdue(1)
    assert hb.echo("1") and hb.awaiting is None and not hb.overdue(1)
    assert not hb.echo("1")  # stale
    assert hb.beat() == "2:1:2,"
    assert hb.beat() == "2:1:3,"
    assert hb.echo("3") and not hb.overdue(2)  # answers the earlier one too
    assert not hb.echo("2")


# -- streaming envelopes (§4.5-4.7) -------------------------------------------
from socketio_gevent.transports import htmlfile, server_events, xhr_multipart  # noqa: E402


def test_htmlfile_envelope():
    assert htmlfile.prelude() == b"<html><body>" + b" " * 244 and len(htmlfile.prelude()) == 256
    assert htmlfile.chunk("s", "1:9::</script>,") == (
        b'<script>parent.s._("1:9::\\u003c/script\\u003e,", document);</script>'
    )
    assert htmlfile.parse_callback("") == "s"
    assert htmlfile.parse_callback("c=io.x_1&t=5") == "io.x_1"
    for bad in ("c=", "c=a-b", "c=" + "x" * 65, "c=a&c=b", "c=%3C"):
        with pytest.raises(ProtocolError):
            htmlfile.parse_callback(bad)


def test_xhr_multipart_envelope():
    assert xhr_multipart.PRELUDE == b"--socketio\n"
    assert xhr_multipart.part("1:2::é,") == "Content-Type: text/plain\n\n1:2::é,\n--socketio\n".encode()
    assert ("Content-Type", 'multipart/x-mixed-replace;boundary="socketio"') in xhr_multipart.headers()


def test_server_events_envelope():
    prelude = server_events.prelude()
    assert len(prelude) == 2048 and prelude.startswith(b": ") and prelude.endswith(b" \n\n")
    assert server_events.event("1:3::a\nb,") == b'data: "1:3::a\\nb,"\n\n'
    assert server_events.event("\u2028<") == b'data: "\\u2028\\u003c"\n\n'
