"""Serves the browser client at ``/<resource>/socket.io.js`` (docs/protocol.rst §8).

The file is read and hashed once per process; the ETag lets browsers keep it
and revalidate with a ``304`` instead of downloading it on every page load.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, Iterable, Optional, Tuple

from . import responses

CLIENT_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static", "socket.io.js")
_cache: Optional[Tuple[bytes, str]] = None


def _load() -> Optional[Tuple[bytes, str]]:
    global _cache
    if _cache is None:
        try:
            with open(CLIENT_PATH, "rb") as f:
                body = f.read()
        except OSError:
            return None
        _cache = (body, '"%s"' % hashlib.sha256(body).hexdigest()[:32])
    return _cache


def serve(environ: Dict[str, Any], start_response: responses.StartResponse) -> Iterable[bytes]:
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        return responses.error(start_response, 405, "method not allowed", [("Allow", "GET, HEAD")])
    loaded = _load()
    if loaded is None:
        return responses.error(start_response, 404, "browser client not installed")
    body, etag = loaded
    headers = [("ETag", etag), ("Cache-Control", "no-cache")]
    match = environ.get("HTTP_IF_NONE_MATCH", "")
    if etag in [m.strip() for m in match.split(",")] or match.strip() == "*":
        return responses.respond(start_response, 304, headers)
    headers += [
        ("Content-Type", "application/javascript; charset=UTF-8"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Length", str(len(body))),
    ]
    if environ.get("REQUEST_METHOD") == "HEAD":
        return responses.respond(start_response, 200, headers)
    return responses.respond(start_response, 200, headers, body)
