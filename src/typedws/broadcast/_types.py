"""The public value types and errors of typedws.broadcast.

Not compiled: ``msgspec.Struct`` subclasses and exception classes with several bases cannot be
mypyc native classes (docs/architecture.md), and neither is on a hot path.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import msgspec

__all__ = [
    "BroadcastError",
    "BroadcastUnavailable",
    "Envelope",
    "Gap",
    "GapReason",
    "MessagesMissed",
]

T = TypeVar("T")

#: Why messages were missed: ``"retention"`` - they fell out of the retention window before the
#: subscriber got to them (it resumed from an old id, or fell further behind than the window);
#: ``"reset"`` - the history itself is gone or unknown (Redis restarted without its data, or the
#: id to resume from belongs to another history, e.g. an earlier process of a memory broadcast).
GapReason = Literal["retention", "reset"]


class Gap(msgspec.Struct, frozen=True, kw_only=True, tag="gap", tag_field="type"):
    """Messages of ``channel`` after id ``after`` were missed and will not be delivered.

    A subscription yields a ``Gap`` exactly where the hole is: everything before it and after it
    is delivered in order, exactly once. ``missed`` is how many messages were lost when that is
    known (a trimmed window), ``None`` when it is not (a reset). ``after`` is the last id the
    subscriber had (``None`` if it had none). An application typically reloads its state when it
    sees a gap (for a chat: fetch the recent history from its database).

    On the wire (``forward``) a gap is ``{"type":"gap","channel":...,"after":...,
    "reason":...,"missed":...}``.
    """

    #: The name of the channel the messages were published on.
    channel: str
    #: The last id the subscriber had before the gap (None if it had none).
    after: str | None
    #: Why the messages were missed: ``"retention"`` or ``"reset"`` (see :data:`GapReason`).
    reason: GapReason
    #: How many messages were missed, when that is known (a trimmed window); None otherwise.
    missed: int | None


class Envelope(msgspec.Struct, Generic[T], frozen=True, tag="message", tag_field="type"):
    """One message as ``forward(..., envelope=True)`` sends it: ``{"type":"message","id":...,
    "data":...}``.

    A typed client decodes frames with ``msgspec.json.Decoder(Envelope[Chat] | Gap)`` and keeps
    the last ``id`` to resume from after a reconnect.
    """

    #: The message's id, to resume after with ``last_id``.
    id: str
    #: The message itself, of the channel's type.
    data: T


class BroadcastError(Exception):
    """Base class of the errors typedws.broadcast raises on purpose."""


class BroadcastUnavailable(BroadcastError, ConnectionError):
    """The broadcast backend cannot be reached (Redis down at start, or lost while publishing).

    ``publish`` raises it instead of dropping the message silently, and the caller decides
    whether to retry, report the failure to its client, or give up. Redis unreachable: the
    message was not stored. Redis not answering within the socket timeout (frozen, overloaded):
    the command may still run when Redis catches up, so the message may yet be delivered,
    with an id the caller never saw; the message says which, and a caller that retries after
    a timeout may publish twice.
    """


class MessagesMissed(BroadcastError):
    """Raised by a subscription opened with ``on_gap="raise"`` where messages were missed.

    ``gap`` says which. The subscription stays usable: iterate it again to go on after the gap.
    """

    def __init__(self, gap: Gap) -> None:
        missed = "an unknown number of" if gap.missed is None else str(gap.missed)
        super().__init__(
            f"{missed} messages of channel {gap.channel!r} after id {gap.after!r} were missed "
            f"({gap.reason})"
        )
        #: Which messages were missed.
        self.gap = gap
