"""The Flash policy server on port 843 (docs/protocol.rst §4.4).

One policy server per port per process, answering for every listener
registered with it: a second ``listen()`` adds its port and origins to the
same server instead of failing to bind. Binding 843 needs privilege; a
failure is logged once per port and is not fatal, because the main port
answers policy requests inline too (``socketio_gevent.edge.handler``).

Whoever starts serving the policy for a listener owns that: :func:`serve`
returns the function that stops it (``listen()`` calls it when the
listener closes).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

import gevent
from gevent.server import StreamServer

from ..protocol.flash_policy import POLICY_REQUEST, policy_reply
from ..protocol.origins import OriginPolicy

if TYPE_CHECKING:  # pragma: no cover
    from ..api.listener import Listener

_servers: Dict[int, "PolicyServer"] = {}
_failed_ports: Set[int] = set()


def reply_for(entries: List[Tuple[OriginPolicy, Optional[int]]]) -> bytes:
    """The policy file for these (origins, main port) pairs."""
    domains: List[str] = []
    ports: List[str] = []
    for policy, port in entries:
        domains.extend(policy.policy_domains())
        ports.append("*" if policy.allow_all or not port else str(port))
    return policy_reply(domains or ["*"], ports or ["*"])


def _entry(listener: "Listener") -> Tuple[OriginPolicy, Optional[int]]:
    return listener.origin_policy, getattr(listener.server, "server_port", None)


class PolicyServer:
    """A ``StreamServer`` answering ``<policy-file-request/>`` for its listeners."""

    def __init__(self, host: str, port: int) -> None:
        self.listeners: List["Listener"] = []
        self.server = StreamServer((host, port), self._handle)
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.server_port  # type: ignore[no-any-return]

    def _handle(self, sock: Any, address: Any) -> None:
        timeout = min((entry.options.handshake_timeout for entry in self.listeners), default=10.0)
        try:
            data = b""
            with gevent.Timeout(timeout, False):
                while len(data) < len(POLICY_REQUEST) and POLICY_REQUEST.startswith(data):
                    chunk = sock.recv(len(POLICY_REQUEST) - len(data))
                    if not chunk:
                        break
                    data += chunk
            if data == POLICY_REQUEST:
                sock.sendall(reply_for([_entry(listener) for listener in self.listeners]))
        except OSError:
            pass
        finally:
            sock.close()

    def remove(self, listener: "Listener") -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)
        if not self.listeners:
            self.server.stop()
            if _servers.get(self.port) is self:
                del _servers[self.port]


def serve(listener: "Listener") -> Optional[Callable[[], None]]:
    """Serve the policy for ``listener`` on its ``flash_policy_port``.

    Returns the function that stops serving it, or ``None`` when the port
    cannot be bound (logged once per port).
    """
    port = listener.options.flash_policy_port
    server = _servers.get(port)
    if server is None:
        host = "0.0.0.0"
        address = getattr(listener.server, "address", None)
        if isinstance(address, tuple) and address and address[0]:
            host = address[0]
        try:
            server = PolicyServer(host, port)
        except OSError as exc:
            if port not in _failed_ports:
                _failed_ports.add(port)
                listener.log.warning(
                    "flash policy server not started on port %d: %s "
                    "(policy requests are still answered inline on the main port)",
                    port, exc,
                )
            return None
        _servers[server.port] = server
    server.listeners.append(listener)
    found = server
    return lambda: found.remove(listener)


def server_for(listener: "Listener") -> Optional[PolicyServer]:
    """The policy server answering for ``listener``, if one runs."""
    for server in _servers.values():
        if listener in server.listeners:
            return server
    return None
