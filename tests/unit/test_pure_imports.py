"""The import contract of the three layers (docs/architecture.rst).

Every module of the pure packages (found by walking them, so a new module
cannot be forgotten) imports nothing from gevent, the edge, the
application API or the Python client; the application API's modules other
than ``listen()`` import no gevent either; and ``import socketio_gevent``
stays free of gevent (its gevent-side names are exported lazily).
"""
from __future__ import annotations

import pkgutil
import subprocess
import sys

import socketio_gevent

PURE_PACKAGES = ("protocol", "websocket", "transports")
#: The layers a pure module may not reach.
NOT_PURE = ("gevent", "greenlet", "socketio_gevent.edge", "socketio_gevent.api", "socketio_gevent.client")


def modules_of(package: str) -> list:
    path = [p + "/" + package for p in socketio_gevent.__path__]
    found = ["socketio_gevent." + package]
    found += [m.name for m in pkgutil.walk_packages(path, "socketio_gevent.%s." % package)]
    return sorted(found)


def imported_by(modules: list) -> list:
    """The modules that importing ``modules`` in a fresh interpreter loads."""
    code = "import sys\n" + "".join("import %s\n" % m for m in modules) + "print('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def offending(loaded: list, forbidden: tuple) -> list:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden)]


def test_every_pure_module_is_listed():
    modules = [m for p in PURE_PACKAGES for m in modules_of(p)]
    assert "socketio_gevent.protocol.session" in modules
    assert "socketio_gevent.websocket.codec" in modules
    assert "socketio_gevent.transports.htmlfile" in modules
    assert len(modules) >= 25


def test_pure_modules_import_nothing_from_the_edge_the_api_or_gevent():
    for package in PURE_PACKAGES:
        for module in modules_of(package):
            bad = offending(imported_by([module]), NOT_PURE)
            assert bad == [], "%s imports %s" % (module, ", ".join(bad))


def test_the_api_layer_imports_gevent_only_through_listen():
    api = [m for m in modules_of("api") if m != "socketio_gevent.api.server"]
    bad = offending(imported_by(api), ("gevent", "greenlet", "socketio_gevent.edge", "socketio_gevent.client"))
    assert bad == [], bad


def test_gevent_names_are_exported_lazily():
    code = (
        "import sys, socketio_gevent\n"
        "assert 'gevent' not in sys.modules\n"
        "socketio_gevent.listen\n"
        "assert 'gevent' in sys.modules\n"
        "print(sorted(socketio_gevent.__all__))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "SocketIOMiddleware" in out.stdout
