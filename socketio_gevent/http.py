"""Small WSGI helpers shared by the middleware and the runners.

Every refusal goes out through :func:`error` so that a client, a proxy log
and a person reading either all see the same one-line reason.
"""
from __future__ import annotations

from typing import Callable, Iterable, List, Optional, Tuple

Headers = List[Tuple[str, str]]
StartResponse = Callable[..., object]

REASONS = {
    200: "OK",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    426: "Upgrade Required",
    501: "Not Implemented",
}


def status_line(code: int) -> str:
    return "%d %s" % (code, REASONS.get(code, "Unknown"))


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
    ] + list(headers or [])
    return respond(start_response, code, all_headers, body)


class BodyTooLarge(Exception):
    pass


def read_body(environ: dict, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes; larger raises :class:`BodyTooLarge`.

    A declared ``Content-Length`` over the limit is refused before reading.
    """
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH")
    if declared:
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            raise ValueError("invalid Content-Length")
        if length > limit:
            raise BodyTooLarge(length)
        return stream.read(length)
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(len(body))
    return body
