"""``listen()``: wire a Listener into an existing ``gevent.pywsgi.WSGIServer``."""
from __future__ import annotations

from typing import Any

from gevent.pywsgi import WSGIServer

from . import flashpolicy
from .handler import SocketIOHandler
from .listener import Listener
from .middleware import SocketIOMiddleware


def listen(server: WSGIServer, **options: Any) -> Listener:
    """Serve socket.io on ``server`` beside its application; return the Listener.

    Wraps ``server.application`` in :class:`SocketIOMiddleware` (paths
    outside ``/<resource>/`` still reach the application) and sets the
    server's handler to :class:`SocketIOHandler`. With ``flash_policy_server``
    (the default) the Flash policy is also served on ``flash_policy_port``.
    """
    listener = Listener(server=server, **options)
    server.application = SocketIOMiddleware(getattr(server, "application", None), listener)
    server.handler_class = SocketIOHandler
    _close_with(server, listener)
    if listener.options.flash_policy_server:
        listener.policy_service = flashpolicy.register(listener)
    return listener


def _close_with(server: WSGIServer, listener: Listener) -> None:
    """``server.stop()`` / ``close()`` also ends the listener's sessions.

    A websocket session's socket leaves pywsgi's greenlet pool after the
    handshake (socketio_gevent.reactor), so stopping the server would no
    longer close it; ending the sessions sends each a close frame.
    """
    close = server.close

    def close_server_and_sessions() -> None:
        try:
            close()
        finally:
            listener.close()

    server.close = close_server_and_sessions  # type: ignore[method-assign]
