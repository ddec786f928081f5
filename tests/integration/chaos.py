"""Chaos between the Python client and a real server: a proxy that cuts, delays and splits.

Used by ``tests/integration/test_chaos.py`` (short) and ``bench/chaos`` (long)::

    python -m tests.integration.chaos --sessions 200 --cuts 10000            # acks on
    python -m tests.integration.chaos --sessions 200 --cuts 10000 --no-acks  # the 2010 protocol

Every client sends numbered messages (``<id>:<k>``), the server sends every
client numbered messages (``<k>``), both a few at a time with pauses, while
:class:`CuttingProxy` between them closes connections at random moments in
both directions and passes the other bytes on in random pieces after random
delays. At the end each side's messages are checked on the other side:
lost, duplicated, out of order, per transport.
"""
from __future__ import annotations

import argparse
import collections
import logging
import random
import sys
import time
from typing import Any, Dict, List, Optional

import gevent
from gevent import socket
from gevent.pywsgi import WSGIServer
from gevent.server import StreamServer

import socketio_gevent
from socketio_gevent.client import SocketClient

TRANSPORTS = ("websocket", "flashsocket", "server-events", "htmlfile", "xhr-multipart",
              "xhr-polling", "jsonp-polling")
ID_HEADER = "X-Chaos-Id"


class _Quiet:
    """An error log that keeps nothing."""

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 that cuts connections and splits and delays writes.

    Each accepted connection gets a lifetime drawn from an exponential
    distribution (mean ``mean_life`` seconds); when it runs out, both sides
    are closed at once, whatever was in flight. Each read is passed on in
    up to four pieces, each after a delay of up to ``max_delay`` seconds.
    ``limit``: no cuts after this many (the run then ends cleanly).
    """

    def __init__(self, target: int, rng: random.Random, mean_life: float = 0.4,
                 max_delay: float = 0.003, limit: Optional[int] = None) -> None:
        self.target = target
        self.rng = rng
        self.mean_life = mean_life
        self.max_delay = max_delay
        self.limit = limit
        self.cuts = 0
        self.server = StreamServer(("127.0.0.1", 0), self._serve)
        self.server.start()
        self.port = self.server.server_port
        self.cutting = True

    def _serve(self, client: Any, address: Any) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target))
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pumps = [gevent.spawn(self._pump, client, upstream), gevent.spawn(self._pump, upstream, client)]
        life = self.rng.expovariate(1.0 / self.mean_life)
        done = gevent.joinall(pumps, timeout=life, count=1)
        if not done and self.cutting and (self.limit is None or self.cuts < self.limit):
            self.cuts += 1
        else:
            gevent.joinall(pumps)  # let it end on its own
        for sock in (client, upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        gevent.killall(pumps, block=False)

    def _pump(self, source: Any, sink: Any) -> None:
        rng = self.rng
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while data:
                    size = len(data) if rng.random() < 0.5 else rng.randint(1, len(data))
                    if self.max_delay:
                        gevent.sleep(rng.random() * self.max_delay)
                    sink.sendall(data[:size])
                    data = data[size:]
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.server.stop()


class ChaosServer:
    """A real server whose application numbers its messages to each client id."""

    def __init__(self, acks: bool, close_timeout: float) -> None:
        # pywsgi's error log would print every request the proxy cut in half
        self.server = WSGIServer(("127.0.0.1", 0), None, log=None, error_log=_Quiet())
        timers = {t: {"close_timeout": close_timeout} for t in TRANSPORTS}
        self.listener = socketio_gevent.listen(self.server, flash_policy_server=False, origins="*:*",
                                               acknowledgements=acks, transport_options=timers,
                                               max_queue_messages=100_000)
        self.received: Dict[str, List[int]] = collections.defaultdict(list)
        self.sent: Dict[str, int] = collections.defaultdict(int)
        self.clients: Dict[str, Any] = {}
        self.listener.on("connection", self._connected)
        self.server.start()
        self.port = self.server.server_port

    def _connected(self, client: Any) -> None:
        ident = client.environ.get("HTTP_" + ID_HEADER.upper().replace("-", "_"), "?")
        self.clients[ident] = client

        def message(text: Any, annotations: Any) -> None:
            who, _, k = str(text).partition(":")
            self.received[who].append(int(k))

        client.on("message", message)

    def send_to(self, ident: str) -> bool:
        """The next numbered message to ``ident``'s current session, if it has one."""
        client = self.clients.get(ident)
        if client is None or not client.connected:
            return False
        self.sent[ident] += 1
        client.send(str(self.sent[ident]))
        return True

    def close(self) -> None:
        self.listener.close()
        self.server.stop(timeout=1)


def check(numbers: List[int], expected: int) -> Dict[str, int]:
    """What arrived, against 1..expected: lost, duplicated, and out of order
    (arrived after a higher number, not as a duplicate)."""
    seen: set = set()
    duplicated = out_of_order = highest = 0
    for k in numbers:
        if k in seen:
            duplicated += 1
            continue
        if k < highest:
            out_of_order += 1
        seen.add(k)
        highest = max(highest, k)
    return {"lost": expected - len(seen & set(range(1, expected + 1))), "duplicated": duplicated,
            "out_of_order": out_of_order}


def run(sessions: int = 28, messages: int = 40, cuts: Optional[int] = None, acks: bool = True,
        seed: int = 1, mean_life: float = 0.4, close_timeout: float = 8.0, log: Any = None,
        deadline: float = 120.0) -> Dict[str, Any]:
    """One chaos run; returns the table (per transport) and the totals."""
    rng = random.Random(seed)
    server = ChaosServer(acks, close_timeout)
    proxy = CuttingProxy(server.port, rng, mean_life=mean_life, limit=cuts)
    url = "http://127.0.0.1:%d" % proxy.port
    clients: Dict[str, SocketClient] = {}
    got: Dict[str, List[int]] = {}
    renewals: Dict[str, int] = collections.defaultdict(int)
    for i in range(sessions):
        transport = TRANSPORTS[i % len(TRANSPORTS)]
        ident = "%s-%d" % (transport, i)
        client = SocketClient(url, transport=transport, headers={ID_HEADER: ident}, acks=acks,
                              timeout=10, resume_timeout=close_timeout, log=log)
        got[ident] = []
        client.on("message", lambda text, notes, ident=ident: got[ident].append(int(text)))
        client.on("reconnect", lambda info, ident=ident: renewals.__setitem__(ident, renewals[ident] + 1))
        clients[ident] = client

    def life(ident: str, client: SocketClient) -> None:
        for attempt in range(20):
            try:
                client.connect()
                break
            except OSError:
                gevent.sleep(0.1 * (attempt + 1))
        k = 0
        # at least `messages` each way, and on until the proxy has made its cuts
        while k < messages or (cuts is not None and proxy.cuts < cuts and time.monotonic() < stop):
            k += 1
            client.send("%s:%d" % (ident, k), wait=False)
            sent_up[ident] = k
            gevent.sleep(rng.random() * 0.05)
            while not server.send_to(ident):
                gevent.sleep(0.05)
        client.flush(deadline)

    started = time.monotonic()
    stop = started + deadline
    sent_up: Dict[str, int] = collections.defaultdict(int)
    workers = [gevent.spawn(life, ident, client) for ident, client in clients.items()]
    gevent.joinall(workers, timeout=deadline)
    # the last messages of each side: give them time to arrive, without cuts
    proxy.cutting = False
    end = time.monotonic() + 15
    while time.monotonic() < end:
        if all(len(set(got[i])) >= server.sent[i] for i in clients) and \
                all(len(set(server.received[i])) >= sent_up[i] for i in clients):
            break
        gevent.sleep(0.2)
    elapsed = time.monotonic() - started
    table: Dict[str, Dict[str, int]] = {}
    for ident, client in clients.items():
        transport = ident.rsplit("-", 1)[0]
        row = table.setdefault(transport, collections.defaultdict(int))
        row["sessions"] += 1
        up = check(server.received[ident], sent_up[ident])
        down = check(got[ident], server.sent[ident])
        row["sent up"] += sent_up[ident]
        row["sent down"] += server.sent[ident]
        for key in ("lost", "duplicated", "out_of_order"):
            row[key + " up"] += up[key]
            row[key + " down"] += down[key]
        row["renewed"] += renewals[ident]
        if (up["lost"] or down["lost"]) and log is not None:
            log.warning("%s: %d/%d up, %d/%d down; connected %s, session %s, server has it: %s, pending %d",
                        ident, sent_up[ident] - up["lost"], sent_up[ident], server.sent[ident] - down["lost"],
                        server.sent[ident], client.connected, client.session_id,
                        client.session_id in server.listener.clients, client.pending)
            live = server.listener.server.application.sessions.find(client.session_id or "")
            if live is not None:
                log.warning("   server side: pending %d acked %d attached %r state %s; client received %d link %r",
                            live.pending, live.acknowledged, live.machine.connection, live.state,
                            client.received, client._link)
        client.close()
    proxy.close()
    server.close()
    totals: Dict[str, int] = collections.defaultdict(int)
    for row in table.values():
        for key, value in row.items():
            totals[key] += value
    return {"table": {k: dict(v) for k, v in table.items()}, "totals": dict(totals), "cuts": proxy.cuts,
            "seconds": elapsed, "acks": acks}


COLUMNS = ("sessions", "sent up", "lost up", "duplicated up", "out_of_order up",
           "sent down", "lost down", "duplicated down", "out_of_order down", "renewed")


def report(result: Dict[str, Any]) -> str:
    mode = "on" if result["acks"] else "off (2010 protocol)"
    lines = ["chaos run: acks %s, %d cuts in %.0f s" % (mode, result["cuts"], result["seconds"])]
    names = [c.replace("out_of_order", "reorder").replace("duplicated", "dup") for c in COLUMNS]
    lines.append("%-14s" % "transport" + "".join("%12s" % name for name in names))
    for name in TRANSPORTS:
        row = result["table"].get(name)
        if row:
            lines.append("%-14s" % name + "".join("%12d" % row.get(c, 0) for c in COLUMNS))
    lines.append("%-14s" % "total" + "".join("%12d" % result["totals"].get(c, 0) for c in COLUMNS))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=0,
                        help="per session and direction (default: enough for the cuts)")
    parser.add_argument("--cuts", type=int, default=10000)
    parser.add_argument("--no-acks", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    messages = args.messages or 40
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    result = run(sessions=args.sessions, messages=messages, cuts=args.cuts, acks=not args.no_acks,
                 seed=args.seed, deadline=3600, log=logging.getLogger("chaos"))
    print(report(result))
    totals = result["totals"]
    bad = sum(totals.get(k, 0) for k in totals if k.startswith(("lost", "duplicated", "out_of_order")))
    return 1 if bad and not args.no_acks else 0


if __name__ == "__main__":
    sys.exit(main())
