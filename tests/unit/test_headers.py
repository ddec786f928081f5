"""socketio_gevent.protocol.request_headers on exact byte vectors, and against http.client."""
from __future__ import annotations

import io
from http import client

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_gevent.protocol.request_headers import MAX_HEADERS, RequestHeaders, TooManyHeaders, parse_head


def read(data: bytes) -> RequestHeaders:
    return RequestHeaders.read(io.BytesIO(data).readline)


def test_a_poll_request_block():
    h = read(b"Host: 127.0.0.1:8000\r\nConnection: keep-alive\r\nCookie: a=1\r\n\r\nBODY")
    assert h.status == ""
    assert h.pairs == [("Host", "127.0.0.1:8000"), ("Connection", "keep-alive"), ("Cookie", "a=1")]
    assert h.get("host") == "127.0.0.1:8000" and h.getheader("CONNECTION") == "keep-alive"
    assert h.get("content-length") is None and h.get("x", "d") == "d"
    assert list(h.headers) == ["Host: 127.0.0.1:8000\r\n", "Connection: keep-alive\r\n", "Cookie: a=1\r\n"]


def test_the_reader_stops_at_the_empty_line():
    stream = io.BytesIO(b"A: 1\r\n\r\nrest")
    RequestHeaders.read(stream.readline)
    assert stream.read() == b"rest"


def test_bare_lf_lines_and_surrounding_whitespace():
    h = read(b"A:   spaced \t\nB:\n\n")
    assert h.pairs == [("A", "spaced"), ("B", "")]


def test_first_value_wins_for_get_and_every_value_reaches_the_environ():
    h = read(b"X-A: 1\r\nx-a: 2\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nX_Evil: 1\r\n\r\n")
    assert h.get("X-A") == "1"
    assert h.typeheader == "text/plain"
    assert list(h.environ_items()) == [("HTTP_X_A", "1"), ("HTTP_X_A", "2")]


def test_delete_removes_every_copy():
    h = read(b"Content-Length: 3\r\ncontent-length: 4\r\nA: b\r\n\r\n")
    del h["content-length"]
    assert h.pairs == [("A", "b")] and "content-length" not in h and "a" in h


def test_obsolete_folding_is_joined_with_a_space():
    h = read(b"A: one\r\n  two\r\n\tthree\r\nB: x\r\n\r\n")
    assert h.pairs == [("A", "one two three"), ("B", "x")]


@pytest.mark.parametrize("block, reason", [
    (b"no colon here\r\n\r\n", "Header line without a name and ':'"),
    (b": no name\r\n\r\n", "Header line without a name and ':'"),
    (b"Host : x\r\n\r\n", "Whitespace around a header name"),
    (b" folded: first\r\n\r\n", "Folded line before any header"),
])
def test_malformed_lines_make_a_status(block, reason):
    h = read(block)
    assert h.status == reason


def test_limits_are_http_clients():
    assert read(b"A: " + b"x" * 65600 + b"\r\n\r\n").status == "Line too long"
    ok = b"".join(b"H%d: v\r\n" % i for i in range(MAX_HEADERS)) + b"\r\n"
    assert len(read(ok).pairs) == MAX_HEADERS
    with pytest.raises(TooManyHeaders):
        read(b"".join(b"H%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n")


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC-0123456789", min_size=1, max_size=12)
values = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=20)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(names, values), max_size=12))
def test_well_formed_blocks_read_as_http_client_reads_them(pairs):
    block = b"".join(("%s: %s\r\n" % p).encode("latin-1") for p in pairs) + b"\r\n"
    ours = read(block)
    theirs = client.parse_headers(io.BytesIO(block))
    assert ours.status == ""
    # optional whitespace is SP / HTAB only (RFC 7230 §3.2.3): U+00A0 stays
    assert ours.pairs == [(k, v.strip(" \t")) for k, v in theirs.items()]
    for name, _ in pairs:
        assert ours.get(name) == theirs.get(name).strip(" \t")


def test_a_block_cut_short_by_the_end_of_the_connection_is_refused():
    """Bytes then EOF, before the blank line: not a request (it was cut)."""
    for cut in (b"Host: x\r\nContent-Length: ", b"Host: x\r\n", b""):
        headers = read(cut)
        assert headers.status == "Connection closed before the end of the headers", cut


def test_the_whole_header_block_is_bounded_not_just_each_line():
    from socketio_gevent.protocol.request_headers import MAX_HEAD

    line = b"X-Big: " + b"a" * 16000 + b"\r\n"
    fits = line * (MAX_HEAD // len(line)) + b"\r\n"
    assert read(fits).status == ""
    over = line * (MAX_HEAD // len(line) + 1) + b"\r\n"
    assert read(over).status == "Request headers over %d bytes" % MAX_HEAD


# -- parse_head: a whole head from bytes (the loop's keep-alive path) ----------

POLL = (b"GET /socket.io/xhr-polling/abc/1?t=5 HTTP/1.1\r\nHost: example.com\r\n"
        b"Origin: http://example.com\r\n\r\n")


def test_parse_head_reads_a_whole_poll_and_says_where_its_body_starts():
    head = parse_head(POLL + b"rest")
    assert head is not None
    assert (head.method, head.target, head.version, head.size) == (
        "GET", "/socket.io/xhr-polling/abc/1?t=5", "HTTP/1.1", len(POLL))
    assert head.headers.pairs == [("Host", "example.com"), ("Origin", "http://example.com")]


def test_parse_head_reads_a_head_without_headers():
    head = parse_head(b"GET / HTTP/1.1\r\n\r\n")
    assert head is not None and head.headers.pairs == [] and head.size == 18


@pytest.mark.parametrize("cut", [1, 20, len(POLL) - 2, len(POLL) - 1])
def test_parse_head_waits_for_the_blank_line(cut):
    assert parse_head(POLL[:cut]) is None


@pytest.mark.parametrize("data", [
    b"GET /a HTTP/1.1\n\n",  # bare LF line ends
    b"GET /a\r\n\r\n",  # two words (HTTP/0.9)
    b"GET  /a HTTP/1.1\r\n\r\n",  # two spaces
    b"GET\t/a HTTP/1.1\r\n\r\n",  # a tab
    b"GET /a\x0bb HTTP/1.1\r\n\r\n",  # white space that str.split() splits on, inside the target
    b"GET /a HTTP/1.1 x\r\n\r\n",  # four words
    b"\r\nGET /a HTTP/1.1\r\n\r\n",  # an empty line first
    b"GET /a HTTP/1.1\r\nHost x\r\n\r\n",  # a header line without a colon
    b"GET /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",  # conflicting lengths
    b"GET /a HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n",  # too many headers
    b"GET /" + b"a" * 8192 + b" HTTP/1.1\r\n\r\n",  # a request line over MAX_REQUEST_LINE
])
def test_parse_head_leaves_anything_unusual_to_the_full_server(data):
    assert parse_head(data) is None


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(names, values), max_size=12))
def test_parse_head_reads_well_formed_heads_as_the_full_reader_does(pairs):
    block = b"".join(("%s: %s\r\n" % p).encode("latin-1") for p in pairs) + b"\r\n"
    full = read(block)
    head = parse_head(b"POST /x?y HTTP/1.1\r\n" + block)
    if full.status:  # (two different Content-Length values, say)
        assert head is None
    else:
        assert head is not None and head.headers.pairs == full.pairs
        for name, _ in pairs + [("absent", "")]:  # its index gives what the full reader's scan gives
            assert head.headers.get(name.upper(), "-") == full.get(name, "-")
        if pairs:
            del head.headers[pairs[0][0]]
            del full[pairs[0][0]]
            assert [head.headers.get(name) for name, _ in pairs] == [full.get(name) for name, _ in pairs]


@pytest.mark.parametrize("line", [b" folded", b"\tfolded: x", b"Name : x", b" Name: x", b": x", b"A\rB: x",
                                  b"A: b\rc", b"A: b\nc"])
def test_parse_head_leaves_lines_the_full_reader_refuses_or_folds_to_it(line):
    assert parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n" + line + b"\r\n\r\n") is None


# -- parse_head with the connection's previous head ---------------------------

NEXT_POLL = POLL.replace(b"/1?t=5 ", b"/2?t=6 ")


def test_a_poll_with_the_same_header_lines_shares_the_previous_heads_headers():
    first = parse_head(POLL)
    assert first is not None and first.block == b"\r\nHost: example.com\r\nOrigin: http://example.com"
    head = parse_head(NEXT_POLL + b"rest", first)
    assert head is not None and head.headers is first.headers
    assert (head.method, head.target, head.version, head.size, head.block) == (
        "GET", "/socket.io/xhr-polling/abc/2?t=6", "HTTP/1.1", len(NEXT_POLL), first.block)


def test_other_header_lines_are_read_afresh():
    first = parse_head(POLL)
    other = NEXT_POLL.replace(b"Host: example.com", b"Host: example.org")
    head = parse_head(other, first)
    assert head is not None and head.headers is not first.headers
    assert head.headers.get("host") == "example.org"


@pytest.mark.parametrize("line", [b"GET  /a HTTP/1.1", b"GET /a", b"GET /a\nX: y HTTP/1.1", b"GET /a\rb HTTP/1.1",
                                  b"GET /" + b"a" * 8192 + b" HTTP/1.1"])
def test_the_same_header_lines_under_an_unusual_request_line_go_to_the_full_server(line):
    first = parse_head(POLL)
    data = line + POLL[POLL.index(b"\r\n"):]
    assert parse_head(data) is None and parse_head(data, first) is None


def test_kept_environ_items_are_made_once_and_follow_a_deletion():
    h = read(b"Host: a\r\nX-A: 1\r\n\r\n")
    assert h.kept_environ_items() is h.kept_environ_items() == (("HTTP_HOST", "a"), ("HTTP_X_A", "1"))
    del h["x-a"]
    assert h.kept_environ_items() == tuple(h.environ_items()) == (("HTTP_HOST", "a"),)


heads = st.lists(st.tuples(names, values), max_size=4).map(
    lambda pairs: b"".join(("%s: %s\r\n" % p).encode("latin-1") for p in pairs))


@settings(deadline=None, max_examples=200)
@given(heads, heads, st.sampled_from([b"GET /a HTTP/1.1", b"POST /b?c HTTP/1.1", b"GET  /a HTTP/1.1", b"GET /a"]))
def test_a_previous_head_never_changes_what_is_read(first_block, block, line):
    first = parse_head(b"GET /x HTTP/1.1\r\n" + first_block + b"\r\n")
    data = line + b"\r\n" + block + b"\r\n"
    alone, after = parse_head(data), parse_head(data, first)
    if alone is None:
        assert after is None
    else:
        assert after is not None and after._replace(headers=None) == alone._replace(headers=None)
        assert after.headers.pairs == alone.headers.pairs
