"""A loopback ASGI connection for broadcast tests: the test plays the client, live.

Unlike ``fakes.FakeServer`` (a script given up front), ``receive`` waits until the test pushes
the next client event, as a real server does while a client is idle: ``forward`` must be seen
to notice a disconnect that arrives while the channel is quiet.
"""

from __future__ import annotations

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from fakes import CONNECT, make_scope
from typedws import WebSocket
from typedws.types import Message


class Loopback:
    """Client side of one in-memory ASGI websocket connection."""

    def __init__(self) -> None:
        self._to_app: MemoryObjectSendStream[Message]
        self._app_inbox: MemoryObjectReceiveStream[Message]
        self._to_app, self._app_inbox = anyio.create_memory_object_stream[Message](100)
        self._from_app: MemoryObjectSendStream[Message]
        self.outbox: MemoryObjectReceiveStream[Message]
        self._from_app, self.outbox = anyio.create_memory_object_stream[Message](10_000)
        #: When set, the server's send raises it (the peer's transport broke).
        self.send_error: BaseException | None = None

    async def _receive(self) -> Message:
        return await self._app_inbox.receive()

    async def _send(self, message: Message) -> None:
        if self.send_error is not None:
            raise self.send_error
        await self._from_app.send(message)

    async def connecting(self) -> WebSocket:
        """The application's side, with the client's connect event queued (not yet accepted)."""
        await self._to_app.send(CONNECT)
        return WebSocket(make_scope(), self._receive, self._send)

    async def accepted(self) -> WebSocket:
        """The application's side, after a completed handshake."""
        ws = WebSocket(make_scope(), self._receive, self._send)
        await self._to_app.send(CONNECT)
        await ws.accept()
        accept = await self.outbox.receive()
        assert accept["type"] == "websocket.accept"
        return ws

    async def client_sends(self, text: str) -> None:
        await self._to_app.send({"type": "websocket.receive", "text": text})

    async def client_disconnects(self, code: int = 1001) -> None:
        await self._to_app.send({"type": "websocket.disconnect", "code": code, "reason": ""})

    async def next_frame(self) -> str | bytes:
        """The next data frame the application sent (fails on anything else)."""
        with anyio.fail_after(5):
            message = await self.outbox.receive()
        assert message["type"] == "websocket.send", message
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message["bytes"]
        assert data is not None
        return data

    async def next_binary(self) -> bytes:
        frame = await self.next_frame()
        assert isinstance(frame, bytes), f"expected a binary frame, got {frame!r}"
        return frame

    async def next_event(self) -> Message:
        with anyio.fail_after(5):
            return await self.outbox.receive()
