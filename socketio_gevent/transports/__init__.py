"""Pure envelopes of the HTTP transports (PROTOCOL.md §4).

Each module turns a payload into the exact bytes its transport writes, and a
request's form body back into a payload. No gevent here: the runners in
:mod:`socketio_gevent.polling` pump these through WSGI.
"""
