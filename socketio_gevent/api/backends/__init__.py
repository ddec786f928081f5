"""Broadcast backends: how a broadcast reaches every session.

In one process the in-process backend hands the broadcast straight back to
the listener. With several processes behind a load balancer a broker
(Redis) carries it to the others; transports and the API never change.
"""
from .base import Backend, Broadcast
from .memory import InProcessBackend

__all__ = ["Backend", "Broadcast", "InProcessBackend"]
