"""The demo's ASGI application: the chat page at ``/`` and the typed chat at ``/ws``."""

from __future__ import annotations

from importlib.resources import files
from typing import Final, cast

from typedws import PayloadError, Response, WebSocket, WebSocketDisconnect, websocket_app
from typedws.demo.hub import Hub
from typedws.demo.protocol import ClientMessage, Error, Join, Joined, Leave, Left, Said, Say
from typedws.types import Receive, Scope, Send

__all__ = ["ChatApp", "make_app"]

_NOT_FOUND: Final = Response("Not found\n", status_code=404, media_type="text/plain")


def _page() -> Response:
    html = files("typedws.demo").joinpath("page.html").read_bytes()
    return Response(html, status_code=200, media_type="text/html")


class ChatApp:
    """Routes ``GET /`` to the page and ``/ws`` to :meth:`chat`; 404 for anything else."""

    def __init__(self, hub: Hub | None = None) -> None:
        self.hub = hub if hub is not None else Hub()
        self.page = _page()
        self.websocket = websocket_app(self.chat)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            page = self.page if scope["path"] == "/" else _NOT_FOUND
            await page(scope, receive, send)
        elif kind == "websocket" and scope["path"] != "/ws":
            ws = WebSocket(scope, receive, send)
            if "websocket.http.response" in (scope.get("extensions") or {}):
                await ws.send_denial_response(_NOT_FOUND)
            else:
                await ws.close()
        else:
            # /ws, and lifespan (acknowledged by websocket_app).
            await self.websocket(scope, receive, send)

    async def chat(self, ws: WebSocket) -> None:
        """One page's session: join, then messages, until leave or disconnect."""
        await ws.accept()
        name: str | None = None
        try:
            while True:
                try:
                    # The cast gives mypy the union as a type: ``type=`` wants ``type[T]``.
                    message = await ws.receive_json(type=cast("type[ClientMessage]", ClientMessage))
                except PayloadError as exc:
                    # A bad message is answered, not punished with a dropped connection.
                    await ws.send_json(Error(detail=str(exc)))
                    continue
                if isinstance(message, Join):
                    if name is not None:
                        await ws.send_json(Error(detail=f"already joined as {name!r}"))
                        continue
                    try:
                        self.hub.add(ws, message.name)
                    except ValueError as exc:
                        await ws.send_json(Error(detail=str(exc)))
                        continue
                    name = message.name
                    await self.hub.publish(Joined(name=name, members=self.hub.names))
                elif isinstance(message, Say):
                    if name is None:
                        await ws.send_json(Error(detail="join the room before sending messages"))
                        continue
                    await self.hub.publish(Said(name=name, text=message.text))
                else:
                    assert isinstance(message, Leave)
                    break
        except WebSocketDisconnect:
            pass
        finally:
            if name is not None and self.hub.remove(ws) is not None:
                await self.hub.publish(Left(name=name, members=self.hub.names))
        await ws.close()


def make_app(hub: Hub | None = None) -> ChatApp:
    """The demo application; pass a :class:`Hub` subclass to fan out across processes."""
    return ChatApp(hub)
