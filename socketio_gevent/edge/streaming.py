"""htmlfile, xhr-multipart and server-events on gevent (docs/protocol.rst §4.5-4.7).

A GET opens a response that stays open: pywsgi writes each chunk our
generator yields (chunked on HTTP/1.1), so the request's own greenlet is the
session's one writer and waits on an event between chunks. Heartbeats come
from the session's timer and are written into the stream at once; a client
that stops echoing them has its stream ended by the session. After
``stream_limit`` bytes the response ends so no browser buffer grows without
end, and the client reopens it within the session. Sends come by POST,
exactly as for the polling transports.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple

from ..protocol.acks import read_query
from ..protocol.errors import ProtocolError
from ..protocol.outbox import as_text
from ..protocol.origins import Verdict
from ..protocol.routing import Route
from ..transports import htmlfile, server_events, xhr_multipart
from ..transports.common import Headers, cors_headers
from . import polling, responses
from .peer import HeldRequest, socket_of
from .sessions import LiveSession, SessionTable


class StreamConnection(HeldRequest):
    """One open streaming response."""

    __slots__ = ()

    def wait(self) -> None:
        """Until there is something to write, or the client hangs up."""
        self._wait()


Envelope = Callable[[str], bytes]


def _envelope(transport: str, environ: Dict[str, Any]) -> Tuple[Headers, bytes, Envelope]:
    if transport == "htmlfile":
        callback = htmlfile.parse_callback(environ.get("QUERY_STRING", ""))
        return htmlfile.headers(), htmlfile.prelude(), lambda p: htmlfile.chunk(callback, p)
    if transport == "xhr-multipart":
        return xhr_multipart.headers(), xhr_multipart.PRELUDE, xhr_multipart.part
    return server_events.headers(), server_events.prelude(), server_events.event


def _stream(session: LiveSession, connection: StreamConnection, prelude: bytes, envelope: Envelope,
            first: Optional[str], stream_limit: int) -> Iterator[bytes]:
    written = 0
    try:
        yield prelude
        if first is not None:
            yield envelope(first)
            session.open()  # ``connection`` fires after the 3: frame is written
        while session.is_attached(connection) and not connection.ended:
            if not session.has_queued() and connection.frames is None:
                connection.wait()  # for work, or for the client closing its end (the peer watch)
            if connection.hung_up():
                break  # noticed at once, as a held poll does; the queue waits for the next request
            payload = as_text(session.take(connection)) + connection.take_frames()
            if payload:
                data = envelope(payload)
                written += len(data)
                yield data
            if written >= stream_limit:
                break
    finally:
        connection.stop_watching()
        session.detach(connection)


def handle(
    sessions: SessionTable,
    route: Route,
    environ: Dict[str, Any],
    start_response: responses.StartResponse,
    verdict: Verdict,
) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        return polling.handle(sessions, route, environ, start_response, verdict)
    cors = cors_headers(verdict.origin, verdict.credentials)
    if method != "GET":
        return responses.error(start_response, 405, "method not allowed", cors + [("Allow", "GET, POST, OPTIONS")])
    try:
        headers, prelude, envelope = _envelope(route.transport, environ)
    except ProtocolError as exc:
        return responses.error(start_response, exc.status, exc.reason, cors)
    try:
        wants_acks, resume = read_query(environ.get("QUERY_STRING", ""))
    except ProtocolError as exc:
        return responses.error(start_response, exc.status, exc.reason, cors)
    first: Optional[str] = None
    if route.sid:
        found = sessions.find(route.sid)
        if found is None:
            return responses.error(start_response, 404, "unknown or expired session", cors)
        session = found
    else:
        if not sessions.admit():
            return responses.busy(start_response)
        session = sessions.create(route.transport, environ, wants_acks)
        first = session.session_frame
    connection = StreamConnection(route.transport, environ)
    session.attach(connection, resume)
    if session.failure is not None:
        return responses.error(start_response, 400, session.failure, cors)
    connection.watch_peer()
    sock = socket_of(environ)
    if sock is not None:
        # Every write of this response must finish within write_timeout: a
        # client that stops reading is cut (its session then waits for it
        # as for any lost connection) instead of holding a greenlet and an fd.
        sock.settimeout(sessions.options.write_timeout)
    start_response(responses.status_line(200), headers + cors)
    return _stream(session, connection, prelude, envelope, first, sessions.options.stream_limit)
