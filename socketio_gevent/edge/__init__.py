"""The gevent edge: the only code that touches sockets, greenlets and the loop.

The handler and middleware take requests from pywsgi, the transport
runners pump bytes between sockets and the pure codecs, and the session
driver feeds the pure session machine with the loop's clock and timers.
"""
