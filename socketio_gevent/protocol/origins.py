"""Origin checks (docs/protocol.rst §6), pure: a WSGI environ in, a verdict out.

Why it is this careful: every transport can be driven cross-site by a hostile
page (a ``<script>`` tag for JSONP, an ``<iframe>`` for htmlfile, a
``WebSocket``), and a browser carries the user's cookies with each. So the
default allows only the page's own origin, and requests that carry no
``Origin`` are judged by ``Sec-Fetch-Site`` and ``Referer`` instead.

Example::

    policy = OriginPolicy(["*.example.com:*"])
    policy.check(environ)        # -> Verdict(allowed=True, origin="https://a.example.com")
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
#: Answers an :class:`OriginPolicy` keeps at most; past it, it starts again.
MAX_KNOWN = 256
#: The longest origin and host (together, in characters) whose answer is
#: kept: a header may be 64 KiB, and 256 of those would be 16 MiB held.
MAX_KNOWN_KEY = 512


class Verdict(NamedTuple):
    allowed: bool
    #: The request's ``Origin`` header when it is allowed and may be echoed
    #: back in CORS headers; ``None`` otherwise.
    origin: Optional[str]
    #: May the answer allow credentials (cookies)? Only for an origin the
    #: configuration names: never under ``*:*``, never for ``null``.
    credentials: bool = True


def split_origin(origin: str) -> Optional[Tuple[str, int]]:
    """``"https://Example.com"`` -> ``("example.com", 443)``; ``None`` if unusable."""
    try:
        parts = urlsplit(origin.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host or parts.scheme not in _DEFAULT_PORTS:
        return None
    return host.lower(), port if port is not None else _DEFAULT_PORTS[parts.scheme]


def _split_host_header(host: str, scheme: str) -> Optional[Tuple[str, int]]:
    return split_origin("%s://%s" % (scheme if scheme in _DEFAULT_PORTS else "http", host))


def _compile(pattern: str) -> "re.Pattern[str]":
    if ":" not in pattern:
        pattern += ":*"
    host, _, port = pattern.rpartition(":")
    regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in host.lower())
    port_regex = "[0-9]+" if port == "*" else re.escape(port)
    return re.compile("%s:%s" % (regex, port_regex))


class OriginPolicy:
    """Decides whether a request comes from an allowed origin.

    ``origins`` is ``None`` (same origin as the ``Host`` header), ``"*:*"``
    (everyone) or a list of ``host:port`` patterns with ``*`` wildcards.
    """

    def __init__(self, origins: Union[str, Sequence[str], None] = None) -> None:
        if isinstance(origins, str):
            origins = [p for p in origins.replace(",", " ").split() if p]
        self.allow_all = origins is not None and "*:*" in origins
        self.same_origin_only = origins is None
        self.patterns: List[str] = list(origins or [])
        self._regexes = [_compile(p) for p in self.patterns]
        #: Answers already worked out, by ``(origin, host, scheme)``: a
        #: long-polling browser asks the same question at every poll, and
        #: parsing two URLs costs more than the rest of the check.
        self._known: Dict[Tuple[str, str, str], bool] = {}

    def _allows(self, origin: str, environ: Mapping[str, Any]) -> bool:
        if self.allow_all:
            return True
        host = environ.get("HTTP_HOST", "") if self.same_origin_only else ""
        key = (origin, host, environ.get("wsgi.url_scheme", "http"))
        known = self._known.get(key)
        if known is not None:
            return known
        known = self._decide(*key)
        if len(origin) + len(host) <= MAX_KNOWN_KEY:  # (the origins are the clients' to choose)
            if len(self._known) >= MAX_KNOWN:
                self._known.clear()
            self._known[key] = known
        return known

    def _decide(self, origin: str, host: str, scheme: str) -> bool:
        hp = split_origin(origin)
        if hp is None:
            return False
        if self.same_origin_only:
            own = _split_host_header(host, scheme)
            return own is not None and own == hp
        text = "%s:%d" % hp
        return any(r.fullmatch(text) for r in self._regexes)

    def check(self, environ: Mapping[str, Any]) -> Verdict:
        origin: Optional[str] = environ.get("HTTP_ORIGIN") or environ.get("HTTP_SEC_WEBSOCKET_ORIGIN")
        if origin:
            ok = self._allows(origin, environ)
            return Verdict(ok, origin if ok else None, not self.allow_all and origin != "null")
        referer: Optional[str] = environ.get("HTTP_REFERER")
        site = environ.get("HTTP_SEC_FETCH_SITE", "").lower()
        if site in ("cross-site", "same-site"):
            return Verdict(referer is not None and self._allows(referer, environ), None)
        if referer:
            return Verdict(self._allows(referer, environ), None)
        return Verdict(True, None)

    def policy_domains(self) -> List[str]:
        """Hosts for the Flash policy file (§4.4): ``["*"]`` unless patterns restrict them."""
        if self.allow_all or self.same_origin_only:
            return ["*"]
        hosts: List[str] = []
        for p in self.patterns:
            host = p.rpartition(":")[0] if ":" in p else p
            if host not in hosts:
                hosts.append(host)
        return hosts
