"""The Flash policy server on its own: ``python -m socketio_gevent.flash_policy``.

Under gunicorn no worker binds port 843 (one server per host, not one per
worker, and binding it needs root); flashsocket clients get the policy
inline on the main port. Run this once per host to answer on 843 as well::

    python -m socketio_gevent.flash_policy --origins "example.com:*" --to-port 8080
"""
from __future__ import annotations

import argparse
from typing import List, Optional

from gevent.server import StreamServer

from .api.listener import Listener
from .edge.flash_server import PolicyServer


class _Ports:
    """What the policy names as the socket.io port (a listener's server, here without one)."""

    def __init__(self, port: Optional[int]) -> None:
        self.server_port = port


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Flash socket policy file.")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=843, help="the port Flash asks (843)")
    parser.add_argument("--origins", default="*:*",
                        help='who may connect: "*:*" or host:port patterns, comma-separated')
    parser.add_argument("--to-port", type=int, default=None, help="the port socket.io is served on (default: any)")
    args = parser.parse_args(argv)
    origins = args.origins if args.origins == "*:*" else [o.strip() for o in args.origins.split(",") if o.strip()]
    listener = Listener(server=_Ports(args.to_port), origins=origins, flash_policy_server=False)
    policy = PolicyServer(args.host, args.port)
    policy.listeners.append(listener)
    print("flash policy on %s:%d" % (args.host, policy.port), flush=True)
    server: StreamServer = policy.server
    server.serve_forever()


if __name__ == "__main__":
    main()
