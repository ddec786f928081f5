"""The Flash policy server on port 843 and the inline answer's text (§4.4).

One policy server per port per process, answering for every listener in it:
a second ``listen()`` adds its ports and origins to the same server instead
of failing to bind. Binding 843 needs privilege; a failure is logged once
and is not fatal, because the main port answers policy requests inline too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Set

import gevent
from gevent.server import StreamServer

from .policy import POLICY_REQUEST, policy_reply

if TYPE_CHECKING:  # pragma: no cover
    from .listener import Listener

_services: Dict[int, "PolicyService"] = {}
_failed_ports: Set[int] = set()


def reply_for(listeners: List["Listener"]) -> bytes:
    domains: List[str] = []
    ports: List[str] = []
    for listener in listeners:
        policy = listener.origin_policy
        domains.extend(policy.policy_domains())
        port = getattr(listener.server, "server_port", None)
        ports.append("*" if policy.allow_all or not port else str(port))
    return policy_reply(domains or ["*"], ports or ["*"])


class PolicyService:
    def __init__(self, host: str, port: int) -> None:
        self.listeners: List["Listener"] = []
        self.server = StreamServer((host, port), self._handle)
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.server_port

    def _handle(self, sock, address) -> None:  # type: ignore[no-untyped-def]
        timeout = min((l.options.handshake_timeout for l in self.listeners), default=10.0)
        try:
            data = b""
            with gevent.Timeout(timeout, False):
                while len(data) < len(POLICY_REQUEST) and POLICY_REQUEST.startswith(data):
                    chunk = sock.recv(len(POLICY_REQUEST) - len(data))
                    if not chunk:
                        break
                    data += chunk
            if data == POLICY_REQUEST:
                sock.sendall(reply_for(self.listeners))
        except OSError:
            pass
        finally:
            sock.close()


def register(listener: "Listener") -> Optional[PolicyService]:
    """Serve the policy for ``listener``; ``None`` when the port cannot be bound."""
    port = listener.options.flash_policy_port
    service = _services.get(port)
    if service is None:
        host = "0.0.0.0"
        address = getattr(listener.server, "address", None)
        if isinstance(address, tuple) and address and address[0]:
            host = address[0]
        try:
            service = PolicyService(host, port)
        except OSError as exc:
            if port not in _failed_ports:
                _failed_ports.add(port)
                listener.log.warning(
                    "flash policy server not started on port %d: %s (policy requests are still answered inline on the main port)",
                    port, exc,
                )
            return None
        _services[service.port] = service
    service.listeners.append(listener)
    return service


def unregister(listener: "Listener", service: Optional[PolicyService]) -> None:
    if service is None:
        return
    if listener in service.listeners:
        service.listeners.remove(listener)
    if not service.listeners:
        service.server.stop()
        for port, known in list(_services.items()):
            if known is service:
                del _services[port]
