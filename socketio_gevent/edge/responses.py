"""WSGI responses and request bodies, shared by the middleware and the transports.

Every refusal goes out through :func:`error` so that a client, a proxy log
and a person reading either all see the same one-line reason.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import gevent

from ..protocol.errors import ProtocolError

Headers = List[Tuple[str, str]]
StartResponse = Callable[..., Any]

REASONS = {
    200: "OK",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    426: "Upgrade Required",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def busy(start_response: StartResponse) -> Iterable[bytes]:
    """``max_sessions`` are live: come back later (503 with ``Retry-After``)."""
    return error(start_response, 503, "too many sessions: try again later", [("Retry-After", "5")])


#: The status lines, made once: one is formatted per answer otherwise.
_STATUS_LINES = {code: "%d %s" % (code, reason) for code, reason in REASONS.items()}


def status_line(code: int) -> str:
    line = _STATUS_LINES.get(code)
    return line if line is not None else "%d Unknown" % code


def respond(
    start_response: StartResponse,
    code: int,
    headers: Headers,
    body: bytes = b"",
) -> Iterable[bytes]:
    start_response(status_line(code), headers)
    return [body] if body else []


def error(
    start_response: StartResponse,
    code: int,
    reason: str,
    headers: Optional[Headers] = None,
) -> Iterable[bytes]:
    body = (reason + "\n").encode("utf-8")
    all_headers = [
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("Content-Length", str(len(body))),
        ("X-Content-Type-Options", "nosniff"),
    ] + list(headers or [])
    return respond(start_response, code, all_headers, body)


#: Set in an environ whose ``wsgi.input`` keeps the body's deadline itself
#: (the lean path's, on its connection's timer): :func:`read_body` adds none.
TIMED_INPUT_KEY = "socketio_gevent.timed_input"


class BodyTooLarge(Exception):
    """A request body over ``max_message_size``: answered ``413``."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class BodyTimeout(Exception):
    """The body did not arrive within its deadline (it is answered 408 and closed)."""


def read_body(environ: Dict[str, Any], limit: int, timeout: Optional[float] = None) -> bytes:
    """The request body, at most ``limit`` bytes, all of it within ``timeout`` seconds.

    A declared ``Content-Length`` over the limit is refused before reading
    (:class:`BodyTooLarge`); a malformed one, or broken chunked framing, is
    a :class:`ProtocolError`; a body that stops half-way is
    :class:`BodyTimeout` once the deadline passes (the whole body, not each
    read: one byte every few seconds must not hold a connection for ever).
    Socket errors propagate as ``OSError``.
    """
    if timeout is None or environ.get(TIMED_INPUT_KEY):
        return _read_body(environ, limit)
    deadline = gevent.Timeout(timeout, BodyTimeout)
    deadline.start()
    try:
        return _read_body(environ, limit)
    finally:
        deadline.cancel()


def _read_body(environ: Dict[str, Any], limit: int) -> bytes:
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        if not (declared.isascii() and declared.isdigit()):
            raise ProtocolError("invalid Content-Length")
        length = int(declared)
        if length > limit:
            raise BodyTooLarge(length)
        return _read(environ, length)
    body = _read(environ, limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(len(body))
    return body


def _read(environ: Dict[str, Any], size: int) -> bytes:
    try:
        data: bytes = environ["wsgi.input"].read(size)
    except ValueError as exc:  # pywsgi's answer to bad chunk headers
        raise ProtocolError("malformed request body: %s" % exc) from None
    return data
