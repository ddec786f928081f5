"""Pure envelopes of the HTTP transports (docs/protocol.rst §4).

Each module turns a payload into the exact bytes its transport writes, and a
request's form body back into a payload. No gevent here: the runners in
``socketio_gevent.edge.polling`` and ``socketio_gevent.edge.streaming``
pump these through WSGI.
"""
