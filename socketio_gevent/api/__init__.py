"""The application API: ``listen()``, the Listener, clients, realms, backends.

It never sees a byte: sessions on the gevent edge hand it decoded messages,
and it answers through each client's session handle.
"""
