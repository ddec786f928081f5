"""xhr-polling and jsonp-polling on the gevent side (PROTOCOL.md §4.1, §4.2).

A GET attaches to the session, waits (without a greenlet of its own: the
request's greenlet simply blocks on an event) until something is queued or
``duration`` passes, then takes the whole outbox as one payload. A POST
decodes its whole payload before delivering any of it, so a malformed body
is refused with ``400`` and delivers nothing.
"""
from __future__ import annotations

from typing import Iterable, List, Optional

from . import http
from .listener import Listener
from .peer import HeldRequest
from .protocol.framing import ProtocolError, decode_payload
from .protocol.session import as_text
from .routing import Route
from .sessions import CLOSED, OPEN, Session, decode_inbound
from .timers import idle_gate
from .transports import jsonp_polling, xhr_polling
from .transports.common import Headers, cors_headers, parse_form, payload_from_form


class PollConnection(HeldRequest):
    """One held GET; it watches its socket only once it really waits."""

    __slots__ = ()

    def wait(self, timeout: Optional[float]) -> None:
        self.watch_peer()
        self._event.wait(timeout)


def poll(session: Session, transport: str, duration: Optional[float], environ: dict, coalesce: float = 0.0) -> str:
    """Hold until data or ``duration``; the payload ("" when empty or taken over).

    With data, the answer waits (at most ``coalesce`` seconds) for the
    server to be idle, so a busy server sends more per response. A client
    that hung up meanwhile gets nothing taken from the queue, so its next
    request receives it all.
    """
    connection = PollConnection(transport, environ)
    session.attach(connection)
    try:
        if not session.outbox:
            connection.wait(duration)
        if coalesce and session.outbox and not connection.ended:
            idle_gate().wait(coalesce)
        if connection.hung_up():
            return ""  # taken over (the newer request gets the queue), closed, or gone
        return as_text(session.take())
    finally:
        connection.stop_watching()
        session.detach(connection)


def _ok(start_response: http.StartResponse, transport: str, route: Route, payload: str, cors: Headers) -> Iterable[bytes]:
    if transport == "jsonp-polling":
        headers, body = jsonp_polling.response(jsonp_polling.parse_index(route.rest[-1] if route.rest else ""), payload)
    else:
        headers, body = xhr_polling.response(payload)
    return http.respond(start_response, 200, headers + cors, body)


def handle(
    listener: Listener,
    route: Route,
    environ: dict,
    start_response: http.StartResponse,
    origin: Optional[str],
) -> Iterable[bytes]:
    transport = route.transport
    cors = cors_headers(origin)
    method = environ.get("REQUEST_METHOD", "GET")
    try:
        if transport == "jsonp-polling" and method == "GET":
            jsonp_polling.parse_index(route.rest[-1] if route.rest else "")
        if method == "GET":
            if not route.sid:
                session = Session(listener, transport, environ)
                payload = session.session_frame
                session.open()
                return _ok(start_response, transport, route, payload, cors)
            session = listener.sessions.get(route.sid)
            if session is None or session.state == CLOSED:
                return http.error(start_response, 404, "unknown or expired session", cors)
            options = listener.options
            duration = options.transport(transport).duration
            payload = poll(session, transport, duration, environ, options.poll_coalesce)
            return _ok(start_response, transport, route, payload, cors)
        if method == "POST":
            return _post(listener, route, environ, start_response, cors)
    except ProtocolError as exc:
        return http.error(start_response, 400, exc.reason, cors)
    return http.error(start_response, 405, "method not allowed", cors + [("Allow", "GET, POST, OPTIONS")])


def _post(
    listener: Listener,
    route: Route,
    environ: dict,
    start_response: http.StartResponse,
    cors: Headers,
) -> Iterable[bytes]:
    session = listener.sessions.get(route.sid) if route.sid else None
    if session is None or session.state != OPEN:
        return http.error(start_response, 404, "unknown or expired session", cors)
    limit = listener.options.max_message_size
    try:
        body = http.read_body(environ, limit)
    except http.BodyTooLarge as exc:
        listener.log.warning(
            "max_message_size (%d bytes) exceeded: %s-byte POST for session %s refused",
            limit, exc.args[0], session.sid,
        )
        return http.error(
            start_response, 413, "max_message_size (%d bytes) exceeded" % limit,
            cors + [("Connection", "close")],
        )
    except (ValueError, OSError):
        return http.error(start_response, 400, "unreadable request body", cors)
    fields = parse_form(body)
    if route.transport == "jsonp-polling":
        payload = jsonp_polling.payload_from_jsonp_form(fields)
    else:
        payload = payload_from_form(fields)
    events = decode_inbound(decode_payload(payload, max_length=limit))
    session.deliver(events)
    headers: List = [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", "2")]
    return http.respond(start_response, 200, headers + cors, b"ok")
