"""xhr-polling and jsonp-polling on gevent (docs/protocol.rst §4.1, §4.2).

A GET attaches to the session and waits (the request's own greenlet blocks
on an event: no greenlet of its own) until something is queued or
``duration`` passes, then takes the whole outbox as one payload. A POST
decodes its whole payload before delivering any of it, so a malformed body
is refused with ``400`` and delivers nothing.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Protocol, Tuple

from ..protocol.acks import read_query
from ..protocol.errors import ProtocolError
from ..protocol.framing import decode_payload
from ..protocol.outbox import as_text
from ..protocol.origins import Verdict
from ..protocol.routing import Route
from ..protocol.session import OPEN, decode_inbound
from ..transports import jsonp_polling, xhr_polling
from ..transports.common import Headers, cors_headers, parse_form, payload_from_form
from . import responses
from .loop import load_gate
from .peer import HeldRequest
from .sessions import Connection, LiveSession, SessionTable


#: Where a connection served by the loop (:mod:`~socketio_gevent.edge.keepalive`)
#: offers to hold a poll without a greenlet: a :data:`Hold`.
HOLD_KEY = "socketio_gevent.hold"


class Held:
    """What a route returns for a poll the loop holds: no body now, the answer is written later."""

    __slots__ = ()

    def __iter__(self) -> Iterator[bytes]:
        return iter(())


#: The one :class:`Held`.
HELD = Held()

#: ``hold(session, transport, duration, coalesce, resume, finish)``: hold the
#: poll, or answer at once with ``finish(payload)``; ``finish(None)``: refused.
Hold = Callable[[LiveSession, str, Optional[float], float, Optional[int],
                 Callable[[Optional[str]], Iterable[bytes]]], Iterable[bytes]]


class Answerable(Connection, Protocol):
    """A poll, held by its greenlet or by the loop."""

    def hung_up(self) -> bool: ...

    def take_frames(self) -> str: ...


def payload_of(session: LiveSession, connection: Answerable) -> str:
    """What an answered poll carries: the queue and its own frames, or
    nothing if it was taken over, closed or its client is gone."""
    if connection.hung_up():
        return ""  # taken over (the newer request gets the queue), closed, or gone
    return as_text(session.take(connection)) + connection.take_frames()


class PollConnection(HeldRequest):
    """One held GET; it watches its socket only once it really waits."""

    __slots__ = ()

    def wait(self, timeout: Optional[float]) -> None:
        self.watch_peer()
        self._wait(timeout)


def poll(session: LiveSession, transport: str, duration: Optional[float],
         environ: Dict[str, Any], coalesce: float = 0.0, resume: Optional[int] = None) -> Optional[str]:
    """Hold until data or ``duration``; the payload ("" when empty or taken over).

    With data, a busy server holds the answer ``coalesce`` seconds, so it
    sends more per response; a quiet one answers at once. A client
    that hung up meanwhile gets nothing taken from the queue, so its next
    request receives it all. ``None``: the client's ``a=`` count was refused
    and ended the session (``session.failure`` says why).
    """
    connection = PollConnection(transport, environ)
    session.attach(connection, resume)
    if session.failure is not None:
        return None
    try:
        if not session.has_queued() and connection.frames is None:
            connection.wait(duration)
        if coalesce and session.has_queued() and not connection.ended:
            gate = load_gate()
            if gate.holding():
                gate.wait(coalesce)
        return payload_of(session, connection)
    finally:
        connection.stop_watching()
        session.detach(connection)


def _jsonp_index(route: Route) -> int:
    return jsonp_polling.parse_index(route.rest[-1] if route.rest else "")


def _ok(start_response: responses.StartResponse, route: Route, payload: str, cors: Headers) -> Iterable[bytes]:
    body: bytes
    headers: Headers
    if route.transport == "jsonp-polling":
        headers, body = jsonp_polling.response(_jsonp_index(route), payload)
    else:
        headers, body = xhr_polling.response(payload)
    return responses.respond(start_response, 200, headers + cors, body)


def handle(
    sessions: SessionTable,
    route: Route,
    environ: Dict[str, Any],
    start_response: responses.StartResponse,
    verdict: Verdict,
) -> Iterable[bytes]:
    cors = cors_headers(verdict.origin, verdict.credentials)
    method = environ.get("REQUEST_METHOD", "GET")
    try:
        if method == "GET":
            if route.transport == "jsonp-polling":
                _jsonp_index(route)
            return _get(sessions, route, environ, start_response, cors)
        if method == "POST":
            return _post(sessions, route, environ, start_response, cors)
    except ProtocolError as exc:
        return responses.error(start_response, exc.status, exc.reason, cors)
    return responses.error(start_response, 405, "method not allowed", cors + [("Allow", "GET, POST, OPTIONS")])


def _get(sessions: SessionTable, route: Route, environ: Dict[str, Any],
         start_response: responses.StartResponse, cors: Headers) -> Iterable[bytes]:
    wants_acks, resume = read_query(environ.get("QUERY_STRING", ""))
    if not route.sid:
        if not sessions.admit():
            return responses.busy(start_response)
        session = sessions.create(route.transport, environ, wants_acks)
        opening = session.session_frame
        session.open()  # ``connection`` fires; what it sends goes in the next poll
        return _ok(start_response, route, opening, cors)
    found = sessions.find(route.sid)
    if found is None:
        return responses.error(start_response, 404, "unknown or expired session", cors)
    options = sessions.options
    duration = options.transport(route.transport).duration
    hold: Optional[Hold] = environ.get(HOLD_KEY)
    if hold is not None:
        return hold(found, route.transport, duration, options.poll_coalesce, resume,
                    lambda payload: _answer(start_response, route, payload, cors, found))
    payload = poll(found, route.transport, duration, environ, options.poll_coalesce, resume)
    return _answer(start_response, route, payload, cors, found)


def _answer(start_response: responses.StartResponse, route: Route, payload: Optional[str], cors: Headers,
            session: LiveSession) -> Iterable[bytes]:
    if payload is None:
        return responses.error(start_response, 400, session.failure or "refused", cors)
    return _ok(start_response, route, payload, cors)


def _post(sessions: SessionTable, route: Route, environ: Dict[str, Any],
          start_response: responses.StartResponse, cors: Headers) -> Iterable[bytes]:
    session = sessions.find(route.sid) if route.sid else None
    if session is None or session.state is not OPEN:
        return responses.error(start_response, 404, "unknown or expired session", cors)
    limit = sessions.options.max_message_size
    try:
        body = responses.read_body(environ, limit, sessions.options.handshake_timeout)
    except responses.BodyTimeout:
        sessions.late_body(session)
        return responses.error(start_response, 408, "request body not complete in time",
                               cors + [("Connection", "close")])
    except responses.BodyTooLarge as exc:
        sessions.log.warning(
            "max_message_size (%d bytes) exceeded: %s-byte POST for session %s refused",
            limit, exc.size, session.sid,
        )
        return responses.error(
            start_response, 413, "max_message_size (%d bytes) exceeded" % limit,
            cors + [("Connection", "close")],
        )
    except OSError:
        return responses.error(start_response, 400, "unreadable request body", cors)
    fields = parse_form(body)
    if route.transport == "jsonp-polling":
        payload = jsonp_polling.payload_from_jsonp_form(fields)
    else:
        payload = payload_from_form(fields)
    frames = decode_payload(payload, max_length=limit)
    session.deliver(decode_inbound(frames, sessions.options.max_payload_messages), posted=True)
    if session.failure is not None:
        return responses.error(start_response, 400, session.failure, cors)
    headers: List[Tuple[str, str]] = [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", "2"),
                                      ("X-Content-Type-Options", "nosniff")]
    return responses.respond(start_response, 200, headers + cors, b"ok")
