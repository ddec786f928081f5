"""The pure layer must not import gevent (DESIGN.md: the split is proved by a test)."""
from __future__ import annotations

import subprocess
import sys

PURE = [
    "socketio_gevent",
    "socketio_gevent.protocol.framing",
    "socketio_gevent.protocol.session",
    "socketio_gevent.transports.common",
    "socketio_gevent.transports.xhr_polling",
    "socketio_gevent.transports.jsonp_polling",
    "socketio_gevent.origins",
    "socketio_gevent.options",
    "socketio_gevent.routing",
    "socketio_gevent.listener",
    "socketio_gevent.policy",
    "socketio_gevent.headers",
    "socketio_gevent.websocket.events",
    "socketio_gevent.websocket.handshake",
    "socketio_gevent.websocket.hixie75",
    "socketio_gevent.websocket.hixie76",
    "socketio_gevent.websocket.hybi03",
    "socketio_gevent.websocket.rfc6455",
    "socketio_gevent.websocket.deflate",
]


def test_pure_modules_do_not_import_gevent():
    code = "import sys\n" + "".join("import %s\n" % m for m in PURE) + (
        "bad = sorted(m for m in sys.modules if m == 'gevent' or m.startswith('gevent.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


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
