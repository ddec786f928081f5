"""Pure WebSocket codecs, one module per dialect, and the handshake that picks one.

Every codec has the same sans-IO shape (``codec.Codec``, learned from
wsproto): bytes go in with ``receive_data``, events come out of
``events()``, and ``send_*`` methods return the bytes to write. Nothing
here reads a socket or imports gevent; ``socketio_gevent.edge.connection``
pumps bytes through a codec.
"""
