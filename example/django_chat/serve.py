"""The chat example on Django: Django serves the page, socketio_gevent the chat.

    python example/django_chat/serve.py [--port 8000]
    python -m example.django_chat.serve [--port 8000]   (from the repository root)

Django's WSGI application goes into a gevent WSGIServer, and ``listen()``
wraps it: ``/socket.io/...`` is ours, every other path is Django's. The
chat's behaviour comes from ``example/chat_logic.py`` (shared with the Flask
example, which this one does not import; Flask need not be installed).
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.dirname(HERE)
if EXAMPLE not in sys.path:  # for chat_logic and the django_chat package
    sys.path.insert(0, EXAMPLE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_chat.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

import socketio_gevent  # noqa: E402
from chat_logic import attach_chat  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="The chat example on Django.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    server = WSGIServer((args.host, args.port), get_wsgi_application())
    listener = socketio_gevent.listen(server, flash_policy_server=False)
    attach_chat(listener)
    server.start()
    print("django chat example on http://%s:%d" % (args.host, server.server_port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
