"""A reader task and a writer task on one connection: the commonest shape of a real handler.

The server here is a real concurrent one (an anyio memory stream feeds ``receive``), so a
receive really waits while another task sends. Each test runs under asyncio and trio.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from fakes import CONNECT, make_scope
from typedws import WebSocket, WebSocketDisconnect, WebSocketState
from typedws.types import Message


class StreamServer:
    """``receive`` waits on a memory stream; ``send`` raises ``send_error`` once it is set."""

    def __init__(self) -> None:
        self.to_app, self._from_server = anyio.create_memory_object_stream[Message](10)
        self.sent: list[Message] = []
        self.send_error: BaseException | None = None

    async def receive(self) -> Message:
        return await self._from_server.receive()

    async def send(self, message: Message) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(message)


async def _reader_sees_the_disconnect(
    break_with: Callable[[WebSocket], Awaitable[Any]],
) -> WebSocket:
    """Task A waits in receive_text(); task B's send fails (the peer is gone); the server then
    delivers websocket.disconnect to task A, which must see WebSocketDisconnect(1006)."""
    server = StreamServer()
    ws = WebSocket(make_scope(), server.receive, server.send)
    await server.to_app.send(CONNECT)
    await ws.accept()
    seen: list[BaseException] = []

    async def reader() -> None:
        try:
            await ws.receive_text()
        except BaseException as exc:  # recorded, then compared below
            seen.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.wait_all_tasks_blocked()  # the reader is waiting in the server's receive
        server.send_error = ConnectionResetError("the peer is gone")
        await break_with(ws)
        await server.to_app.send({"type": "websocket.disconnect", "code": 1006})
    assert len(seen) == 1
    assert type(seen[0]) is WebSocketDisconnect, repr(seen[0])
    assert isinstance(seen[0], WebSocketDisconnect)
    assert seen[0].code == 1006
    assert ws.client_state is WebSocketState.DISCONNECTED
    assert ws.application_state is WebSocketState.DISCONNECTED
    return ws


@pytest.mark.anyio
async def test_close_on_a_broken_transport_while_a_reader_waits() -> None:
    ws = await _reader_sees_the_disconnect(lambda ws: ws.close(1001))
    assert ws.close_code == 1001  # the application closed first: its code is kept


@pytest.mark.anyio
async def test_raw_close_on_a_broken_transport_while_a_reader_waits() -> None:
    ws = await _reader_sees_the_disconnect(
        lambda ws: ws.send({"type": "websocket.close", "code": 1001})
    )
    assert ws.close_code == 1001


@pytest.mark.anyio
async def test_failed_send_while_a_reader_waits() -> None:
    async def send_text(ws: WebSocket) -> None:
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.send_text("x")
        assert info.value.code == 1006

    ws = await _reader_sees_the_disconnect(send_text)
    assert ws.close_code == 1006


@pytest.mark.anyio
async def test_failed_raw_send_while_a_reader_waits() -> None:
    async def send(ws: WebSocket) -> None:
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.send({"type": "websocket.send", "bytes": b"x"})
        assert info.value.code == 1006

    ws = await _reader_sees_the_disconnect(send)
    assert ws.close_code == 1006
