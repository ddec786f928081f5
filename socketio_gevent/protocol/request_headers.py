"""Request headers for pywsgi, read without the ``email`` package.

Why: pywsgi parses every request's headers with ``http.client.parse_headers``,
which hands them to ``email``'s feed parser; a profile of long-polling put
15 % of the server's time there. A long poll is a small request with a
handful of headers, so a direct line reader does the same job at a fraction
of the cost. :class:`RequestHeaders` offers exactly what pywsgi uses of its
header object (``get``, ``getheader``, ``typeheader``, ``headers``,
``status`` and ``del``) plus the parsed pairs.

It follows RFC 7230 §3.2 where ``email`` is lenient: a line without a colon
or with whitespace before the colon makes the request ``400`` (pywsgi
answers a non-empty ``status`` so), an obsolete folded line is joined to
the previous value with a space (§3.2.4), and the limits are
``http.client``'s: 65,536 bytes per line, 100 header lines.

Example::

    headers = RequestHeaders.read(rfile.readline)
    headers.get("content-length")
"""
from __future__ import annotations

from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

MAX_LINE = 65536
MAX_HEADERS = 100
#: The whole header block: one request may hold no more than this (64 KiB,
#: h11's and nginx's order of magnitude), however it is split into lines.
MAX_HEAD = 65536
#: A request line this long or longer is pywsgi's to refuse (414).
MAX_REQUEST_LINE = 8192

Pairs = List[Tuple[str, str]]


class TooManyHeaders(ValueError):
    """More than MAX_HEADERS lines: pywsgi answers any exception here with 400."""


def _framing_problem(pairs: Pairs) -> str:
    """Why the body's length is ambiguous, or "" (RFC 9112 §6.3).

    Two different ``Content-Length`` values, or ``Content-Length`` beside
    ``Transfer-Encoding``, are how requests are smuggled past a proxy that
    reads the other one: refused (400, and the connection closes) as
    nginx and h11 do, never guessed.
    """
    lengths = set()
    chunked = False
    for name, value in pairs:  # once per request: the length test first, it is cheap
        size = len(name)
        if size == 14 and name.lower() == "content-length":
            lengths.add(value)
        elif size == 17 and name.lower() == "transfer-encoding":
            chunked = True
    if not lengths:
        return ""
    if len(lengths) > 1:
        return "Conflicting Content-Length headers"
    if chunked:
        return "Both Content-Length and Transfer-Encoding"
    value = lengths.pop()
    if not (value.isascii() and value.isdigit()):
        return "Content-Length is not a decimal number"
    return ""


class RequestHeaders:
    __slots__ = ("pairs", "status", "_environ", "_index")

    def __init__(self, pairs: Optional[Pairs] = None, status: str = "",
                 index: Optional[Dict[str, str]] = None) -> None:
        #: ``(name as sent, value without surrounding whitespace)``, in order.
        self.pairs: Pairs = pairs if pairs is not None else []
        #: Empty, or why the header block is invalid.
        self.status = status
        self._environ: Optional[Tuple[Tuple[str, str], ...]] = None
        #: Each lower-case name's first value, when the maker built it (:func:`parse_head`).
        self._index = index

    @classmethod
    def read(cls, readline: Callable[[int], bytes]) -> "RequestHeaders":
        """Read header lines up to the empty line that ends them."""
        pairs: Pairs = []
        status = ""
        left = MAX_HEAD
        for _ in range(MAX_HEADERS + 1):
            raw = readline(min(MAX_LINE, left) + 1)
            if len(raw) > MAX_LINE:
                return cls(pairs, "Line too long")
            left -= len(raw)
            if left < 0:  # refused at once: the rest of the block is never read or held
                return cls(pairs, "Request headers over %d bytes" % MAX_HEAD)
            if raw in (b"\r\n", b"\n"):
                return cls(pairs, status or _framing_problem(pairs))
            if not raw.endswith(b"\n"):  # the connection ended inside the header block
                return cls(pairs, "Connection closed before the end of the headers")
            if status:
                continue  # read to the end of the block, then refuse
            line = raw.decode("latin-1").rstrip("\r\n")
            if "\r" in line:  # RFC 9112 §2.2: a bare CR is refused, never passed on
                status = "Bare CR in a header line"
                continue
            if line[:1] in (" ", "\t"):
                if not pairs:
                    status = "Folded line before any header"
                    continue
                name, value = pairs[-1]
                pairs[-1] = (name, (value + " " + line.strip(" \t")).strip(" \t"))
                continue
            name, colon, value = line.partition(":")
            if not colon or not name:
                status = "Header line without a name and ':'"
            elif name != name.rstrip(" \t") or name != name.lstrip(" \t"):
                status = "Whitespace around a header name"
            else:
                pairs.append((name, value.strip(" \t")))
        raise TooManyHeaders("got more than %d headers" % MAX_HEADERS)

    # -- what pywsgi reads -------------------------------------------------
    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of ``name`` (case-insensitive), as ``email`` gives it."""
        wanted = name.lower()
        index = self._index
        if index is not None:
            return index.get(wanted, default)
        for key, value in self.pairs:
            if key.lower() == wanted:
                return value
        return default

    getheader = get

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __delitem__(self, name: str) -> None:
        wanted = name.lower()
        self.pairs = [(k, v) for k, v in self.pairs if k.lower() != wanted]
        self._environ = self._index = None

    @property
    def typeheader(self) -> Optional[str]:
        return self.get("content-type")

    @property
    def headers(self) -> Iterator[str]:
        for key, value in self.pairs:
            yield "%s: %s\r\n" % (key, value)

    def kept_environ_items(self) -> Tuple[Tuple[str, str], ...]:
        """:meth:`environ_items`, made once and kept: a kept-alive
        connection's polls share one headers object (:func:`parse_head`).
        (Only there: an object that serves one request would hold them for
        nothing.)"""
        items = self._environ
        if items is None:
            items = self._environ = tuple(self.environ_items())
        return items

    def environ_items(self) -> Iterator[Tuple[str, str]]:
        """``HTTP_*`` keys as pywsgi makes them: names with ``_`` are dropped
        (they could pose as another header), Content-Type and -Length are
        CGI keys of their own."""
        for key, value in self.pairs:
            if "_" in key:
                continue
            cgi = key.replace("-", "_").upper()
            if cgi not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                yield "HTTP_" + cgi, value


class Head(NamedTuple):
    """A request's line and headers, read from bytes that hold all of them."""

    method: str
    target: str
    version: str
    headers: RequestHeaders
    #: Bytes of the head, its blank line included: the body starts here.
    size: int
    #: The header lines as sent, from the request line's CRLF to the blank
    #: line: a later head with the same bytes has the same headers.
    block: bytes


def parse_head(data: bytes, previous: Optional[Head] = None) -> Optional[Head]:
    """The head at the start of ``data``, when ``data`` holds all of it and it is
    plainly valid; ``None`` otherwise (not yet complete, or anything unusual).

    For a caller that serves only the common case and hands every other
    request to a full HTTP server with the same bytes: ``None`` never says
    why, the full server's answer does. So this accepts only CRLF line ends,
    a three-word request line shorter than :data:`MAX_REQUEST_LINE`, and
    header lines that :meth:`RequestHeaders.read` would accept as they are
    (no folding, no white space around a name, no bare CR or LF, at most
    :data:`MAX_HEADERS`, an unambiguous body length). One decode and one
    split for the whole head: it runs once per long poll.

    ``previous``: the head read before on the same connection. A client's
    polls repeat their header lines byte for byte and differ in the request
    line only (its timestamp), so when the lines are the same bytes, only
    the request line is read and the headers are ``previous``'s (the same
    object: callers do not change it).
    """
    end = data.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
    if end < 0:
        return None
    if previous is not None:
        line_end = data.find(b"\r\n", 0, end + 2)  # found: at ``end`` if nothing else
        block = data[line_end:end]
        if block == previous.block:
            words = _request_line(data[:line_end].decode("latin-1"))
            if words is None:
                return None
            return Head(words[0], words[1], words[2], previous.headers, end + 4, block)
    lines = data[:end].decode("latin-1").split("\r\n")
    line = lines[0]
    words = _request_line(line)
    if words is None or len(lines) > MAX_HEADERS + 1:
        return None
    pairs: Pairs = []
    index: Dict[str, str] = {}  # (looked up several times per request, and kept for the next ones)
    for i in range(1, len(lines)):
        text = lines[i]
        name, colon, value = text.partition(":")
        if not colon or not name or "\r" in text or "\n" in text or name != name.strip(" \t"):
            return None
        value = value.strip(" \t")
        pairs.append((name, value))
        index.setdefault(name.lower(), value)
    if _framing_problem(pairs):
        return None
    return Head(words[0], words[1], words[2], RequestHeaders(pairs, "", index), end + 4, data[len(line):end])


def _request_line(line: str) -> Optional[List[str]]:
    """The three words of a request line written plainly, or None."""
    words = line.split()
    if (len(words) != 3 or len(line) >= MAX_REQUEST_LINE
            or " ".join(words) != line):  # one space apart, no other white space
        return None
    return words
