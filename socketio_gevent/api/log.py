"""One place that turns the ``log`` option into a logger.

Users pass a ``logging.Logger`` or any callable taking a string (``print``
works); by default the library logs to ``logging.getLogger("socketio_gevent")``
and so stays silent unless the application configures logging.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Union

DEFAULT_LOGGER = logging.getLogger("socketio_gevent")


class _CallableLogger(logging.LoggerAdapter):  # type: ignore[type-arg]  # generic only in typeshed
    """Feeds formatted records at INFO and above to a plain callable."""

    def __init__(self, fn: Callable[[str], Any]) -> None:
        super().__init__(DEFAULT_LOGGER, {})
        self._fn = fn

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 (logging's name)
        return level >= logging.INFO

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if level >= logging.INFO:
            text = str(msg) % args if args else str(msg)
            exc = kwargs.get("exc_info")
            if exc:
                import traceback

                text += "\n" + "".join(traceback.format_exc())
            self._fn("%s: %s" % (logging.getLevelName(level), text))


def make_logger(target: Union[logging.Logger, Callable[[str], Any], None]) -> Any:
    if target is None:
        return DEFAULT_LOGGER
    if isinstance(target, (logging.Logger, logging.LoggerAdapter)):
        return target
    if callable(target):
        return _CallableLogger(target)
    raise TypeError("log must be a logging.Logger or a callable taking a string")
