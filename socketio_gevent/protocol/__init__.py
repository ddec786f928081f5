"""Pure protocol: no gevent, no sockets, no clock of its own.

Everything under this package turns text or bytes into events and back, so it
can be tested on exact vectors and reused by any I/O layer.
"""
