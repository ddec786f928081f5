"""A small event emitter shared by Listener, Client, Realm and the Python client.

Its dispatch is ``fire``: on those classes ``emit`` sends a named event to
the other side (docs/protocol.rst §10), as Flask-SocketIO users expect.

Why our own: handlers are user code, and a handler that raises must be
logged (to the ``log`` the application configured) and must not break the
transport that delivered the event, nor the other handlers of the same
event. ``on`` also works as a decorator.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .log import DEFAULT_LOGGER

Handler = Callable[..., Any]


class EventEmitter:
    def __init__(self, log: Any = None) -> None:
        self._handlers: Dict[str, List[Handler]] = {}
        #: Where errors raised by handlers are logged.
        self.log: Any = log if log is not None else DEFAULT_LOGGER

    def on(self, event: str, fn: Optional[Handler] = None) -> Any:
        """Register ``fn`` for ``event``; without ``fn``, return a decorator."""
        if fn is None:
            def decorator(f: Handler) -> Handler:
                self.add_listener(event, f)
                return f
            return decorator
        self.add_listener(event, fn)
        return fn

    def add_listener(self, event: str, fn: Handler) -> None:
        if not callable(fn):
            raise TypeError("handler for %r is not callable" % event)
        self._handlers.setdefault(event, []).append(fn)

    def remove_listener(self, event: str, fn: Handler) -> None:
        handlers = self._handlers.get(event, [])
        if fn in handlers:
            handlers.remove(fn)

    def has_listeners(self, event: str) -> bool:
        return bool(self._handlers.get(event))

    def fire(self, event: str, *args: Any) -> Any:
        """Run ``event``'s handlers in order; the first result that is not
        ``None`` (what answers a named event's callback), else ``None``.

        (``emit`` is the sending call of the classes built on this one.)
        """
        handlers = self._handlers.get(event)
        if not handlers:
            return None
        if len(handlers) == 1:  # the common case, once per message: no copy, no loop
            try:
                return handlers[0](*args)
            except Exception:  # user code: log it, keep the transport alive
                self.log.exception("handler for %r raised", event)
                return None
        result = None
        # a copy, so a handler may remove itself
        for fn in list(handlers):
            try:
                value = fn(*args)
            except Exception:  # user code: log it, keep the transport alive
                self.log.exception("handler for %r raised", event)
                continue
            if result is None:
                result = value
        return result
