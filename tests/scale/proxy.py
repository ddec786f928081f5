"""A round-robin TCP balancer for the tests: each new connection goes to the next backend.

It has no affinity at all (the point of the relay), and can cut every open
connection at once, as a network failure or a balancer restart would.
"""
from __future__ import annotations

import itertools
from typing import Any, List, Set

import gevent
from gevent import socket
from gevent.server import StreamServer


class RoundRobin:
    def __init__(self, ports: List[int]) -> None:
        self.ports = list(ports)
        self._next = itertools.cycle(range(len(self.ports)))
        self._open: Set[Any] = set()
        #: How many connections went to each backend port.
        self.sent = {port: 0 for port in self.ports}
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.server_port  # type: ignore[no-any-return]

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def _handle(self, client: Any, address: Any) -> None:
        port = self.ports[next(self._next)]
        self.sent[port] += 1
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        pair = (client, upstream)
        self._open.add(pair)
        pumps = [gevent.spawn(_pump, client, upstream), gevent.spawn(_pump, upstream, client)]
        try:
            gevent.joinall(pumps)  # each ends at its source's end of file (or an error)
        finally:
            self._open.discard(pair)
            for sock in pair:
                _close(sock)
            gevent.killall(pumps, block=False)

    def cut(self) -> int:
        """Drop every open connection (both ends see a reset); how many there were."""
        pairs = list(self._open)
        for pair in pairs:
            for sock in pair:
                _close(sock)
        return len(pairs)

    def stop(self) -> None:
        self.cut()
        self.server.stop()


def _pump(source: Any, sink: Any) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                try:
                    sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            sink.sendall(data)
    except OSError:
        return


def _close(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
