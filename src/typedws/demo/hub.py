"""Who is in the room, across every worker, and the room's broadcast channel.

Room events (:data:`~typedws.demo.protocol.RoomEvent`) are published on :data:`ROOM` through a
:class:`~typedws.broadcast.Broadcast`: ``memory://`` in one process, Redis across ``--workers N``
or machines. Each page's handler subscribes to the channel itself (see
:meth:`~typedws.demo.app.ChatApp.chat`), so the hub only keeps the member list.

The member list is a fold of the channel: ``joined`` adds a name, ``left`` removes it. Every
worker reads the channel in the same order, so every worker ends up with the same list;
:meth:`Hub.follow` does that reading, from the start of the retention window so that a worker
that starts late learns who is already there. A worker applies its own events at once too
(adding or removing a name twice is harmless, and only the worker holding a name publishes
events about it), so a single process needs no follower at all. Two pages joining under the
same name on two workers within a few milliseconds can both succeed: the check is against
what this worker has read so far. That is the price of a demo without a shared lock; a real
application would reserve names in its database.
"""

from __future__ import annotations

import logging
from typing import Final

from typedws import PayloadError
from typedws.broadcast import Broadcast, BroadcastError, Channel, Gap
from typedws.demo.protocol import Joined, Left, RoomEvent

__all__ = ["ROOM", "Hub"]

logger = logging.getLogger("typedws.demo")

#: The one chat room. (mypy cannot infer a union from a value: the type parameter is spelled.)
ROOM: Final = Channel[RoomEvent]("typedws-demo-room", RoomEvent)


class Hub:
    """The members of the chat room (on every worker) and the sessions of this worker."""

    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self._roster: set[str] = set()
        self._local: dict[object, str] = {}
        # After a gap the fold is unreliable; the next joined/left event's member list resets it.
        self._resync = False

    @property
    def names(self) -> list[str]:
        """Everyone in the room, sorted."""
        return sorted(self._roster)

    def add(self, session: object, name: str) -> None:
        """Register ``session`` of this worker under ``name``; ValueError if the name is taken."""
        if name in self._roster:
            raise ValueError(f"the name {name!r} is taken; pick another one")
        self._local[session] = name
        self._roster.add(name)

    def remove(self, session: object) -> str | None:
        """Forget ``session``; returns the name it had, or None if it had not joined."""
        name = self._local.pop(session, None)
        if name is not None:
            self._roster.discard(name)
        return name

    async def publish(self, event: RoomEvent) -> str:
        """Publish ``event`` to every page on every worker; returns its id.

        Raises :class:`~typedws.broadcast.BroadcastError` when the broadcast is closed or
        Redis cannot be reached (the event was not sent).
        """
        return await self.broadcast.publish(ROOM, event)

    def apply(self, item: RoomEvent | Gap) -> None:
        """Update the member list with one item read from :data:`ROOM`."""
        if isinstance(item, Gap):
            self._resync = True
            return
        if isinstance(item, (Joined, Left)) and self._resync:
            self._resync = False
            self._roster = set(item.members) | set(self._local.values())
        elif isinstance(item, Joined):
            self._roster.add(item.name)
        elif isinstance(item, Left) and item.name not in self._local.values():
            self._roster.discard(item.name)

    async def follow(self) -> None:
        """Read :data:`ROOM` from the start of its window until the broadcast closes."""
        try:
            async with self.broadcast.subscribe(ROOM, last_id="0-0") as subscription:
                while True:
                    try:
                        item = await subscription.__anext__()
                    except StopAsyncIteration:
                        return
                    except PayloadError as exc:  # written by something else: skip it
                        logger.warning("ignoring a message on the room channel: %s", exc)
                        continue
                    self.apply(item)
        except BroadcastError as exc:
            logger.warning("the member list no longer follows the room: %s", exc)
