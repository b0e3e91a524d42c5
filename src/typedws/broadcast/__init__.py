"""Typed broadcast: publish messages on typed channels, fan them out to every subscriber.

In one process with ``Broadcast("memory://")``, across workers and machines with
``Broadcast("redis://host:6379/0")`` (extra ``typedws[redis]``). Messages carry ids; a subscriber
resumes from its last id within a retention window, and is told of anything it missed with a
typed :class:`Gap`. See the README section "Scaling out".
"""

from __future__ import annotations

from ._broadcast import Broadcast, ForwardSocket, Subscription
from ._channel import Channel, Codec
from ._types import (
    BroadcastError,
    BroadcastUnavailable,
    Envelope,
    Gap,
    GapReason,
    MessagesMissed,
)

__all__ = [
    "Broadcast",
    "BroadcastError",
    "BroadcastUnavailable",
    "Channel",
    "Codec",
    "Envelope",
    "ForwardSocket",
    "Gap",
    "GapReason",
    "MessagesMissed",
    "Subscription",
]
