"""Soak: many connections, WebSocket and polling mixed, for minutes; memory and fds must come back.

    .venv/bin/python bench/soak.py [--connections 19000] [--minutes 10] [--websocket-share 0.6]

Starts our server (default limits, any origin) in its own process; load
processes (one per 5,000 clients) open the clients at ~400/s, WebSocket
clients answering every heartbeat, xhr-polling clients keeping a long poll
open (and posting on a second connection). Every client sends an echo about
once a minute and checks it comes back; the server broadcasts a tick to
everyone every 10 s. When the time is up the clients leave, and the server's
RSS and open descriptors are sampled until the sessions have expired.

Printed: the server's sessions, connections, RSS and fds every 30 s; at the
end what the clients saw (echoes sent/returned, ticks, drops, echo round
trip p50/p99) and the server's RSS and fds at the baseline, at the peak and
after everybody left.
"""
from __future__ import annotations

import argparse
import atexit
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib.harness import rss_kib  # noqa: E402
from benchlib.rawsocket import read_head, websocket_upgrade  # noqa: E402

SERVER = r"""
import sys, gevent
from gevent.pywsgi import WSGIServer
import socketio_gevent
server = WSGIServer(("127.0.0.1", 0), None, log=None, backlog=4096)
listener = socketio_gevent.listen(server, origins="*:*", flash_policy_server=False)
def connected(client):
    client.on("message", lambda message, annotations: client.send(message))   # echo
listener.on("connection", connected)
def ticks():
    n = 0
    while True:
        gevent.sleep(10)
        n += 1
        listener.broadcast("tick %d" % n)
lag = [0.0]
def lag_monitor():   # how late a 10 ms sleep wakes: the loop's own delay
    import time
    while True:
        started = time.monotonic()
        gevent.sleep(0.01)
        lag[0] = max(lag[0], time.monotonic() - started - 0.01)
gevent.spawn(lag_monitor)
def stats():
    while True:
        print("STATS %d %d %.3f" % (len(listener.clients), server.application.gate.count, lag[0]), flush=True)
        lag[0] = 0.0
        gevent.sleep(5)
server.start()
print(server.server_port, flush=True)
gevent.spawn(ticks)
gevent.spawn(stats)
server.serve_forever()
"""

#: How often a client sends its echo (seconds, on average).
ECHO_EVERY = 60.0


def load(index: int, port: int, websockets: int, pollers: int, seconds: float, ramp: float, out: Any) -> None:
    """One load process: ``websockets`` + ``pollers`` clients on gevent, from
    its own loopback address (127.0.0.2, .3, …) so that each process has the
    whole ephemeral port range to itself."""
    from gevent import monkey
    monkey.patch_all()
    import socket
    from urllib.parse import quote

    import gevent

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from socketio_gevent.protocol.framing import decode_payload, encode_message
    from socketio_gevent.websocket import events as ev
    from socketio_gevent.websocket.rfc6455 import RFC6455Codec

    source = ("127.0.0.%d" % (2 + index), 0)

    def connect(timeout: float) -> Any:
        return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=source)

    stats: Dict[str, Any] = {"connected": 0, "failed": 0, "dropped": 0, "sent": 0, "echoed": 0,
                             "ticks": 0, "ticks_missed": 0, "ticks_repeated": 0, "ticks_reordered": 0,
                             "rtts_websocket": [], "rtts_polling": []}
    end = time.monotonic() + seconds
    opened: List[Any] = []

    def echo_due() -> float:
        return time.monotonic() + random.uniform(0.2, 2 * ECHO_EVERY)

    def on_message(text: str, pending: Dict[str, float], ticks: List[int]) -> None:
        if text.startswith("tick "):
            stats["ticks"] += 1
            ticks.append(int(text[5:]))
        elif text in pending:
            stats["echoed"] += 1
            kind = "rtts_websocket" if text.startswith("w") else "rtts_polling"
            stats[kind].append(time.monotonic() - pending.pop(text))

    def joined(sock: Any) -> Tuple[Dict[str, float], List[int]]:
        """A client is in: its echoes in flight, and the numbers of the
        broadcasts it receives (none may be missing between two)."""
        stats["connected"] += 1
        opened.append(sock)
        return {}, []

    def count_ticks(ticks: List[int]) -> None:
        if ticks:
            stats["ticks_missed"] += ticks[-1] - ticks[0] + 1 - len(set(ticks))
            stats["ticks_repeated"] += len(ticks) - len(set(ticks))
            stats["ticks_reordered"] += ticks != sorted(ticks)

    def websocket_client(n: int) -> None:
        try:
            sock = connect(30)
            early = websocket_upgrade(sock)
            codec = RFC6455Codec(client=True)
            codec.receive_data(early)
        except OSError:
            stats["failed"] += 1
            return
        pending, ticks = joined(sock)
        due = echo_due()
        try:
            while time.monotonic() < end:
                sock.settimeout(max(0.05, min(due, end) - time.monotonic()))
                if time.monotonic() >= due:
                    token = "w%d-%d" % (n, stats["sent"])
                    stats["sent"] += 1
                    pending[token] = time.monotonic()
                    sock.sendall(codec.send_text(encode_message(token)))
                    due = echo_due()
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    raise OSError("closed by the server")
                codec.receive_data(data)
                for event in codec.events():
                    if isinstance(event, ev.Text):
                        for frame in decode_payload(event.data):
                            if frame.type == "2":
                                sock.sendall(codec.send_text("2:%d:%s," % (len(frame.data), frame.data)))
                            elif frame.type == "1":
                                on_message(frame.data.partition(":")[2], pending, ticks)
                    elif isinstance(event, ev.Ping):
                        sock.sendall(codec.send_pong(event.data))
        except OSError:
            stats["dropped"] += 1
        finally:
            sock.close()
            count_ticks(ticks)

    def http_exchange(sock: Any, request: bytes) -> bytes:
        sock.sendall(request)
        head, _, body = read_head(sock).partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError("closed")
            body += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise OSError(head.split(b"\r\n", 1)[0].decode())
        return body

    def polling_client(n: int) -> None:
        get = "GET /socket.io/xhr-polling/%s/%d HTTP/1.1\r\nHost: x\r\n\r\n"
        try:
            sock = connect(40)
            body = http_exchange(sock, (get % ("", 1)).encode()).decode()
            sid = decode_payload(body)[0].data
        except (OSError, IndexError, ValueError):
            stats["failed"] += 1
            return
        pending, ticks = joined(sock)

        def sender() -> None:
            while time.monotonic() < end:
                gevent.sleep(max(0.0, echo_due() - time.monotonic()))
                if time.monotonic() >= end:
                    return
                token = "p%d-%d" % (n, stats["sent"])
                form = "data=" + quote(encode_message(token))
                request = ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
                           % (sid, len(form), form)).encode()
                try:
                    post = connect(30)
                    pending[token] = time.monotonic()
                    stats["sent"] += 1
                    http_exchange(post, request)
                    post.close()
                except OSError:
                    stats["failed"] += 1

        posting = gevent.spawn(sender)
        try:
            k = 2
            while time.monotonic() < end:
                body = http_exchange(sock, (get % (sid, k)).encode()).decode()
                k += 1
                for frame in decode_payload(body):
                    if frame.type == "1":
                        on_message(frame.data.partition(":")[2], pending, ticks)
                    elif frame.type == "0":
                        raise OSError("disconnected by the server")
        except OSError:
            stats["dropped"] += 1
        finally:
            posting.kill()
            sock.close()
            count_ticks(ticks)

    def lag_monitor() -> None:  # the load process's own delay: a late echo may be ours, not the server's
        while time.monotonic() < end:
            started = time.monotonic()
            gevent.sleep(0.01)
            late = time.monotonic() - started - 0.01
            stats["loop_late_max_ms"] = max(stats["loop_late_max_ms"], late * 1000)
            if late > 1.0:
                stats["loop_late_over_1s"] += 1

    stats["loop_late_max_ms"] = 0.0
    stats["loop_late_over_1s"] = 0
    lagging = gevent.spawn(lag_monitor)
    greenlets = []
    total = websockets + pollers
    kinds = [websocket_client] * websockets + [polling_client] * pollers
    random.shuffle(kinds)
    for n, kind in enumerate(kinds):
        greenlets.append(gevent.spawn(kind, n))
        gevent.sleep(ramp / total)
    gevent.joinall(greenlets + [lagging])
    out.send(stats)  # a Pipe, not a Queue: a Queue's feeder thread is a greenlet here, and never runs


def fds(pid: int) -> int:
    return len(os.listdir("/proc/%d/fd" % pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=19000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--websocket-share", type=float, default=0.6)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-u", "-c", SERVER], stdout=subprocess.PIPE, text=True)
    atexit.register(server.kill)  # on any way out, a failure of this script's included
    port = int(server.stdout.readline())  # type: ignore[union-attr]
    time.sleep(1.0)
    base_rss, base_fds = rss_kib(server.pid) / 1024, fds(server.pid)
    print("server baseline: RSS %.0f MB, %d fds" % (base_rss, base_fds), flush=True)
    processes = max(1, -(-args.connections // 5000))
    ramp = args.connections / 400.0
    seconds = args.minutes * 60 + ramp
    ws_total = int(args.connections * args.websocket_share)
    context = multiprocessing.get_context("spawn")  # gevent is patched in the children only
    workers = []
    results = []
    for i in range(processes):
        ws = ws_total // processes + (1 if i < ws_total % processes else 0)
        polling_total = args.connections - ws_total
        polls = polling_total // processes + (1 if i < polling_total % processes else 0)
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(target=load, args=(i, port, ws, polls, seconds, ramp, sender))
        worker.start()
        workers.append(worker)
        results.append(receiver)
    started = time.monotonic()
    peak_rss, peak_fds, peak_sessions, peak_connections = base_rss, base_fds, 0, 0
    server_lag = 0.0
    import select
    next_print = started
    while time.monotonic() < started + seconds + 5:
        ready = select.select([server.stdout], [], [], 1.0)[0]
        line = server.stdout.readline() if ready else ""  # type: ignore[union-attr]
        if line.startswith("STATS"):
            sessions, connections = map(int, line.split()[1:3])
            server_lag = max(server_lag, float(line.split()[3]))
            peak_sessions, peak_connections = max(peak_sessions, sessions), max(peak_connections, connections)
        rss, open_fds = rss_kib(server.pid) / 1024, fds(server.pid)
        peak_rss, peak_fds = max(peak_rss, rss), max(peak_fds, open_fds)
        if time.monotonic() >= next_print and line.startswith("STATS"):
            print("%4.0f s  sessions %5d  connections %5d  RSS %4.0f MB  fds %5d"
                  % (time.monotonic() - started, sessions, connections, rss, open_fds), flush=True)
            next_print += 30
    totals: Dict[str, Any] = {}
    rtts: Dict[str, List[float]] = {"websocket": [], "polling": []}
    for receiver in results:
        if not receiver.poll(120):
            raise SystemExit("a load process sent no result")
        stats = receiver.recv()
        for kind in rtts:
            rtts[kind] += stats.pop("rtts_" + kind)
        for k, v in stats.items():
            totals[k] = max(totals.get(k, 0), v) if k == "loop_late_max_ms" else totals.get(k, 0) + v
    for worker in workers:
        worker.join()
    print("clients: %s" % json.dumps(totals), flush=True)
    for kind, samples in rtts.items():
        samples.sort()
        if samples:
            print("echo round trip, %s: %d echoes, p50 %.1f ms, p99 %.1f ms, max %.0f ms, %d over 1 s"
                  % (kind, len(samples), 1000 * samples[len(samples) // 2], 1000 * samples[int(len(samples) * 0.99)],
                     1000 * samples[-1], sum(1 for t in samples if t > 1.0)), flush=True)
    print("server peak: %d sessions, %d connections, RSS %.0f MB, %d fds; its loop at most %.0f ms late"
          % (peak_sessions, peak_connections, peak_rss, peak_fds, server_lag * 1000), flush=True)
    waited = 0
    for wait in (0, 10, 20, 30):
        time.sleep(wait - waited)
        waited = wait
        print("%2d s after the clients left: RSS %.0f MB (baseline %.0f), %d fds (baseline %d)"
              % (wait, rss_kib(server.pid) / 1024, base_rss, fds(server.pid), base_fds), flush=True)
    server.kill()


if __name__ == "__main__":
    main()
