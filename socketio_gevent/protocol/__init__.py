"""Pure protocol: no gevent, no sockets, no clock of its own.

The ``type:length:data,`` framing (``framing``), what a session sends
(``outbox``), the session's life as a state machine (``session``), the
peer's errors (``errors``), and the rules every request is judged by:
options, origins, routing, request headers and the Flash policy file.
Everything here turns text or bytes into events and back, so it can be
tested on exact vectors and reused by any I/O layer.
"""
