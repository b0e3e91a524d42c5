"""The ASGI app the uvicorn worker processes of test_broadcast_redis.py serve.

- ``/feed?last_id=...``: forwards channel ``room`` to the client (enveloped frames), resuming
  after ``last_id`` when given.
- ``/publish``: each text frame the client sends is published on ``room`` as a ``Chat``; the
  reply is the new message's id, or ``error: ...`` when Redis is unreachable.

The Broadcast connects in the lifespan, from ``TYPEDWS_TEST_REDIS_URL`` (subscriber queues of
``TYPEDWS_TEST_QUEUE_SIZE``). The app is an instance
of a class with an ``async __call__`` so that uvicorn detects ASGI 3 (docs/architecture.md).
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

import msgspec

from typedws import WebSocket
from typedws.broadcast import Broadcast, BroadcastUnavailable, Channel
from typedws.types import Receive, Scope, Send


class Chat(msgspec.Struct):
    user: str
    text: str


ROOM = Channel("room", Chat)


class App:
    def __init__(self) -> None:
        self.broadcast = Broadcast(
            os.environ.get("TYPEDWS_TEST_REDIS_URL", "memory://"),
            prefix=os.environ.get("TYPEDWS_TEST_PREFIX", "typedws"),
            queue_size=int(os.environ.get("TYPEDWS_TEST_QUEUE_SIZE", "1000")),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "websocket":
            ws = WebSocket(scope, receive, send)
            await ws.accept()
            if scope["path"] == "/feed":
                query = parse_qs(scope["query_string"].decode())
                last_id = query.get("last_id", [None])[0]
                await self.broadcast.forward(ROOM, ws, last_id=last_id)
            elif scope["path"] == "/publish":
                await self.publisher(ws)
            else:
                await ws.close(4404, "no such path")

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.broadcast.connect()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.broadcast.disconnect()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def publisher(self, ws: WebSocket) -> None:
        async for text in ws.iter_text():
            try:
                reply = await self.broadcast.publish(ROOM, Chat(user="publisher", text=text))
            except BroadcastUnavailable as exc:
                reply = f"error: {exc}"
            await ws.send_text(reply)


app = App()
