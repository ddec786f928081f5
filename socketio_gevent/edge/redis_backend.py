"""The Redis message bus: broadcasts and disconnects shared by many processes.

Why a stream and not pub/sub: a subscriber whose connection drops for a few
seconds misses every ``PUBLISH`` of that time, silently. A stream keeps its
entries; a reader that comes back reads on from the last id it saw, so a
gap of up to ``backlog`` entries loses nothing. ``XADD … MAXLEN ~`` keeps
Redis's memory bounded.

Why redis-py: it is the client the ecosystem maintains (URLs, TLS, unix
sockets, auth). Its sockets are gevent's only once ``gevent.monkey`` has
patched ``socket`` (gunicorn's gevent workers do); without that one
``XREAD`` would block every client of the process, so :meth:`start`
refuses to run unpatched.

Shape: ``publish`` delivers to this process's clients at once (no round
trip, and local delivery goes on while Redis is away) and queues the
entry, encoded once. One writer greenlet sends the queue in pipelines; one
reader greenlet blocks in ``XREAD`` and delivers what other processes wrote.
Both are supervised: every error is caught, logged (rate-limited) and
retried with backoff on a new connection, so neither ever stops. Past
``max_buffered`` queued entries (Redis away for long) new ones are dropped
and counted: local delivery never waits for Redis.
"""
from __future__ import annotations

import collections
import secrets
import time
from typing import Any, Callable, Deque, Dict, FrozenSet, List, Optional, Tuple

import gevent
from gevent.event import Event
from gevent.lock import Semaphore

from ..api.backends.base import Backend, BusMessage, Deliver
from ..protocol.bus import BusError, BusReader, Entry, encode_entry
from .throttle import Throttled

__all__ = ["RedisBackend", "require_patched_socket"]

#: Entries one pipeline carries: one round trip for a burst of broadcasts.
BATCH = 256
#: Entries one ``XREAD`` returns at most.
READ_COUNT = 1000
#: A process refreshes its "alive" key this often (seconds); the key lapses
#: ``ALIVE_TTL`` after the last refresh, which is how others learn it died.
ALIVE_EVERY = 1.0
ALIVE_TTL = 4.0
#: Entries an inbox keeps at most, and how long it outlives its last entry (ms).
INBOX_BACKLOG = 100_000
INBOX_TTL_MS = 120_000
#: Backoff between reconnection attempts: from ``BACKOFF_MIN`` doubling to ``BACKOFF_MAX``.
BACKOFF_MIN = 0.05
BACKOFF_MAX = 2.0

NOT_PATCHED = ("socketio_gevent: the Redis message queue needs gevent's monkey-patching "
               "(redis-py's sockets would block every client of the process): call "
               "gevent.monkey.patch_all() first thing in the program, or run under "
               "gunicorn -k socketio_gevent.gunicorn.Worker, which does it")


def require_patched_socket() -> None:
    """Raise ``RuntimeError`` (with what to do) unless ``socket`` is gevent's."""
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        raise RuntimeError(NOT_PATCHED)


def connect(url: str, timeout: float) -> Any:
    """A redis-py client for ``url`` that fails fast: no retries inside a call
    (the loops here retry, on a new connection), ``timeout`` on every read."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                retry=Retry(NoBackoff(), 0), single_connection_client=True)


class RedisBackend(Backend):
    """Broadcasts and disconnects through one Redis stream, ``<channel>:bus``.

    ``backlog``: entries the stream keeps (what a reader away for a while can
    still read); ``max_buffered``: entries this process holds while Redis is
    unreachable; ``block``: seconds one ``XREAD`` waits; ``timeout``: seconds
    a Redis call may take past that before the connection is called dead.
    """

    def __init__(self, url: str, channel: str = "socketio_gevent", log: Any = None, *,
                 backlog: int = 100_000, max_buffered: int = 10_000, block: float = 1.0,
                 timeout: float = 3.0) -> None:
        import logging

        self.url = url
        self.channel = channel
        self.key = (channel + ":bus").encode()
        self.log = log if log is not None else logging.getLogger("socketio_gevent")
        self.backlog = backlog
        self.max_buffered = max_buffered
        self.block = block
        self.timeout = timeout
        #: This process on the bus: its own entries are skipped when read.
        self.origin = secrets.token_urlsafe(9).encode()
        #: Where other processes send this one the entries of relayed requests.
        self.inbox = self.relay_key(self.origin)
        self.members_key = (channel + ":members").encode()
        #: The processes on the bus that lived at the writer's last look (this one too).
        self.members: FrozenSet[bytes] = frozenset()
        #: Who takes those entries (:class:`~socketio_gevent.edge.relay.Relay`).
        self.on_relay: Optional[Callable[[Dict[bytes, bytes]], None]] = None
        self._inbox_id = b"0-0"  # a new process's inbox is new: everything in it is for us
        self._query: Any = None
        self._targets: List[Deliver] = []
        self._reader = BusReader(self.origin)
        #: ``(stream, entry)`` pairs waiting for the writer, oldest first.
        self._buffer: Deque[Tuple[bytes, Entry]] = collections.deque()
        self._seq = 0
        self._wake = Event()
        self._last_id: Optional[bytes] = None
        self._greenlets: List[gevent.Greenlet] = []
        self._running = False
        self.reading = False
        self.writing = False
        #: Entries written to Redis, entries dropped because the buffer was full,
        #: messages delivered from other processes, errors survived.
        self.published = 0
        self.dropped = 0
        self.received = 0
        self.errors = 0
        self.last_error: Optional[str] = None
        self._drop_warning = Throttled(10.0)
        self._query_lock = Semaphore()
        self._error_warning: Dict[str, Throttled] = {}

    # -- the Backend interface ----------------------------------------------
    def attach(self, deliver: Deliver) -> None:
        self._targets.append(deliver)

    def publish(self, message: BusMessage) -> None:
        self._deliver(message)
        if len(self._buffer) >= self.max_buffered:
            self.dropped += 1
            count = self._drop_warning.note()
            if count:
                self.log.warning("message bus %s unreachable: dropped %d message(s) for other processes "
                                 "(%d held, max_buffered); this process's clients still get them",
                                 self.url, count, len(self._buffer))
            return
        self._seq += 1
        self._buffer.append((self.key, encode_entry(self.origin, self._seq, message)))
        self._wake.set()

    # -- what the relay uses ------------------------------------------------
    def relay_key(self, origin: bytes) -> bytes:
        return b"%s:relay:%s" % (self.channel.encode(), origin)

    def alive_key(self, origin: bytes) -> bytes:
        return b"%s:alive:%s" % (self.channel.encode(), origin)

    def send_to(self, origin: bytes, entry: Entry) -> bool:
        """Queue ``entry`` for process ``origin``'s inbox; ``False`` if the
        buffer is full (the caller's tunnel must end: its bytes would have a gap)."""
        if len(self._buffer) >= self.max_buffered:
            self.dropped += 1
            return False
        self._buffer.append((self.relay_key(origin), entry))
        self._wake.set()
        return True

    def alive(self, origins: List[bytes]) -> Dict[bytes, bool]:
        """Which of these processes are alive (their key refreshed within ``ALIVE_TTL``).

        Raises redis-py's errors when Redis cannot answer.
        """
        with self._query_lock:
            if self._query is None:
                self._query = connect(self.url, self.timeout)
            try:
                pipe = self._query.pipeline(transaction=False)
                for origin in origins:
                    pipe.exists(self.alive_key(origin))
                answers = pipe.execute()
            except Exception:
                query, self._query = self._query, None
                query.close()
                raise
        return {origin: bool(answer) for origin, answer in zip(origins, answers)}

    def start(self) -> None:
        if self._running:
            return
        require_patched_socket()
        self._running = True
        self._greenlets = [gevent.spawn(self._supervise, "reader", self._read),
                           gevent.spawn(self._supervise, "writer", self._write)]

    def wait_ready(self, timeout: float) -> bool:
        """Until both loops are connected (and the live members known), at most
        ``timeout`` seconds: a worker that serves before that would answer
        every relayed request 503. ``False``: Redis is not there yet (the
        loops keep trying; local clients are served meanwhile)."""
        deadline = time.monotonic() + timeout
        while not (self.reading and self.writing):
            if time.monotonic() >= deadline:
                return False
            gevent.sleep(0.02)
        return True

    def health(self) -> Dict[str, Any]:
        return {
            "backend": "redis",
            "connected": self.reading and self.writing,
            "reading": self.reading,
            "writing": self.writing,
            "buffered": len(self._buffer),
            "published": self.published,
            "received": self.received,
            "dropped": self.dropped,
            "missed": self._reader.missed,
            "duplicates": self._reader.duplicates,
            "errors": self.errors,
            "last_error": self.last_error,
        }

    def close(self) -> None:
        self._running = False
        self._targets.clear()
        self.on_relay = None
        if self._query is not None:
            self._query.close()
            self._query = None
        gevent.killall(self._greenlets, block=False)
        self._greenlets = []

    # -- the two loops ------------------------------------------------------
    def _deliver(self, message: BusMessage) -> None:
        for deliver in self._targets:
            try:
                deliver(message)
            except Exception:  # one listener's failure must not stop the bus
                self.log.exception("delivering a message from the bus failed")

    def _supervise(self, name: str, loop: Callable[[], None]) -> None:
        """Run ``loop`` until close, whatever it raises: a bus that goes deaf
        or mute loses messages silently, which is worse than a noisy log."""
        backoff = BACKOFF_MIN
        while self._running:
            began = time.monotonic()
            try:
                loop()
            except gevent.GreenletExit:
                return
            except Exception as error:  # noqa: BLE001 (supervisor: log every failure, go on)
                self.errors += 1
                self.last_error = "%s: %s: %s" % (name, type(error).__name__, error)
                throttle = self._error_warning.setdefault(name, Throttled(10.0))
                count = throttle.note()
                if count:
                    self.log.warning("message bus %s, %s: %s (%d error(s)); reconnecting",
                                     self.url, name, self.last_error, count)
            finally:
                if name == "reader":
                    self.reading = False
                else:
                    self.writing = False
            if time.monotonic() - began > 10 * BACKOFF_MAX:
                backoff = BACKOFF_MIN  # it ran a good while: start again gently
            gevent.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _read(self) -> None:
        client = connect(self.url, self.block + self.timeout)
        try:
            if self._last_id is None:
                self._last_id = self._stream_end(client)
            self.reading = True
            conn = client.connection  # one connection, spoken to directly: see _command
            block_ms = int(self.block * 1000)
            while self._running:
                answer = _command(conn, b"XREAD", b"COUNT", READ_COUNT, b"BLOCK", block_ms,
                                  b"STREAMS", self.key, self.inbox, self._last_id, self._inbox_id)
                for key, entries in (answer.items() if isinstance(answer, dict) else answer or ()):
                    if key == self.key:
                        for entry_id, fields in entries:
                            self._last_id = entry_id
                            self._take(_fields(fields))
                    else:
                        for entry_id, fields in entries:
                            self._inbox_id = entry_id
                            self._relayed(_fields(fields))
        finally:
            client.close()

    def _take(self, fields: Dict[bytes, bytes]) -> None:
        try:
            message = self._reader.read(fields)
        except BusError as error:
            self.errors += 1
            self.log.warning("message bus %s: skipped an entry: %s", self.url, error)
            return
        if message is not None:
            self.received += 1
            self._deliver(message)

    def _announce(self, client: Any) -> None:
        """Say this process lives, and learn which others do.

        Each process keeps its score in ``<channel>:members`` at Redis's own
        clock (no two machines' clocks are compared); members whose score is
        older than ``ALIVE_TTL`` are gone. The relay refuses at once a
        session id that names no member: a made-up or dead owner costs one
        set lookup, not a tunnel and a wait.
        """
        seconds, micros = client.time()
        now = seconds + micros / 1e6
        members = self.members_key
        pipe = client.pipeline(transaction=False)
        pipe.set(self.alive_key(self.origin), b"1", px=int(ALIVE_TTL * 1000))
        pipe.zadd(members, {self.origin: now})
        pipe.zremrangebyscore(members, "-inf", now - ALIVE_TTL)
        pipe.zrange(members, 0, -1)
        alive = pipe.execute()[-1]
        self.members = frozenset(alive)

    def _relayed(self, fields: Dict[bytes, bytes]) -> None:
        handler = self.on_relay
        if handler is None:
            return
        try:
            handler(fields)
        except Exception:  # a relay bug must not make the reader deaf
            self.errors += 1
            self.log.exception("message bus %s: a relayed entry failed", self.url)

    def _stream_end(self, client: Any) -> bytes:
        """Where a new reader starts: after the last entry (history is not replayed)."""
        import redis

        try:
            info = client.xinfo_stream(self.key)
        except redis.ResponseError:  # no stream yet: everything from the start is new
            return b"0-0"
        last = info.get("last-generated-id") or info.get(b"last-generated-id") or b"0-0"
        return last if isinstance(last, bytes) else str(last).encode()

    def _write(self) -> None:
        client = connect(self.url, self.timeout)
        buffer = self._buffer
        try:
            self._announce(client)  # first: the relay trusts the members once writing
            conn = client.connection
            self.writing = True
            alive_at = time.monotonic()
            while self._running:
                if time.monotonic() - alive_at >= ALIVE_EVERY:
                    self._announce(client)  # also tells us when Redis went away
                    alive_at = time.monotonic()
                if not buffer:
                    self._wake.clear()
                    self._wake.wait(ALIVE_EVERY)
                    continue
                batch = [buffer[i] for i in range(min(BATCH, len(buffer)))]
                commands: List[Tuple[Any, ...]] = []
                for key, entry in batch:
                    if key == self.key:
                        commands.append((b"XADD", key, b"MAXLEN", b"~", self.backlog, b"*", *_flat(entry)))
                    else:  # an inbox: bounded, and gone a while after its process
                        commands.append((b"XADD", key, b"MAXLEN", b"~", INBOX_BACKLOG, b"*", *_flat(entry)))
                        commands.append((b"PEXPIRE", key, INBOX_TTL_MS))
                _pipeline(conn, commands)
                for _ in batch:  # only now: an entry whose answer was lost is sent again (readers drop the copy)
                    buffer.popleft()
                self.published += len(batch)
        finally:
            client.close()


# -- one connection, spoken to directly --------------------------------------
# The two loops send a command per broadcast. redis-py's client methods wrap
# each in a pool checkout, a retry policy and reply callbacks that turn
# entries into dicts: as much again as the command itself (bench/redis_calls.py:
# an XADD 121 -> 59 µs of CPU, an XREAD of one entry 80 -> 55 µs). The
# connection redis-py opened (URL, TLS, auth, database, hiredis parser) is
# kept; only that wrapping is skipped. A command that fails raises, and the
# supervisor closes the connection: replies left unread never desynchronise.

def _command(conn: Any, *args: Any) -> Any:
    conn.send_packed_command(conn.pack_command(*args), check_health=False)
    return conn.read_response()


def _pipeline(conn: Any, commands: List[Tuple[Any, ...]]) -> None:
    conn.send_packed_command(conn.pack_commands(commands), check_health=False)
    for _ in commands:
        conn.read_response()


def _flat(entry: Entry) -> List[bytes]:
    return [part for pair in entry.items() for part in pair]


def _fields(fields: Any) -> Dict[bytes, bytes]:
    """An entry's fields as redis replies them: ``[f1, v1, f2, v2, …]`` (or a map in RESP3)."""
    if isinstance(fields, dict):
        return fields
    it = iter(fields)
    return dict(zip(it, it))
