"""The chat example on Django: the same wiring as the Flask one.

    python example/django_chat/serve.py [--port 8000]

Django's WSGI application goes into a gevent WSGIServer, and ``listen()``
wraps it: ``/socket.io/...`` is ours, every other path is Django's.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # example/ (for chat.py and the django_chat package)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_chat.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

import socketio_gevent  # noqa: E402
from chat import attach_chat  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = WSGIServer((args.host, args.port), get_wsgi_application())
    listener = socketio_gevent.listen(server, flash_policy_server=False)
    attach_chat(listener)
    server.start()
    print("django chat example on http://%s:%d" % (args.host, server.server_port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
