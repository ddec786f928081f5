"""Attacks against a real server, with a canary measuring round trips throughout.

    .venv/bin/python bench/attack.py [--seconds 6]

Starts our server (socket.io, a broadcasting chat-like app, default limits
except the deadlines, shortened so that a run takes a minute) in its own
process, keeps a canary WebSocket client doing an echo round trip every
50 ms, and runs one attack at a time from plain threads. For each attack it
prints the canary's worst round trip during it, the server's RSS and open
fds before, during and after, and what the attacker got back. The canary's
worst round trip should stay under a second in every row.
"""
from __future__ import annotations

import argparse
import base64
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from socketio_gevent.websocket.rfc6455 import RFC6455Codec  # noqa: E402

_CLIENT = RFC6455Codec(client=True)

SERVER = r"""
import sys
from gevent.pywsgi import WSGIServer
import socketio_gevent
server = WSGIServer(("127.0.0.1", 0), None, log=None, backlog=4096)
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
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("closed during the handshake")
        head += chunk
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
    """An echo round trip over WebSocket every 50 ms; the worst per window."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.sock = ws_open(port)
        self.sock.settimeout(30)
        self.buffer = b""
        self.worst = 0.0
        self.failures = 0
        self.stop = False

    def _read_until(self, text: bytes) -> None:
        while text not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("canary closed")
            self.buffer += chunk
        self.buffer = self.buffer.split(text, 1)[1]

    def run(self) -> None:
        n = 0
        while not self.stop:
            n += 1
            token = "echo:%d" % n
            started = time.monotonic()
            try:
                self.sock.sendall(ws_text(frame(token)))
                self._read_until(frame(token).encode())
            except OSError:  # cut: say so in the table, and come back as a new client
                self.failures += 1
                self.sock.close()
                self.buffer = b""
                try:
                    self.sock = ws_open(self.port)
                    self.sock.settimeout(30)
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
    s = ws_open(port)
    chunk = b"".join(ws_text(frame("flood %d" % i)) for i in range(2000))
    drain = threading.Thread(target=lambda: _drain(s), daemon=True)
    drain.start()
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        try:
            s.sendall(chunk)
            sent += 2000
        except OSError:
            break
    s.close()
    return "%d broadcast messages flooded in" % sent


def _drain(s: socket.socket) -> None:
    try:
        while s.recv(65536):
            pass
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


def stuck_readers(port: int, seconds: float) -> str:
    socks = []
    for _ in range(20):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /socket.io/xhr-multipart HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    time.sleep(0.5)
    trigger = ws_open(port)
    for _ in range(40):
        trigger.sendall(ws_text(frame("big")))
    end = time.monotonic() + seconds
    closed = 0
    while time.monotonic() < end:
        time.sleep(0.5)
    for s in socks:
        s.setblocking(False)
        try:
            while s.recv(1 << 20):
                pass
        except BlockingIOError:
            continue  # still open
        except OSError:
            pass
        closed += 1
    for s in socks:
        s.close()
    trigger.close()
    return "%d of 20 non-reading streams cut" % closed


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
    return "lone surrogate: %s; 1e999: %s; CR in Origin: %s" % (a, b, c)


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
    ("slow bodies (200 POSTs)", slow_body),
    ("WebSocket flood", echo_flood),
    ("amplification burst", amplification),
    ("stuck stream readers", stuck_readers),
    ("session flood", session_flood),
    ("invalid text", invalid_text),
    ("smuggling shapes", smuggling),
    ("CORS", cors),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())  # type: ignore[union-attr]
    canary = Canary(port)
    canary.start()
    time.sleep(1.0)
    print("attack                      canary worst, cut  RSS MB before/during/after   fds b/d/a       attacker got")
    for name, attack in ATTACKS:
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
    canary.stop = True
    server.kill()


if __name__ == "__main__":
    main()
