"""What ``Broadcast`` needs from a backend: store and fan out messages, and serve the window.

A backend owns the channels' hubs in this process (see ``_hub``). Subscribing is a two-step
affair because a backlog can be large: ``attach`` registers the subscriber's queue with the hub
(so nothing published from then on is missed) and positions it, and returns the range of the
retention window still to be copied into the queue, which ``fetch`` then copies batch by batch
as the subscriber reads. ``_hub.SubQueue.take`` discards any overlap, so the range may be loose.

Not compiled: async code gains nothing from mypyc (docs/architecture.md).
"""

from __future__ import annotations

from ._hub import SubQueue

__all__ = ["Backend", "Fetch"]


class Fetch:
    """A range of the retention window still to be copied to a queue: ids in (after, upto]."""

    __slots__ = ("after", "upto")

    def __init__(self, after: str, upto: str) -> None:
        self.after = after
        self.upto = upto

    def __repr__(self) -> str:
        return f"Fetch(after={self.after!r}, upto={self.upto!r})"


class Backend:
    """Base class of the memory and Redis backends (an interface; every method is overridden)."""

    async def connect(self) -> None:
        raise NotImplementedError

    async def disconnect(self) -> None:
        raise NotImplementedError

    async def publish(self, name: str, payload: bytes) -> str:
        """Store and fan out one encoded message; return its id."""
        raise NotImplementedError

    async def attach(self, name: str, queue: SubQueue, last_id: str | None) -> Fetch | None:
        """Register ``queue`` on channel ``name``, positioned after ``last_id`` (None: now)."""
        raise NotImplementedError

    def detach(self, name: str, queue: SubQueue) -> None:
        raise NotImplementedError

    def refill(self, name: str, queue: SubQueue) -> Fetch | None:
        """After ``queue`` overflowed: reopen it, return what to copy from the window."""
        raise NotImplementedError

    async def fetch(self, name: str, queue: SubQueue, fetch: Fetch) -> bool:
        """Copy the next batch of ``fetch`` into ``queue.backlog``; False once it is done."""
        raise NotImplementedError
