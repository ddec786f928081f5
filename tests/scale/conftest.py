"""Real parts for the scale-out tests: a private redis-server and gunicorn masters.

Every Redis is started here on a free port of 127.0.0.1 (or a unix socket)
with no persistence, and stopped after; every worker process is a real
``gunicorn -k socketio_gevent.gunicorn.Worker`` serving ``tests.scale.app``.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import gevent
import pytest
from gevent import socket

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def wait_port(port: int, timeout: float = 15.0, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            gevent.sleep(0.05)
    raise TimeoutError("nothing listens on port %d" % port)


class Redis:
    """One redis-server process; ``restart`` keeps its port (and loses its data)."""

    def __init__(self, workdir: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed: ./run-tests installs it (apt-get install redis-server)")
        self.workdir = workdir
        self.port = free_port()
        self.unix = str(workdir / "redis.sock")
        self.proc: Optional[subprocess.Popen] = None
        self.start()

    @property
    def url(self) -> str:
        return "redis://127.0.0.1:%d/0" % self.port

    @property
    def unix_url(self) -> str:
        return "unix://%s?db=0" % self.unix

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--unixsocket", self.unix,
             "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", "--dir", str(self.workdir),
             "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        gevent.sleep(down_for)
        self.start()

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=10)


class Gunicorn:
    """One gunicorn master (``workers`` workers) serving tests/scale/app.py."""

    def __init__(self, workdir: Path, redis_url: Optional[str], workers: int = 1, port: Optional[int] = None,
                 extra: Optional[List[str]] = None, worker_class: str = "socketio_gevent.gunicorn.Worker",
                 channel: str = "scale") -> None:
        self.port = port or free_port()
        self.log_path = workdir / ("gunicorn-%d-%d.log" % (self.port, time.monotonic_ns()))
        env = dict(os.environ, SCALE_CHANNEL=channel, PYTHONPATH=str(ROOT))
        if redis_url:
            env["SCALE_REDIS_URL"] = redis_url
        args = [str(BIN / "gunicorn"), "-k", worker_class, "-w", str(workers), "-b", "127.0.0.1:%d" % self.port,
                "--control-socket", str(workdir / ("ctl-%d" % self.port)), "--graceful-timeout", "2",
                "--log-level", "info", "--access-logfile", "-"] + list(extra or []) + ["tests.scale.app:app"]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        wait_port(self.port, proc=self.proc)
        self.workers = workers
        self.wait_workers(workers)

    @property
    def text(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def worker_pids(self) -> List[int]:
        """Workers booted and not yet seen exiting."""
        text = self.text
        booted = [int(p) for p in re.findall(r"Booting worker with pid: (\d+)", text)]
        gone = {int(p) for p in re.findall(r"Worker exiting \(pid: (\d+)\)", text)}
        gone |= {int(p) for p in re.findall(r"Worker \(pid:(\d+)\) was sent SIGKILL", text)}
        return [pid for pid in booted if pid not in gone and _alive(pid)]

    def wait_workers(self, count: int, timeout: float = 20.0) -> List[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) >= count:
                gevent.sleep(0.3)  # the worker has booted: give it time to open its bus
                return pids
            gevent.sleep(0.05)
        raise TimeoutError("%d worker(s) did not boot:\n%s" % (count, self.text[-3000:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Any]:
    started: List[Gunicorn] = []

    def start(redis_url: Optional[str], **kwargs: Any) -> Gunicorn:
        master = Gunicorn(tmp_path, redis_url, **kwargs)
        started.append(master)
        return master

    yield start
    for master in started:
        master.stop()


def health(port: int) -> Dict[str, Any]:
    """The worker's ``listener.health()`` (the test app serves it at /health)."""
    from socketio_gevent.client.http import HTTPConnection
    import ast

    response = HTTPConnection("127.0.0.1", port, 10).request("GET", "/health")
    return ast.literal_eval(response.body.decode())  # type: ignore[no-any-return]
