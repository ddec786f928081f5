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

The package has three layers (docs/architecture.rst): pure protocol code
(``protocol``, ``websocket``, ``transports``: no gevent, no sockets), the
gevent edge (``edge``) and the application API (``api``); the Python
client lives apart in ``client``. The gevent-side names are exported
lazily (PEP 562), so importing a pure module never imports gevent.
"""
from __future__ import annotations

import importlib
from typing import Any, List

__version__ = "0.1.0"

_LAZY = {
    "listen": "socketio_gevent.api.server",
    "Listener": "socketio_gevent.api.listener",
    "Client": "socketio_gevent.api.clients",
    "Realm": "socketio_gevent.api.realms",
    "SocketIOMiddleware": "socketio_gevent.edge.middleware",
    "SocketIOHandler": "socketio_gevent.edge.handler",
    "ProtocolError": "socketio_gevent.protocol.errors",
    "TestClient": "socketio_gevent.testing",
    "Emitter": "socketio_gevent.publisher",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'socketio_gevent' has no attribute %r" % name)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return __all__
