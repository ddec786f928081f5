"""Listener options: the defaults of docs/protocol.rst §4 and §6 in one table.

Options are validated once, when the listener is made, so a typo such as
``close_timout=3`` fails at start-up with a ``TypeError`` naming it instead
of being silently ignored while the server runs on defaults.

Example::

    opts = Options.build(transports=["xhr-polling"], origins="*:*")
    opts.transport("xhr-polling").duration   # 20.0
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

#: Every transport the server implements, in the browser client's fallback order.
ALL_TRANSPORTS: Tuple[str, ...] = (
    "websocket",
    "server-events",
    "flashsocket",
    "htmlfile",
    "xhr-multipart",
    "xhr-polling",
    "jsonp-polling",
)

#: Transports that hold one long-lived stream and so use heartbeats (§4, §5).
STREAMING_TRANSPORTS = frozenset(
    {"websocket", "flashsocket", "htmlfile", "xhr-multipart", "server-events"}
)
POLLING_TRANSPORTS = frozenset({"xhr-polling", "jsonp-polling"})
WEBSOCKET_TRANSPORTS = frozenset({"websocket", "flashsocket"})


@dataclasses.dataclass(frozen=True)
class TransportOptions:
    """Timers of one transport, in seconds (docs/protocol.rst §4 table).

    ``None`` for the heartbeat fields means "no heartbeats" (polling).
    """

    heartbeat_interval: Optional[float]
    heartbeat_timeout: Optional[float]
    close_timeout: float
    duration: Optional[float]


def _default_transport_options(name: str) -> TransportOptions:
    if name in POLLING_TRANSPORTS:
        return TransportOptions(None, None, 8.0, 20.0)
    return TransportOptions(10.0, 8.0, 8.0, None)


LogTarget = Union[logging.Logger, Callable[[str], Any], None]


@dataclasses.dataclass(frozen=True)
class Options:
    """The validated options of one :class:`~socketio_gevent.listener.Listener`."""

    resource: str = "socket.io"
    transports: Tuple[str, ...] = ALL_TRANSPORTS
    transport_options: Mapping[str, TransportOptions] = dataclasses.field(
        default_factory=dict
    )
    #: ``None`` = same origin only; ``"*:*"`` = everyone; or a list of
    #: ``host:port`` patterns with ``*`` wildcards (§6).
    origins: Union[str, Sequence[str], None] = None
    flash_policy_server: bool = True
    flash_policy_port: int = 843
    log: LogTarget = None
    max_message_size: int = 1024 * 1024
    #: Messages one inbound payload (a POST, a WebSocket message) may carry.
    max_payload_messages: int = 1000
    #: Messages per second one session may send, on average over a second;
    #: past it the server stops reading from that client until it may
    #: (it slows itself, loses nothing). ``None`` = no pace.
    inbound_rate: Optional[float] = 2000.0
    #: Outbound queue bound per session, as an estimate of the memory it
    #: holds (each message weighs its length plus 64): past it the session
    #: ends. ``max_queue_messages`` adds a bound on the count (None = none).
    max_queue_messages: Optional[int] = None
    max_queue_bytes: int = 16 * 1024 * 1024
    handshake_timeout: float = 10.0
    #: Seconds one write to a streaming client may take; a client that stops
    #: reading is cut (its session waits for it as for any lost connection).
    write_timeout: float = 10.0
    #: Live sessions this process keeps at most; a new one past it gets 503
    #: with Retry-After (one client cannot fill memory with sessions).
    max_sessions: int = 20000
    #: Open connections this listener keeps at most (sockets, WebSockets
    #: included); past it a new one gets 503 unread. ``None`` = the
    #: process's descriptor limit less a reserve (1 %, at least 128).
    max_connections: Optional[int] = None
    #: Bytes after which htmlfile and xhr-multipart end a response (§4.5).
    stream_limit: int = 128 * 1024
    #: Offer permessage-deflate (RFC 7692) to RFC 6455 clients that ask for it:
    #: True without context takeover (an idle connection holds no zlib state),
    #: "context" keeping one per side (better ratio, ~100 KiB idle), False off.
    websocket_deflate: Union[bool, str] = True
    #: Longest a long-poll answer waits for the server to run out of other
    #: work (seconds): on a busy server each response then carries what
    #: queued meanwhile; a quiet server answers at once. 0 turns it off.
    poll_coalesce: float = 0.02
    #: Offer the acks extension (docs/protocol.rst §9) to clients that ask.
    acknowledgements: bool = True
    #: The Redis URL of the message bus shared by several processes
    #: (``redis://host:6379/0``, ``rediss://…``, ``unix:///path?db=0``);
    #: ``None``: this process alone.
    message_queue: Optional[str] = None
    #: The name every key of the bus starts with: processes of one
    #: application share it, two applications on one Redis do not.
    channel: str = "socketio_gevent"
    on_client_connect: Optional[Callable[..., Any]] = None
    on_client_message: Optional[Callable[..., Any]] = None
    on_client_disconnect: Optional[Callable[..., Any]] = None

    @classmethod
    def build(cls, **kwargs: Any) -> "Options":
        """Validate keyword options against the table above.

        Raises ``TypeError`` naming every unknown option and ``ValueError``
        for a value of the right name but an impossible kind.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(
                "unknown socketio_gevent option(s): %s (known: %s)"
                % (", ".join(unknown), ", ".join(sorted(known)))
            )
        resource = kwargs.get("resource", cls.resource)
        if not isinstance(resource, str) or not resource or "/" in resource:
            raise ValueError("resource must be a non-empty name without '/'")
        transports = tuple(kwargs.get("transports", ALL_TRANSPORTS))
        bad = [t for t in transports if t not in ALL_TRANSPORTS]
        if bad:
            raise ValueError("unknown transport(s): %s" % ", ".join(bad))
        kwargs["transports"] = transports
        kwargs["transport_options"] = _merge_transport_options(
            kwargs.get("transport_options") or {}
        )
        for name in ("max_message_size", "max_queue_messages", "max_queue_bytes", "stream_limit", "max_sessions",
                     "max_payload_messages", "max_connections"):
            if name in ("max_queue_messages", "max_connections") and kwargs.get(name, 0) is None:
                continue
            if name in kwargs and (isinstance(kwargs[name], bool) or not isinstance(kwargs[name], int)
                                   or kwargs[name] <= 0):
                raise ValueError("%s must be a positive int" % name)
        rate = kwargs.get("inbound_rate", cls.inbound_rate)
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0):
            raise ValueError("inbound_rate must be a positive number of messages per second, or None")
        if kwargs.get("websocket_deflate", True) not in (True, False, "context"):
            raise ValueError('websocket_deflate must be True, False or "context"')
        write_timeout = kwargs.get("write_timeout", cls.write_timeout)
        if isinstance(write_timeout, bool) or not isinstance(write_timeout, (int, float)) or write_timeout <= 0:
            raise ValueError("write_timeout must be a positive number of seconds")
        coalesce = kwargs.get("poll_coalesce", cls.poll_coalesce)
        if isinstance(coalesce, bool) or not isinstance(coalesce, (int, float)) or not 0 <= coalesce <= 1:
            raise ValueError("poll_coalesce must be a number of seconds from 0 to 1")
        queue = kwargs.get("message_queue")
        if queue is not None and (not isinstance(queue, str)
                                  or not queue.startswith(("redis://", "rediss://", "unix://"))):
            raise ValueError("message_queue must be a redis://, rediss:// or unix:// URL, or None")
        channel = kwargs.get("channel", cls.channel)
        if not isinstance(channel, str) or not channel or any(c.isspace() for c in channel):
            raise ValueError("channel must be a non-empty name without spaces")
        origins = kwargs.get("origins")
        if origins is not None and not isinstance(origins, str):
            kwargs["origins"] = tuple(origins)
        return cls(**kwargs)

    def transport(self, name: str) -> TransportOptions:
        return self.transport_options[name]


def _merge_transport_options(given: Mapping[str, Mapping[str, Any]]) -> Dict[str, TransportOptions]:
    unknown = sorted(set(given) - set(ALL_TRANSPORTS))
    if unknown:
        raise ValueError("transport_options for unknown transport(s): %s" % ", ".join(unknown))
    fields = {f.name for f in dataclasses.fields(TransportOptions)}
    merged: Dict[str, TransportOptions] = {}
    for name in ALL_TRANSPORTS:
        base = _default_transport_options(name)
        override = dict(given.get(name, {}))
        bad: List[str] = sorted(set(override) - fields)
        if bad:
            raise TypeError(
                "unknown transport option(s) for %s: %s" % (name, ", ".join(bad))
            )
        merged[name] = dataclasses.replace(base, **override)
    return merged
