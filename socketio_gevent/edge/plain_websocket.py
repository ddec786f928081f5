"""Plain WebSocket routes: ``environ["wsgi.websocket"]`` as gevent-websocket has it.

Apps written for gevent-websocket read ``environ["wsgi.websocket"]`` and call
``receive()``, ``send()`` and ``close()``. Keeping those signatures lets
them move over unchanged, while our codecs (every dialect, permessage-deflate,
strict RFC 6455) carry the bytes. Socket.IO sessions and these routes share
one server and one handler.

Example::

    def echo(environ, start_response):
        ws = environ["wsgi.websocket"]
        while (message := ws.receive()) is not None:
            ws.send(message)
        return []
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Union

from ..protocol.options import Options
from ..websocket import handshake
from ..websocket.events import Binary, Close, Event, Failed, Text
from . import responses
from .connection import HandshakeFailed, WebSocketConnection, upgrade


class WebSocketError(OSError):
    """Sending on a closed WebSocket (gevent-websocket raises the same name)."""


def is_upgrade(environ: Dict[str, Any]) -> bool:
    return "websocket" in environ.get("HTTP_UPGRADE", "").lower()


class WebSocket:
    """The ``wsgi.websocket`` object (gevent-websocket's interface)."""

    def __init__(self, environ: Dict[str, Any], connection: WebSocketConnection, log: Any) -> None:
        self.environ = environ
        self.connection = connection
        self.log = log
        self._events: Iterator[Event] = connection.events()
        self.close_code: Optional[int] = None
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        return self.connection.closed

    @property
    def path(self) -> str:
        path: str = self.environ.get("PATH_INFO", "")
        return path

    @property
    def origin(self) -> Optional[str]:
        return self.environ.get("HTTP_ORIGIN") or self.environ.get("HTTP_SEC_WEBSOCKET_ORIGIN")

    @property
    def protocol(self) -> Optional[str]:
        return None

    def receive(self) -> Union[str, bytes, None]:
        """The next message: ``str`` (text), ``bytes`` (binary), ``None`` once closed."""
        for event in self._events:
            if isinstance(event, (Text, Binary)):
                return event.data
            if isinstance(event, Close):
                self.close_code, self.close_reason = event.code, event.reason
            elif isinstance(event, Failed):
                self.close_code, self.close_reason = event.code, event.reason
                self.log.info("websocket %s closed: %s", self.path, event.reason)
        return None

    read_message = receive

    def send(self, message: Union[str, bytes, bytearray, memoryview], binary: Optional[bool] = None) -> None:
        """Send text (``str``) or binary (``bytes``); ``binary`` forces the kind.

        Returns once the socket has taken the bytes (as gevent-websocket's
        does), so a sender cannot outrun a slow reader without bound.
        """
        if not self.connection.writable:
            raise WebSocketError("the WebSocket is closed")
        if binary is None:
            binary = not isinstance(message, str)
        if binary:
            data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
            if self.connection.codec.binary_frames:
                sent = self.connection.send_binary(data)
            else:
                raise WebSocketError("this WebSocket dialect has no binary frames")
        else:
            text = message if isinstance(message, str) else bytes(message).decode("utf-8")
            sent = self.connection.send_text(text)
        if not sent:
            raise WebSocketError("the WebSocket is closed")
        self.connection.wait_drained()

    def close(self, code: int = 1000, message: Union[bytes, str] = b"") -> None:
        reason = message.decode("utf-8", "replace") if isinstance(message, (bytes, bytearray)) else message
        self.connection.close(code, reason)
        # read on until the peer's close answer (or the CLOSE_WAIT deadline)
        for _ in self._events:
            pass


def _no_start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
    return lambda data: None


def serve_plain(
    app: Callable[..., Iterable[bytes]],
    environ: Dict[str, Any],
    start_response: responses.StartResponse,
    options: Options,
    log: Any,
) -> Iterable[bytes]:
    """Handshake, then run ``app`` with ``environ["wsgi.websocket"]`` set."""
    accept = handshake.negotiate(environ, deflate=options.websocket_deflate)
    if isinstance(accept, handshake.Refuse):
        return responses.error(start_response, accept.status, accept.reason, accept.headers)
    try:
        connection = upgrade(environ, start_response, accept, options.max_message_size, options.handshake_timeout)
    except HandshakeFailed as exc:
        log.warning("websocket %s refused: %s", environ.get("PATH_INFO"), exc)
        return []
    ws = WebSocket(environ, connection, log)
    environ["wsgi.websocket"] = ws
    environ["wsgi.websocket_version"] = environ.get("HTTP_SEC_WEBSOCKET_VERSION", accept.dialect)
    try:
        result = app(environ, _no_start_response)
        close = getattr(result, "close", None)
        if close is not None:
            close()
    finally:
        if not connection.closed:
            ws.close()
        connection.release()
    return []
