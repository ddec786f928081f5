"""Flask and Django apps keep their own routes behind the middleware (§3, §7)."""
from __future__ import annotations

import sys
import types

import flask

from socketio_gevent.client import SocketClient


def test_flask_app_keeps_its_routes(serve):
    app = flask.Flask("flask_probe")

    @app.route("/")
    def index():
        return "flask index"

    @app.route("/socket.iox/<name>")  # a look-alike path is the app's
    def lookalike(name):
        return "flask " + name

    served = serve(app)
    served.listener.on("connection", lambda c: c.send("from socket"))
    conn = served.http()
    assert conn.request("GET", "/").body == b"flask index"
    assert conn.request("GET", "/socket.iox/a").body == b"flask a"
    assert conn.request("GET", "/missing").status == 404
    client = SocketClient(served.url).connect()
    assert client.receive(timeout=5) == ("from socket", {})
    client.disconnect()


def test_django_app_keeps_its_routes(serve):
    import django
    from django.conf import settings

    urls = types.ModuleType("probe_django_urls")
    sys.modules["probe_django_urls"] = urls
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="probe_django_urls",
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
        )
        django.setup()
    from django.http import HttpResponse
    from django.urls import path
    from django.core.wsgi import get_wsgi_application

    urls.urlpatterns = [path("hello/<str:name>", lambda request, name: HttpResponse("django " + name))]
    served = serve(get_wsgi_application())
    conn = served.http()
    assert conn.request("GET", "/hello/world").body == b"django world"
    assert conn.request("GET", "/nothing").status == 404
    client = SocketClient(served.url).connect()
    client.send({"from": "django test"})
    client.disconnect()
