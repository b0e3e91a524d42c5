"""``ws.receive()`` returns the ASGI message as Starlette's and Lilya's raw ``receive()`` do.

The handlers below are written the way their users write them (``message["type"]``,
``message.get("text")``, ``message["code"]``) and run unchanged; mypy --strict checks this file
with the rest of tests/ (narrowing the TypedDict union on ``message["type"]``), so the typing is
part of the test. ``ws.receive_event()`` keeps the typed Struct view.
"""

from __future__ import annotations

import pytest
from typing_extensions import assert_type

from fakes import CONNECT, FakeServer, accepted, binary, disconnect, text
from typedws import WebSocket, websocket_app
from typedws.events import (
    Connect,
    ConnectMessage,
    Disconnect,
    DisconnectMessage,
    Receive,
    ReceiveEventDict,
    ReceiveMessage,
)
from typedws.testing import connect

pytestmark = pytest.mark.anyio


@websocket_app
async def starlette_style(ws: WebSocket) -> None:
    """An echo loop as written for Starlette's or Lilya's WebSocket.receive()."""
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            assert_type(message, DisconnectMessage)
            code: int = message["code"]
            assert code == 4000
            return
        if message["type"] == "websocket.receive":
            assert_type(message, ReceiveMessage)
            if message.get("text") is not None:
                await ws.send_text("text: " + str(message["text"]))
            else:
                data = message.get("bytes")
                assert data is not None
                await ws.send_bytes(b"bytes: " + data)


async def test_code_written_for_starlette_runs_unchanged() -> None:
    async with connect(starlette_style) as session:
        await session.send_text("hi")
        assert await session.receive_text() == "text: hi"
        await session.send_bytes(b"\x01")
        assert await session.receive_bytes() == b"bytes: \x01"
        await session.close(4000)


async def test_each_event_as_a_plain_dict() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    connect_message = await ws.receive()
    assert connect_message == {"type": "websocket.connect"}
    assert type(connect_message) is dict
    assert_type(connect_message, ReceiveEventDict)
    await ws.accept()
    server.queue(text("t"), binary(b"b"), disconnect(1001, "bye"))
    assert await ws.receive() == {"type": "websocket.receive", "bytes": None, "text": "t"}
    assert await ws.receive() == {"type": "websocket.receive", "bytes": b"b", "text": None}
    assert await ws.receive() == {"type": "websocket.disconnect", "code": 1001, "reason": "bye"}


async def test_a_disconnect_without_code_has_the_defaults() -> None:
    ws = await accepted(FakeServer([{"type": "websocket.disconnect"}]))
    assert await ws.receive() == {"type": "websocket.disconnect", "code": 1005, "reason": ""}


async def test_the_struct_view_stays_available() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    assert await ws.receive_event() == Connect()
    await ws.accept()
    server.queue(text("t"), disconnect(1000))
    assert await ws.receive_event() == Receive(text="t")
    assert await ws.receive_event() == Disconnect(code=1000)


def test_the_connect_message_type() -> None:
    message: ConnectMessage = {"type": "websocket.connect"}
    assert message["type"] == "websocket.connect"
