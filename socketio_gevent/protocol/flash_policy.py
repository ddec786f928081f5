"""The Flash socket policy (docs/protocol.rst §4.4), pure.

A Flash client asks ``<policy-file-request/>\\0`` before it opens a socket,
first on port 843 and then on the port it wants. The answer names which
domains may connect to which ports, then one NUL byte.
"""
from __future__ import annotations

from typing import Iterable
from xml.sax.saxutils import quoteattr

POLICY_REQUEST = b"<policy-file-request/>\x00"


def policy_reply(domains: Iterable[str], ports: Iterable[str]) -> bytes:
    port_list = sorted(set(str(p) for p in ports), key=lambda p: (p != "*", p))
    to_ports = "*" if "*" in port_list or not port_list else ",".join(port_list)
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE cross-domain-policy SYSTEM "http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd">',
        "<cross-domain-policy>",
    ]
    seen = set()
    for domain in domains:
        if domain not in seen:
            seen.add(domain)
            lines.append("<allow-access-from domain=%s to-ports=%s/>" % (quoteattr(domain), quoteattr(to_ports)))
    lines.append("</cross-domain-policy>")
    return ("\n".join(lines) + "\n").encode("utf-8") + b"\x00"
