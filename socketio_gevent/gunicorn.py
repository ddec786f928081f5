"""A gunicorn worker: ``gunicorn -k socketio_gevent.gunicorn.Worker -w 4 module:app``.

``app`` is a :class:`~socketio_gevent.SocketIOMiddleware` (or a Flask app
whose ``wsgi_app`` is one). The worker is gunicorn's gevent pywsgi worker
(monkey-patching, graceful restarts, the access log) serving each request
with the middleware's own handler, so WebSocket upgrades, the lean polling
path, ``handshake_timeout`` and ``max_connections`` work as under
``listen()``. It opens the listener's message bus after the fork (never in
the master, where ``--preload`` builds the app) and closes the listener when
the worker stops.

It does not serve the Flash policy on port 843 (one per host, not one per
worker): flashsocket clients get the policy inline on the main port; run
``python -m socketio_gevent.flash_policy`` once per host for the others.
"""
from __future__ import annotations

from typing import Any, Optional

from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIServer

from .edge.middleware import SocketIOMiddleware

__all__ = ["Worker", "find_middleware"]

#: Seconds a new worker waits for its message bus before it serves anyway.
READY_TIMEOUT = 3.0


def find_middleware(app: Any) -> Optional[SocketIOMiddleware]:
    """The middleware serving ``app``: ``app`` itself or, Flask's way, ``app.wsgi_app``."""
    for candidate in (app, getattr(app, "wsgi_app", None)):
        if isinstance(candidate, SocketIOMiddleware):
            return candidate
    return None


class Server(PyWSGIServer):
    """gunicorn's pywsgi server, its connections counted against ``max_connections`` from accept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = find_middleware(self.application)
        if middleware is not None:
            middleware.gate.watch(self)
            if middleware.listener.server is None:
                middleware.listener.server = self


class Worker(GeventPyWSGIWorker):
    """gunicorn's gevent worker, with socketio_gevent's handler and listener."""

    server_class = Server

    def load_wsgi(self) -> None:
        super().load_wsgi()
        middleware = find_middleware(self.wsgi)
        if middleware is None:
            raise RuntimeError(
                "socketio_gevent.gunicorn.Worker serves a SocketIOMiddleware: make the app gunicorn loads "
                "SocketIOMiddleware(your_wsgi_app, listener) (or set flask_app.wsgi_app to one); got %r"
                % (self.wsgi,))
        self.middleware = middleware
        self.wsgi_handler = middleware.handler_class

    def run(self) -> None:
        listener = self.middleware.listener
        listener.start()
        wait_ready = getattr(listener.backend, "wait_ready", None)
        if wait_ready is not None and not wait_ready(READY_TIMEOUT):
            listener.log.warning("worker %s serves without its message bus (%s): it keeps trying; until then "
                                 "requests for other workers' sessions get 503", self.pid,
                                 getattr(listener.backend, "url", "?"))
        try:
            super().run()
        finally:
            listener.close()
