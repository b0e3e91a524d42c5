"""The demo's ASGI application: the chat page at ``/``, the chat at ``/ws``, its AsyncAPI document.

The chat is the :class:`~typedws.Endpoint` of :mod:`typedws.demo.protocol`: each application
registers a handler per client message (``join``, ``message``, ``leave``) and an ``on_invalid``
hook that answers a bad message with an ``error``, and the endpoint dispatches to them. Beside
the dispatch loop each page has a pump that forwards the room's events to it.

Room events go through a :class:`~typedws.broadcast.Broadcast` (``memory://`` by default,
``redis://host:port/db`` to run several workers), which the application connects in its
lifespan: uvicorn runs the lifespan once per worker, so each worker has its own connection.

``GET /asyncapi.json`` is the chat's AsyncAPI 3 document (:func:`asyncapi_document`), with the
server the page was loaded from; docs/asyncapi-demo.json is the same for ``127.0.0.1:8000``.
"""

from __future__ import annotations

import json
import logging
import os
from importlib.resources import files
from typing import Any, Final, TypeAlias

from typedws import (
    PayloadError,
    Response,
    TypedWebSocket,
    WebSocket,
    WebSocketDisconnect,
    race,
    websocket_app,
)
from typedws.asyncapi import document
from typedws.broadcast import Broadcast, BroadcastError, Envelope, Gap, Subscription
from typedws.demo.hub import ROOM, Hub
from typedws.demo.protocol import (
    CHAT,
    ClientMessage,
    Error,
    Join,
    Joined,
    Leave,
    Left,
    RoomEvent,
    Said,
    Say,
    ServerMessage,
    chat_endpoint,
)
from typedws.types import Receive, Scope, Send

__all__ = ["BROADCAST_ENV", "ChatApp", "app_from_environment", "asyncapi_document", "make_app"]

logger = logging.getLogger("typedws.demo")

#: The environment variable ``python -m typedws.demo --broadcast URL`` sets for its workers
#: (uvicorn starts them as new processes that import :func:`app_from_environment`).
BROADCAST_ENV: Final = "TYPEDWS_DEMO_BROADCAST"

#: The server docs/asyncapi-demo.json names: ``python -m typedws.demo``'s default address.
DEFAULT_SERVER: Final = "ws://127.0.0.1:8000"

_NOT_FOUND: Final = Response("Not found\n", status_code=404, media_type="text/plain")

#: One page's connection, typed both ways by the chat's declaration.
Conn: TypeAlias = TypedWebSocket[ClientMessage, ServerMessage]


def _page() -> Response:
    html = files("typedws.demo").joinpath("page.html").read_bytes()
    return Response(html, status_code=200, media_type="text/html")


def asyncapi_document(server: str = DEFAULT_SERVER) -> dict[str, Any]:
    """The chat's AsyncAPI 3 document, served from ``server`` (a ``ws://`` or ``wss://`` URL).

    :func:`typedws.asyncapi.document` of :data:`~typedws.demo.protocol.CHAT`, plus what the
    declaration does not say: the ``last_id`` query parameter of the handshake (the ws
    binding's ``query``). Raises ValueError for a server URL that is not ws:// or wss://.
    """
    doc = document(
        CHAT,
        title="typedws chat demo",
        version="1.0.0",
        servers={"demo": server},
        description="The chat of `python -m typedws.demo`: one room, typed messages both ways.",
    )
    doc["channels"]["ws"]["bindings"]["ws"]["query"] = {
        "type": "object",
        "properties": {
            "last_id": {
                "type": "string",
                "description": (
                    "The id of the last room event the page got: the room's events since then "
                    "are sent first (or a `gap` if they are no longer kept)."
                ),
            }
        },
    }
    return doc


class _Session:
    """One page's state while it is connected: the name it joined under, if any."""

    __slots__ = ("leaving", "name")

    def __init__(self) -> None:
        self.name: str | None = None
        #: Set by ``leave``: the room's events are no longer forwarded to the page.
        self.leaving = False


class ChatApp:
    """Routes ``GET /`` to the page, ``GET /asyncapi.json`` to the document and ``/ws`` to the
    chat; 404 for anything else.

    ``broadcast`` is a :class:`Broadcast` or its URL. The application connects it on lifespan
    startup (a Redis that cannot be reached fails the startup with the reason) and closes it
    on shutdown; the server must run the lifespan (uvicorn does by default).
    """

    def __init__(self, broadcast: Broadcast | str = "memory://") -> None:
        self.broadcast = Broadcast(broadcast) if isinstance(broadcast, str) else broadcast
        self.hub = Hub(self.broadcast)
        self.page = _page()
        self.worker = os.getpid()
        self.sessions: dict[int, _Session] = {}  # id(WebSocket) -> its page's session
        # Each application has its own declaration, so that its handlers are its own.
        self.endpoint = endpoint = chat_endpoint()
        endpoint.on(Join)(self.join)
        endpoint.on(Say)(self.say)
        endpoint.on(Leave)(self.leave)
        endpoint.on_invalid(self.invalid)
        self.websocket = websocket_app(self.chat)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"] == "/":
                await self.page(scope, receive, send)
            elif scope["path"] == "/asyncapi.json":
                await self.document(scope)(scope, receive, send)
            else:
                await _NOT_FOUND(scope, receive, send)
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

    def document(self, scope: Scope) -> Response:
        """The AsyncAPI document, its server the one the request came to (its Host header)."""
        host = next((v for k, v in scope.get("headers", ()) if k.lower() == b"host"), b"")
        secure = scope.get("scheme") == "https"
        server = f"{'wss' if secure else 'ws'}://{host.decode('latin-1')}" if host else None
        try:
            doc = asyncapi_document(server) if server else asyncapi_document()
        except ValueError:  # a Host header that is no host: name the default server
            doc = asyncapi_document()
        body = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        return Response(body, status_code=200, media_type="application/json")

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

        shutdown: list[bool] = []

        async def until_shutdown() -> None:
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            shutdown.append(True)

        # typedws.race: the member list follows the room until the server shuts down.
        await race(until_shutdown, self.hub.follow)
        if not shutdown:
            # The member list stopped following (logged): the server still decides when to stop.
            await until_shutdown()
        await self.broadcast.disconnect()
        await send({"type": "lifespan.shutdown.complete"})

    async def chat(self, ws: WebSocket) -> None:
        """One page's session: room events out, the endpoint's dispatch in, until either ends.

        The page's subscription is entered before anything it sends is read, so it hears its
        own ``joined``; with ``?last_id=`` it first gets what it missed since that id.
        """
        last_id = ws.query_params.get("last_id") or None
        await ws.accept()
        conn = self.endpoint.wrap(ws)
        if last_id is not None:
            try:
                self.broadcast.subscribe(ROOM, last_id=last_id)
            except ValueError as exc:
                await conn.send(Error(detail=f"cannot resume: {exc}"))
                last_id = None
        session = self.sessions[id(ws)] = _Session()
        try:
            async with self.broadcast.subscribe(ROOM, last_id=last_id) as subscription:

                async def pump() -> None:
                    await _pump(conn, subscription, session)

                async def converse() -> None:
                    # Accepted already: the endpoint dispatches each message to its handler
                    # until the page disconnects (or ``leave`` closed the connection).
                    await self.endpoint.serve(ws)

                await race(pump, converse)
        finally:
            del self.sessions[id(ws)]
        name = session.name
        if name is not None and self.hub.remove(session) is not None:
            try:
                await self.hub.publish(Left(name=name, members=self.hub.names))
            except BroadcastError as exc:  # shutting down, or Redis gone: nobody to tell
                logger.info("could not announce that %r left: %s", name, exc)
        await ws.close()

    # --- the handlers: one per client message, and one for invalid messages ----------------

    async def join(self, conn: Conn, message: Join) -> ServerMessage | None:
        """Enter the room under a free name; everyone (this page too) hears ``joined``."""
        session = self.sessions[id(conn.ws)]
        if session.name is not None:
            return Error(detail=f"already joined as {session.name!r}")
        try:
            self.hub.add(session, message.name)
        except ValueError as exc:
            return Error(detail=str(exc))
        session.name = message.name
        return await self._publish(
            Joined(name=message.name, members=self.hub.names, worker=self.worker)
        )

    async def say(self, conn: Conn, message: Say) -> ServerMessage | None:
        """Say something to the room, once joined."""
        name = self.sessions[id(conn.ws)].name
        if name is None:
            return Error(detail="join the room before sending messages")
        return await self._publish(Said(name=name, text=message.text))

    async def leave(self, conn: Conn, message: Leave) -> None:
        """Close the connection (1000); :meth:`chat` then tells the room the page left."""
        self.sessions[id(conn.ws)].leaving = True
        await conn.close()

    async def invalid(self, conn: Conn, error: PayloadError) -> None:
        """A message that did not validate is answered, not punished with a dropped connection."""
        await conn.send(Error(detail=str(error)))

    async def _publish(self, event: RoomEvent) -> Error | None:
        try:
            await self.hub.publish(event)
        except BroadcastError as exc:
            return Error(detail=f"not sent, try again: {exc}")
        return None


async def _pump(conn: Conn, subscription: Subscription[RoomEvent | Gap], session: _Session) -> None:
    """Send each room event to the page in an envelope with its id, and gaps as they come."""
    try:
        async for item in subscription:
            if session.leaving:
                continue  # the connection is closing: nothing more goes out
            if isinstance(item, Gap):
                await conn.send(item)
            else:
                message_id = subscription.last_id
                assert message_id is not None  # set once a message was yielded
                await conn.send(Envelope(id=message_id, data=item))
    except WebSocketDisconnect:
        return


def make_app(broadcast: Broadcast | str = "memory://") -> ChatApp:
    """The demo application, fanning out through ``broadcast`` (a Broadcast or its URL)."""
    return ChatApp(broadcast)


def app_from_environment() -> ChatApp:
    """The application factory uvicorn's workers call: the broadcast URL from the environment."""
    return ChatApp(os.environ.get(BROADCAST_ENV, "memory://"))
