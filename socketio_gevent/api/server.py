"""``listen()``: serve socket.io from an existing ``gevent.pywsgi.WSGIServer``."""
from __future__ import annotations

from typing import Any

from gevent.pywsgi import WSGIServer

from ..edge import flash_server
from ..edge.middleware import SocketIOMiddleware
from .listener import Listener

__all__ = ["listen"]


def listen(server: WSGIServer, **options: Any) -> Listener:
    """Serve socket.io on ``server`` beside its application; return the Listener.

    Wraps ``server.application`` in :class:`SocketIOMiddleware` (paths
    outside ``/<resource>/`` still reach the application) and sets the
    server's handler class to the middleware's. With ``flash_policy_server``
    (the default) the Flash policy is also served on ``flash_policy_port``
    until the listener closes.

    ``listener.close()`` ends every session (websocket sessions are not in
    pywsgi's hands after their handshake, so ``server.stop()`` alone does
    not); stop the server after it.
    """
    listener = Listener(server=server, **options)
    middleware = SocketIOMiddleware(getattr(server, "application", None), listener)
    server.application = middleware
    server.handler_class = middleware.handler_class
    middleware.gate.watch(server)
    listener.start()
    if listener.options.flash_policy_server:
        stop_policy = flash_server.serve(listener)
        if stop_policy is not None:
            listener.on("close", stop_policy)
    return listener
