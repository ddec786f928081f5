"""Shared fixtures: real gevent servers on 127.0.0.1, a free port each."""
from __future__ import annotations

from typing import Any, Callable, Iterator, List, NamedTuple, Optional

import pytest
from gevent.pywsgi import WSGIServer

import socketio_gevent
from socketio_gevent.client.http import HTTPConnection
from socketio_gevent.api.listener import Listener
from socketio_gevent.edge.sessions import SessionTable


def plain_app(environ: dict, start_response: Callable) -> List[bytes]:
    body = ("app:" + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class Served(NamedTuple):
    server: WSGIServer
    listener: Listener
    port: int

    @property
    def sessions(self) -> SessionTable:
        """The live sessions (the middleware that ``listen()`` installed owns them)."""
        return self.server.application.sessions  # type: ignore[no-any-return]

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def http(self) -> HTTPConnection:
        return HTTPConnection("127.0.0.1", self.port, timeout=30)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: List[Served] = []

    def _serve(app: Optional[Callable] = None, **options: Any) -> Served:
        options.setdefault("flash_policy_server", False)
        server = WSGIServer(("127.0.0.1", 0), app or plain_app, log=None)
        listener = socketio_gevent.listen(server, **options)
        server.start()
        served = Served(server, listener, server.server_port)
        started.append(served)
        return served

    yield _serve
    for served in started:
        served.listener.close()
        served.server.stop(timeout=1)
