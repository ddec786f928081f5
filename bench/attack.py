"""Attacks against a real server, with a canary measuring round trips throughout.

    .venv/bin/python bench/attack.py [--seconds 6] [--passes 2] [--only "session flood"]

Starts our server (socket.io, a broadcasting chat-like app, default limits
except the deadlines, shortened so that a run takes minutes, and the
descriptor limit, lowered to 4,096 so that a flood reaches it) in its own
process, keeps a canary WebSocket client doing an echo round trip every
50 ms (answering its heartbeats), and runs one attack at a time from plain
threads. For each attack it prints the canary's worst round trip during
it, the server's RSS and open fds before, during and after, and what the
attacker got back. The canary's worst round trip should stay under a
second in every row. The suite runs twice: memory that CPython keeps
after a flood must be reused by the next one, not grow pass after pass.
"""
from __future__ import annotations

import argparse
import atexit
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Tuple
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib.harness import rss_kib  # noqa: E402
from benchlib.rawsocket import websocket_upgrade  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from socketio_gevent.protocol.framing import HEARTBEAT, MESSAGE, decode_payload, encode_frame  # noqa: E402
from socketio_gevent.websocket import events as ev  # noqa: E402
from socketio_gevent.websocket.rfc6455 import RFC6455Codec  # noqa: E402

_CLIENT = RFC6455Codec(client=True)
#: The server's descriptor limit: low enough that the attacker can reach it
#: (the server's default max_connections is this less 128).
FD_LIMIT = 4096
#: The server's pid, for the attacks that watch its descriptors.
SERVER_PID: List[int] = []

SERVER = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from gevent.pywsgi import WSGIServer
import socketio_gevent
def plain(environ, start_response):   # a plain WebSocket route beside socket.io: echo
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    while True:
        message = ws.receive()
        if message is None:
            return []
        ws.send(message)
server = WSGIServer(("127.0.0.1", 0), plain, log=None, backlog=4096)
listener = socketio_gevent.listen(server, origins="*:*", flash_policy_server=False,
                                  handshake_timeout=2, write_timeout=2, max_sessions=5000)
def connected(client):
    def on_message(message, annotations):
        if message == "echo" or (isinstance(message, str) and message.startswith("echo:")):
            client.send(message)
        elif isinstance(message, str) and message.startswith("big"):
            listener.broadcast("x" * 65536)
        else:
            listener.broadcast(message)   # a chat: everything said is broadcast
    client.on("message", on_message)
listener.on("connection", connected)
server.start()
print(server.server_port, flush=True)
server.serve_forever()
"""


def frame(text: str) -> str:
    return "1:%d::%s," % (len(text) + 1, text)


def ws_text(text: str) -> bytes:
    """One masked client text frame, by the project's own RFC 6455 codec."""
    return _CLIENT.send_text(text)


def ws_open(port: int, path: str = "/socket.io/websocket") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        websocket_upgrade(sock, path)  # the server says nothing before the client does
    except OSError:
        sock.close()
        raise
    return sock


def http(port: int, raw: bytes, timeout: float = 10) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(raw)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and b"Content-Length: " in out:
                head, _, body = out.partition(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    except OSError:
        pass
    sock.close()
    return out


def status_of(answer: bytes) -> str:
    line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    return line[9:] if line.startswith("HTTP/1.1 ") else (line or "closed")


def handshake(port: int) -> str:
    answer = http(port, b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = answer.partition(b"\r\n\r\n")[2].decode()
    return body.split(":", 2)[2][:24]


def post(port: int, sid: str, payload: str, extra: str = "") -> bytes:
    body = ("data=" + quote(payload)).encode()
    return http(port, ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n%s\r\n"
                       % (sid, len(body), extra)).encode() + body)


class Canary(threading.Thread):
    """An echo round trip over WebSocket every 50 ms; the worst per window.

    It answers its heartbeats like any client, so a cut in the table is the
    server's doing, not a missed heartbeat.
    """

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.worst = 0.0
        self.failures = 0
        self.stop = False
        self._connect()

    def _connect(self) -> None:
        self.sock = ws_open(self.port)
        self.sock.settimeout(30)
        self.codec = RFC6455Codec(client=True)

    def _read_until(self, token: str) -> None:
        """Read until the echo of ``token`` comes back, answering heartbeats."""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("canary closed")
            self.codec.receive_data(chunk)
            found = False
            for event in self.codec.events():
                if isinstance(event, (ev.Close, ev.Failed)):
                    raise OSError("canary closed by the server")
                if isinstance(event, ev.Ping):
                    self.sock.sendall(self.codec.send_pong(event.data))
                if not isinstance(event, ev.Text):
                    continue
                for got in decode_payload(event.data):
                    if got.type == HEARTBEAT:
                        self.sock.sendall(self.codec.send_text(encode_frame(HEARTBEAT, got.data)))
                    elif got.type == MESSAGE and got.data.partition(":")[2] == token:
                        found = True
            if found:
                return

    def run(self) -> None:
        n = 0
        while not self.stop:
            n += 1
            token = "echo:%d" % n
            started = time.monotonic()
            try:
                self.sock.sendall(self.codec.send_text(frame(token)))
                self._read_until(token)
            except OSError:  # cut: say so in the table, and come back as a new client
                self.failures += 1
                self.sock.close()
                try:
                    self._connect()
                except OSError:
                    time.sleep(0.5)
                continue
            self.worst = max(self.worst, time.monotonic() - started)
            time.sleep(0.05)

    def window(self) -> Tuple[float, int]:
        worst, self.worst = self.worst, 0.0
        cuts, self.failures = self.failures, 0
        return worst, cuts


def rss_mb(pid: int) -> float:
    return rss_kib(pid) / 1024


def fds(pid: int) -> int:
    return len(os.listdir("/proc/%d/fd" % pid))


# -- the attacks: each runs for about ``seconds`` and returns what it got back ----

def slow_headers(port: int, seconds: float) -> str:
    socks = []
    for _ in range(800):
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\n")
            socks.append(s)
        except OSError:
            break
    end = time.monotonic() + seconds
    cut = 0
    while time.monotonic() < end and socks:
        for s in list(socks):
            try:
                s.sendall(b"X")
            except OSError:
                socks.remove(s)
                cut += 1
        time.sleep(0.5)
    for s in socks:
        s.close()
    return "%d of 800 cut by the head deadline" % cut


def connection_flood(port: int, seconds: float) -> str:
    """Hold more connections than the server has descriptors, trickling
    header bytes; every connection cut is opened again at once."""
    want = FD_LIMIT + 200
    held: List[socket.socket] = []
    refused = cut = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        while len(held) < want:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\n")
                s.setblocking(False)
                held.append(s)
            except OSError:
                break
        time.sleep(0.3)
        for s in list(held):
            try:
                answer = s.recv(4096)
                held.remove(s)
                s.close()
                if answer.startswith(b"HTTP/1.1 503"):
                    refused += 1
                else:
                    cut += 1
            except BlockingIOError:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            except OSError:
                held.remove(s)
                s.close()
                cut += 1
    for s in held:
        s.close()
    return "kept %d open: %d answered 503 unread, %d cut by the head deadline" % (want, refused, cut)


def handshake_flood(port: int, seconds: float) -> str:
    """WebSocket upgrades opened and dropped as fast as 8 threads can."""
    counts: Dict[str, int] = {}
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def one() -> None:
        while time.monotonic() < end:
            try:
                s = ws_open(port)
                s.close()
                got = "101"
            except OSError as exc:
                got = "refused (%s)" % str(exc)[:30]
            with lock:
                counts[got] = counts.get(got, 0) + 1

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ", ".join("%s x%d" % kv for kv in sorted(counts.items()))


def slow_body(port: int, seconds: float) -> str:
    sid = handshake(port)
    answers: List[str] = []

    def one() -> None:
        s = socket.create_connection(("127.0.0.1", port), timeout=seconds + 5)
        s.sendall(("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                   "Content-Type: application/x-www-form-urlencoded\r\n\r\ndata=" % sid).encode())
        try:
            answers.append(status_of(s.recv(4096)))
        except OSError:
            answers.append("timeout")
        s.close()

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return "200 stalled POSTs: %s" % ", ".join(sorted(set(answers)))


def echo_flood(port: int, seconds: float) -> str:
    """A chat client writing as fast as its socket takes it; its own
    broadcasts, coming back, count what the server let through."""
    chunk = b"".join(ws_text(frame("flood %d" % i)) for i in range(2000))
    sent, back = _flood(ws_open(port), chunk, 2000, b"::flood ", seconds)
    return "wrote %d messages; %d broadcast in %.0f s (inbound_rate 2,000/s + a second's burst)" % (
        sent, back, seconds)


def plain_flood(port: int, seconds: float) -> str:
    """The same on a plain ``wsgi.websocket`` route (an echo), with a run of
    empty continuation frames between messages."""
    empty_run = bytes(_CLIENT._frame(0x01, b"")) + b"".join(_CLIENT._frame(0x00, b"") for _ in range(50)) + \
        _CLIENT._frame(0x80, b"flood")
    chunk = b"".join(ws_text("flood %d" % i) for i in range(2000)) + empty_run
    sent, back = _flood(ws_open(port, "/echo"), chunk, 2001, b"flood", seconds)
    return "wrote %d messages; %d echoed in %.0f s" % (sent, back, seconds)


def _flood(s: socket.socket, chunk: bytes, messages: int, marker: bytes, seconds: float) -> Tuple[int, int]:
    """Write ``chunk`` (``messages`` messages) over and over; count what comes back by ``marker``."""
    back = [0]
    drain = threading.Thread(target=_drain, args=(s, back, marker), daemon=True)
    drain.start()
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        try:
            s.sendall(chunk)
            sent += messages
        except OSError:
            break
    s.close()
    drain.join(1)
    return sent, back[0]


def _drain(s: socket.socket, count: List[int], marker: bytes) -> None:
    tail = b""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return
            data = tail + data
            count[0] += data.count(marker)
            tail = data[-(len(marker) - 1):]
    except OSError:
        pass


def amplification(port: int, seconds: float) -> str:
    listeners = [handshake(port) for _ in range(20)]
    attacker = handshake(port)
    first = status_of(post(port, attacker, "".join(frame(str(i % 10)) for i in range(1001))))
    second = status_of(post(port, attacker, "".join(frame("x") for _ in range(1000))))
    time.sleep(seconds / 2)
    polls = [("GET /socket.io/xhr-polling/%s/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % sid).encode()
             for sid in listeners]
    alive = sum(1 for poll in polls if status_of(http(port, poll)) == "200 OK")
    return "1,001 msgs: %s; 1,000: %s; %d/20 listeners alive" % (first, second, alive)


STREAMING = (b"htmlfile", b"xhr-multipart", b"server-events")


def stuck_readers(port: int, seconds: float) -> str:
    quiet = fds(SERVER_PID[0]) + 1  # + the trigger's WebSocket
    socks = []
    for n in range(21):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /socket.io/%s HTTP/1.1\r\nHost: x\r\n\r\n" % STREAMING[n % 3])
        socks.append(s)
    time.sleep(0.5)
    trigger = ws_open(port)
    for _ in range(40):
        trigger.sendall(ws_text(frame("big")))
    # A cut stream's FIN waits behind the data the client never reads, so the
    # client cannot tell; the server's descriptors can.
    started = time.monotonic()
    while fds(SERVER_PID[0]) > quiet and time.monotonic() < started + max(seconds, 10.0):
        time.sleep(0.1)
    took = time.monotonic() - started
    held = max(0, fds(SERVER_PID[0]) - quiet)
    for s in socks:
        s.close()
    trigger.close()
    return "%d of 21 non-reading streams (htmlfile, xhr-multipart, server-events) cut, the last %.1f s after" \
        " the burst" % (21 - held, took)


def session_flood(port: int, seconds: float) -> str:
    answers: Dict[str, int] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = status_of(http(port, b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        answers[got] = answers.get(got, 0) + 1
    return ", ".join("%s x%d" % kv for kv in sorted(answers.items()))


def invalid_text(port: int, seconds: float) -> str:
    sid = handshake(port)
    a = status_of(post(port, sid, '1:11:j\n:"\\ud800",'))
    b = status_of(post(port, sid, "1:8:j\n:1e999,"))
    c = status_of(http(port, b"OPTIONS /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\nOrigin: http://a\rb\r\n"
                             b"Connection: close\r\n\r\n"))
    ws = ws_open(port)
    codec = RFC6455Codec(client=True)
    ws.sendall(codec.send_text('1:11:j\n:"\\ud800",'))
    closed = "no close"
    try:
        while closed == "no close":
            data = ws.recv(65536)
            if not data:
                break
            codec.receive_data(data)
            for event in codec.events():
                if isinstance(event, ev.Close):
                    closed = "close %s" % event.code
    except OSError:
        pass
    ws.close()
    return "lone surrogate: POST %s, WebSocket %s; 1e999: %s; CR in Origin: %s" % (a, closed, b, c)


def smuggling(port: int, seconds: float) -> str:
    sid = handshake(port)
    body = "data=" + quote(frame("hi"))
    shapes = {
        "CL+CL": "Content-Length: %d\r\nContent-Length: 3\r\n" % len(body),
        "CL+TE": "Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body),
    }
    out = []
    for name, headers in shapes.items():
        answer = http(port, ("POST /socket.io/xhr-polling/%s/send HTTP/1.1\r\nHost: x\r\n%s"
                             "Content-Type: application/x-www-form-urlencoded\r\n\r\n%s"
                             "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n" % (sid, headers, body)).encode())
        out.append("%s: %s (%d answer)" % (name, status_of(answer), answer.count(b"HTTP/1.1 ")))
    return "; ".join(out)


def cors(port: int, seconds: float) -> str:
    answer = http(port, b"GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: x\r\nOrigin: null\r\n"
                        b"Connection: close\r\n\r\n")
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    return "Origin null: %s, credentials %s, nosniff %s" % (
        status_of(answer), "yes" if "allow-credentials" in head else "no", "yes" if "nosniff" in head else "no")


ATTACKS: List[Tuple[str, Callable[[int, float], str]]] = [
    ("slow headers (800 conns)", slow_headers),
    ("connections past fd limit", connection_flood),
    ("slow bodies (200 POSTs)", slow_body),
    ("WebSocket flood", echo_flood),
    ("plain WebSocket route flood", plain_flood),
    ("amplification burst", amplification),
    ("stuck stream readers", stuck_readers),
    ("session flood", session_flood),
    ("WebSocket handshake flood", handshake_flood),
    ("invalid text", invalid_text),
    ("smuggling shapes", smuggling),
    ("CORS", cors),
]


def idle_wait() -> float:
    """Long enough for every session of the attacks to expire (close_timeout 8 s)."""
    time.sleep(15.0)
    return 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--only", default="", help="run the attacks whose name contains this")
    parser.add_argument("--passes", type=int, default=2,
                        help="run the suite this many times: memory a flood keeps must not grow pass after pass")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER.replace("FD_LIMIT", str(FD_LIMIT))],
                              stdout=subprocess.PIPE, text=True)
    atexit.register(server.kill)  # on any way out, a failure of this script's included
    port = int(server.stdout.readline())  # type: ignore[union-attr]
    SERVER_PID.append(server.pid)
    canary = Canary(port)
    canary.start()
    time.sleep(1.0)
    start_rss, start_fds = rss_mb(server.pid), fds(server.pid)
    print("attack                      canary worst, cut  RSS MB before/during/after   fds b/d/a       attacker got")
    chosen = [(n, a) for n, a in ATTACKS if args.only in n]
    for number, (name, attack) in enumerate(chosen * args.passes):
        if number and number % len(chosen) == 0:
            print("-- pass %d: after %.0f s idle, RSS %.0f MB, %d fds" % (
                number // len(chosen) + 1, idle_wait(), rss_mb(server.pid), fds(server.pid)), flush=True)
        canary.window()
        before_rss, before_fds = rss_mb(server.pid), fds(server.pid)
        peak = {"rss": before_rss, "fds": before_fds}
        done = threading.Event()

        def sample(done: threading.Event = done, peak: Dict[str, float] = peak) -> None:
            while not done.is_set():
                peak["rss"] = max(peak["rss"], rss_mb(server.pid))
                peak["fds"] = max(peak["fds"], fds(server.pid))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            got = attack(port, args.seconds)
        except Exception as exc:  # the attacker's own failure, said in the table
            got = "attack failed: %s" % exc
        done.set()
        sampler.join()
        time.sleep(3.0)  # deadlines pass, sockets close
        worst, cuts = canary.window()
        print("%-27s %6.0f ms %2d cut  %6.0f / %6.0f / %6.0f    %4d/%4d/%4d   %s" % (
            name, worst * 1000, cuts, before_rss, peak["rss"], rss_mb(server.pid), before_fds, peak["fds"],
            fds(server.pid), got), flush=True)
    print("\nbaseline before the first attack: RSS %.0f MB, %d fds" % (start_rss, start_fds))
    print("%.0f s after the last attack (sessions expired): RSS %.0f MB, %d fds"
          % (idle_wait(), rss_mb(server.pid), fds(server.pid)), flush=True)
    canary.stop = True
    server.kill()


if __name__ == "__main__":
    main()
