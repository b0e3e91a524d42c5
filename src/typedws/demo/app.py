"""The demo's ASGI application: the chat page at ``/`` and the typed chat at ``/ws``.

Room events go through a :class:`~typedws.broadcast.Broadcast` (``memory://`` by default,
``redis://host:port/db`` to run several workers), which the application connects in its
lifespan: uvicorn runs the lifespan once per worker, so each worker has its own connection.
"""

from __future__ import annotations

import logging
import os
from importlib.resources import files
from typing import Final, cast

from typedws import PayloadError, Response, WebSocket, WebSocketDisconnect, websocket_app
from typedws.broadcast import Broadcast, BroadcastError, Envelope, Gap, Subscription
from typedws.broadcast._aio import new_event, race
from typedws.demo.hub import ROOM, Hub
from typedws.demo.protocol import (
    ClientMessage,
    Error,
    Join,
    Joined,
    Leave,
    Left,
    RoomEvent,
    Said,
    Say,
)
from typedws.types import Receive, Scope, Send

__all__ = ["BROADCAST_ENV", "ChatApp", "app_from_environment", "make_app"]

logger = logging.getLogger("typedws.demo")

#: The environment variable ``python -m typedws.demo --broadcast URL`` sets for its workers
#: (uvicorn starts them as new processes that import :func:`app_from_environment`).
BROADCAST_ENV: Final = "TYPEDWS_DEMO_BROADCAST"

_NOT_FOUND: Final = Response("Not found\n", status_code=404, media_type="text/plain")


def _page() -> Response:
    html = files("typedws.demo").joinpath("page.html").read_bytes()
    return Response(html, status_code=200, media_type="text/html")


class _Session:
    """One page's state while its handler runs: the name it joined under, if any."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name: str | None = None


class ChatApp:
    """Routes ``GET /`` to the page and ``/ws`` to :meth:`chat`; 404 for anything else.

    ``broadcast`` is a :class:`Broadcast` or its URL. The application connects it on lifespan
    startup (a Redis that cannot be reached fails the startup with the reason) and closes it
    on shutdown; the server must run the lifespan (uvicorn does by default).
    """

    def __init__(self, broadcast: Broadcast | str = "memory://") -> None:
        self.broadcast = Broadcast(broadcast) if isinstance(broadcast, str) else broadcast
        self.hub = Hub(self.broadcast)
        self.page = _page()
        self.websocket = websocket_app(self.chat)
        self.worker = os.getpid()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            page = self.page if scope["path"] == "/" else _NOT_FOUND
            await page(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        elif kind == "websocket" and scope["path"] != "/ws":
            ws = WebSocket(scope, receive, send)
            if "websocket.http.response" in (scope.get("extensions") or {}):
                await ws.send_denial_response(_NOT_FOUND)
            else:
                await ws.close()
        else:
            await self.websocket(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """ASGI lifespan: connect the broadcast, follow the room's members, close on shutdown."""
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            await self.broadcast.connect()
        except Exception as exc:
            # ASGI lifespan spec: report the failure; the server logs it and exits.
            await send({"type": "lifespan.startup.failed", "message": f"{self.broadcast}: {exc}"})
            return
        await send({"type": "lifespan.startup.complete"})

        async def until_shutdown() -> None:
            while (await receive())["type"] != "lifespan.shutdown":
                pass

        async def follow() -> None:
            await self.hub.follow()
            # The member list stopped following (logged): the server still decides when to stop.
            await new_event().wait()

        await race(until_shutdown, follow)
        await self.broadcast.disconnect()
        await send({"type": "lifespan.shutdown.complete"})

    async def chat(self, ws: WebSocket) -> None:
        """One page's session: room events out, join/message/leave in, until either ends.

        The page's subscription is entered before anything it sends is read, so it hears its
        own ``joined``; with ``?last_id=`` it first gets what it missed since that id.
        """
        last_id = ws.query_params.get("last_id") or None
        await ws.accept()
        if last_id is not None:
            try:
                self.broadcast.subscribe(ROOM, last_id=last_id)
            except ValueError as exc:
                await ws.send_json(Error(detail=f"cannot resume: {exc}"))
                last_id = None
        session = _Session()
        async with self.broadcast.subscribe(ROOM, last_id=last_id) as subscription:

            async def pump() -> None:
                await _pump(ws, subscription)

            async def converse() -> None:
                await self._converse(ws, session)

            await race(pump, converse)
        name = session.name
        if name is not None and self.hub.remove(session) is not None:
            try:
                await self.hub.publish(Left(name=name, members=self.hub.names))
            except BroadcastError as exc:  # shutting down, or Redis gone: nobody to tell
                logger.info("could not announce that %r left: %s", name, exc)
        await ws.close()

    async def _converse(self, ws: WebSocket, session: _Session) -> None:
        """Read and answer the page's messages until it leaves or disconnects."""
        hub = self.hub
        try:
            while True:
                try:
                    # The cast gives mypy the union as a type: ``type=`` wants ``type[T]``.
                    message = await ws.receive_json(type=cast("type[ClientMessage]", ClientMessage))
                except PayloadError as exc:
                    # A bad message is answered, not punished with a dropped connection.
                    await ws.send_json(Error(detail=str(exc)))
                    continue
                if isinstance(message, Leave):
                    return
                event: RoomEvent
                if isinstance(message, Join):
                    if session.name is not None:
                        await ws.send_json(Error(detail=f"already joined as {session.name!r}"))
                        continue
                    try:
                        hub.add(session, message.name)
                    except ValueError as exc:
                        await ws.send_json(Error(detail=str(exc)))
                        continue
                    session.name = message.name
                    event = Joined(name=message.name, members=hub.names, worker=self.worker)
                else:
                    assert isinstance(message, Say)
                    if session.name is None:
                        await ws.send_json(Error(detail="join the room before sending messages"))
                        continue
                    event = Said(name=session.name, text=message.text)
                try:
                    await hub.publish(event)
                except BroadcastError as exc:
                    await ws.send_json(Error(detail=f"not sent, try again: {exc}"))
        except WebSocketDisconnect:
            return


async def _pump(ws: WebSocket, subscription: Subscription[RoomEvent | Gap]) -> None:
    """Send each room event to the page in an envelope with its id, and gaps as they come."""
    try:
        async for item in subscription:
            if isinstance(item, Gap):
                await ws.send_json(item)
            else:
                message_id = subscription.last_id
                assert message_id is not None  # set once a message was yielded
                await ws.send_json(Envelope(id=message_id, data=item))
    except WebSocketDisconnect:
        return


def make_app(broadcast: Broadcast | str = "memory://") -> ChatApp:
    """The demo application, fanning out through ``broadcast`` (a Broadcast or its URL)."""
    return ChatApp(broadcast)


def app_from_environment() -> ChatApp:
    """The application factory uvicorn's workers call: the broadcast URL from the environment."""
    return ChatApp(os.environ.get(BROADCAST_ENV, "memory://"))
