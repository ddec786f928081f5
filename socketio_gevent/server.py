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
    if listener.options.flash_policy_server:
        listener.policy_service = flashpolicy.register(listener)
    return listener
