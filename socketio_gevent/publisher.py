"""The write-only emitter: reach clients from a process that serves none.

A Celery task, a Django management command or a cron script sends to the
clients of the servers that share a Redis message bus::

    from socketio_gevent import Emitter

    emitter = Emitter("redis://localhost:6379/0")
    emitter.emit("news", {"title": "hello"})           # every client
    emitter.send("hi", to="lobby")                     # the members of a room
    emitter.send("just you", to=session_id)            # one client, wherever it is
    emitter.disconnect(session_id)

It writes the same entries as a server's broadcast (``protocol.bus``) and
encodes each message once. It is plain blocking redis-py and imports no
gevent, so it works in threads and in any worker; in a gevent program,
monkey-patch first (an unpatched blocking call would stall the loop).
Each call returns once Redis has the entry (or raises redis-py's error):
messages from one emitter reach every client in the order they were sent.
"""
from __future__ import annotations

import secrets
import threading
from typing import Any, Dict, Iterable, Optional, Union

from .api.backends.base import except_set
from .api.rooms import room_name
from .protocol.bus import Broadcast, BusMessage, Disconnect, encode_entry
from .protocol.events import encode_event
from .protocol.outbox import Annotations, encode_item

__all__ = ["Emitter"]


class Emitter:
    """Broadcasts, room and session sends, disconnects, through ``<channel>:bus``.

    ``channel`` must be the servers' ``channel`` option; ``backlog`` the
    stream length they keep (the servers' default unless you changed it).
    """

    def __init__(self, url: str, channel: str = "socketio_gevent", backlog: int = 100_000,
                 timeout: float = 5.0) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.key = (channel + ":bus").encode()
        self.backlog = backlog
        #: This emitter's name on the bus (readers keep its order and drop copies by it).
        self.origin = secrets.token_urlsafe(9).encode()
        self._seq = 0
        self._lock = threading.Lock()

    def send(self, message: Any, to: Optional[str] = None, except_: Union[str, Iterable[str], None] = None,
             annotations: Annotations = None) -> None:
        """``message`` to every client, or to room ``to`` (a session id is its
        client's room), but the sessions in ``except_``."""
        self._publish(Broadcast(encode_item(message, annotations), except_set(except_),
                                None if to is None else room_name(to)))

    def broadcast(self, message: Any, except_: Union[str, Iterable[str], None] = None,
                  annotations: Annotations = None, room: Optional[str] = None) -> None:
        """As ``listener.broadcast``."""
        self.send(message, room, except_, annotations)

    def emit(self, event: str, *args: Any, to: Optional[str] = None,
             except_: Union[str, Iterable[str], None] = None) -> None:
        """The named event (docs/protocol.rst §10) to every client, or to room ``to``."""
        self._publish(Broadcast(encode_event(event, args), except_set(except_), None if to is None else room_name(to)))

    def disconnect(self, sid: str) -> None:
        """End the session ``sid`` (its client gets ``0:0:,``), wherever it lives."""
        self._publish(Disconnect(sid))

    def close(self) -> None:
        self.redis.close()

    def _publish(self, message: BusMessage) -> None:
        with self._lock:
            seq = self._seq + 1  # taken only once Redis has it: a failed call leaves no gap
            fields: Dict[Any, Any] = encode_entry(self.origin, seq, message)  # redis-py's type is wider
            self.redis.xadd(self.key, fields, maxlen=self.backlog, approximate=True)
            self._seq = seq

    def __enter__(self) -> "Emitter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

