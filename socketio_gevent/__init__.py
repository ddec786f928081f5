"""socketio_gevent: realtime, two-way messaging for WSGI apps under gevent.

Example::

    from gevent.pywsgi import WSGIServer
    import socketio_gevent

    server = WSGIServer(("127.0.0.1", 8080), flask_app)
    listener = socketio_gevent.listen(server)

    @listener.on("connection")
    def hello(client):
        client.send("welcome")

    server.serve_forever()

The gevent-side names are exported lazily (PEP 562) so that importing the
pure protocol modules never imports gevent.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "listen": "socketio_gevent.server",
    "Listener": "socketio_gevent.listener",
    "Client": "socketio_gevent.listener",
    "Realm": "socketio_gevent.listener",
    "SocketIOMiddleware": "socketio_gevent.middleware",
    "SocketIOHandler": "socketio_gevent.handler",
    "ProtocolError": "socketio_gevent.protocol.framing",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'socketio_gevent' has no attribute %r" % name)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return __all__
