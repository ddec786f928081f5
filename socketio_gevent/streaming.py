"""htmlfile, xhr-multipart and server-events on the gevent side (§4.5-4.7).

A GET opens a response that stays open: pywsgi writes each chunk our
generator yields (chunked on HTTP/1.1), so the request's own greenlet is the
session's one writer and waits on an event between chunks. Heartbeats are
written into the stream directly; a client that stops echoing them gets its
stream closed. After ``stream_limit`` bytes the response ends so no browser
buffer grows without end, and the client reopens it within the session.
Sends come by POST, exactly as for the polling transports.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional

from . import http, polling
from .heartbeat import Heartbeater
from .peer import HeldRequest
from .listener import Listener
from .protocol.framing import ProtocolError
from .protocol.session import as_text
from .routing import Route
from .sessions import CLOSED, CLOSING, Session
from .transports import htmlfile, server_events, xhr_multipart
from .transports.common import Headers, cors_headers


class StreamConnection(HeldRequest):
    """One open streaming response: a :class:`~socketio_gevent.sessions.Connection`."""

    __slots__ = ("heartbeat",)

    def __init__(self, transport: str, environ: dict) -> None:
        super().__init__(transport, environ)
        #: A heartbeat frame waiting to be written (never queued in the outbox).
        self.heartbeat: Optional[str] = None
        self.watch_peer()

    def send_heartbeat(self, frame: str) -> None:
        self.heartbeat = frame
        self._event.set()

    def wait(self) -> None:
        """Until there is something to write, or the client hangs up."""
        self._event.wait()
        self._event.clear()


Envelope = Callable[[str], bytes]


def _envelope(transport: str, environ: dict) -> "tuple[Headers, bytes, Envelope]":
    if transport == "htmlfile":
        callback = htmlfile.parse_callback(environ.get("QUERY_STRING", ""))
        return htmlfile.headers(), htmlfile.prelude(), lambda p: htmlfile.chunk(callback, p)
    if transport == "xhr-multipart":
        return xhr_multipart.headers(), xhr_multipart.PRELUDE, xhr_multipart.part
    return server_events.headers(), server_events.prelude(), server_events.event


def _stream(session: Session, connection: StreamConnection, prelude: bytes, envelope: Envelope,
            first: Optional[str], stream_limit: int) -> Iterator[bytes]:
    opts = session.listener.options.transport(connection.transport)

    def expire(number: int) -> None:
        session.log.info("session %s: heartbeat %d not answered", session.sid, number)
        connection.end()

    heartbeater = Heartbeater(session.heartbeats, opts.heartbeat_interval, opts.heartbeat_timeout,
                              connection.send_heartbeat, expire)
    written = 0
    try:
        yield prelude
        if first is not None:
            yield envelope(first)
            session.open()  # ``connection`` fires after the 3: frame is written
        heartbeater.start()
        while session.connection is connection and not connection.ended:
            if not session.outbox and connection.heartbeat is None:
                connection.wait()
                continue
            if connection.hung_up():
                break  # keep the queue for the client's next request
            items = session.take()
            beat, connection.heartbeat = connection.heartbeat, None
            payload = as_text(items) + (beat or "")
            if payload:
                data = envelope(payload)
                written += len(data)
                yield data
            if session.state == CLOSING and not session.outbox:
                break  # the 0:0:, is out: the session ends with this stream
            if written >= stream_limit:
                break
    finally:
        heartbeater.stop()
        connection.stop_watching()
        session.detach(connection)


def handle(
    listener: Listener,
    route: Route,
    environ: dict,
    start_response: http.StartResponse,
    origin: Optional[str],
) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        return polling.handle(listener, route, environ, start_response, origin)
    cors = cors_headers(origin)
    if method != "GET":
        return http.error(start_response, 405, "method not allowed", cors + [("Allow", "GET, POST, OPTIONS")])
    try:
        headers, prelude, envelope = _envelope(route.transport, environ)
    except ProtocolError as exc:
        return http.error(start_response, 400, exc.reason, cors)
    first: Optional[str] = None
    if route.sid:
        found = listener.sessions.get(route.sid)
        if found is None or found.state == CLOSED:
            return http.error(start_response, 404, "unknown or expired session", cors)
        session = found
    else:
        session = Session(listener, route.transport, environ)
        first = session.session_frame
    connection = StreamConnection(route.transport, environ)
    session.attach(connection)
    start_response(http.status_line(200), headers + cors)
    return _stream(session, connection, prelude, envelope, first, listener.options.stream_limit)

