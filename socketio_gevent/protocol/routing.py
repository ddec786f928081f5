"""Which request is ours, and what it asks for (docs/protocol.rst §3), pure.

``/<resource>/<transport>/<sid>/<rest…>`` becomes a :class:`Route`; a path
outside the resource, or naming a transport we do not know, is ``None`` so
the middleware hands it to the wrapped application untouched.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

from .options import ALL_TRANSPORTS

CLIENT_SCRIPT = "socket.io.js"
_KNOWN = frozenset(ALL_TRANSPORTS)


class Route(NamedTuple):
    #: A transport name, or ``"static"`` for the browser client.
    transport: str
    #: The session id; ``""`` opens a new session.
    sid: str
    #: The segments after the sid (timestamps, a JSONP index, ``send``).
    rest: Tuple[str, ...]


def under(path: str, resource: str) -> bool:
    """Is ``path`` inside ``/<resource>/`` (ours, whatever follows)?"""
    return path.startswith("/" + resource + "/") or path == "/" + resource


def parse(path: str, resource: str) -> Optional[Route]:
    prefix = "/" + resource
    if not path.startswith(prefix):
        return None
    tail = path[len(prefix):]
    if not tail.startswith("/"):
        return None
    parts = tail[1:].split("/")
    head = parts[0]
    if head == CLIENT_SCRIPT and len(parts) == 1:
        return Route("static", "", ())
    if head not in _KNOWN:
        return None
    sid = parts[1] if len(parts) > 1 else ""
    return Route(head, sid, tuple(parts[2:]))
