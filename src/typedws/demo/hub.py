"""Who is in the room, and fan-out of messages to every connected page.

The hub has two halves on purpose: :meth:`Hub.publish` is where a message leaves a handler, and
:meth:`Hub.deliver` sends it to the sockets connected to *this* process. The in-process hub
just calls one from the other. To run several processes behind a load balancer, subclass it and
make ``publish`` go through a broadcast backend (Redis pub/sub, for instance) whose subscriber
calls ``deliver`` for each message it receives; the chat handler does not change.
"""

from __future__ import annotations

import logging

import msgspec

from typedws import WebSocket
from typedws.demo.protocol import ServerMessage

__all__ = ["Hub"]

logger = logging.getLogger("typedws.demo")


class Hub:
    """Members of the chat room on this process, by connection."""

    def __init__(self) -> None:
        self._members: dict[WebSocket, str] = {}

    @property
    def names(self) -> list[str]:
        """Everyone in the room, sorted."""
        return sorted(self._members.values())

    def add(self, ws: WebSocket, name: str) -> None:
        """Register ``ws`` under ``name``; ValueError if the name is taken."""
        if name in self._members.values():
            raise ValueError(f"the name {name!r} is taken; pick another one")
        self._members[ws] = name

    def remove(self, ws: WebSocket) -> str | None:
        """Forget ``ws``; returns the name it had, or None if it had not joined."""
        return self._members.pop(ws, None)

    async def publish(self, message: ServerMessage) -> None:
        """Send ``message`` to every member (override to fan out across processes)."""
        await self.deliver(msgspec.json.encode(message).decode("utf-8"))

    async def deliver(self, text: str) -> None:
        """Send an encoded message to every member connected to this process.

        A member whose connection fails is dropped; the others still get the message.
        """
        for ws in list(self._members):
            try:
                await ws.send_text(text)
            except Exception as exc:  # a broken peer must not stop the broadcast
                logger.info("dropping a member whose connection failed: %s", exc)
                self._members.pop(ws, None)
