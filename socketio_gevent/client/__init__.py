"""The Python client: talks to a socketio_gevent server from a program or a test.

Example::

    from socketio_gevent.client import SocketClient

    client = SocketClient("http://127.0.0.1:8080", transport="websocket").connect()
    client.send({"hello": "world"})
"""
from .socket_client import ConnectError, SessionGone, SocketClient

__all__ = ["SocketClient", "ConnectError", "SessionGone"]
