"""Draining, in memory: ``app.drain()``, the ``on_shutdown`` hook, ``app.connections``.

Under asyncio and trio (conftest's anyio_backend). Through real uvicorn and hypercorn
processes: tests/test_production_server.py; what each server does on SIGTERM:
tests/interop/test_shutdown.py.
"""

from __future__ import annotations

import math
from contextlib import AsyncExitStack

import anyio
import msgspec
import pytest

from typedws import Endpoint, TypedWebSocket, WebSocket, WebSocketDisconnect, websocket_app
from typedws.testing import Closed, Rejected, TypedSession, connect

pytestmark = pytest.mark.anyio


class Say(msgspec.Struct, tag="say"):
    text: str


class Said(msgspec.Struct, tag="said"):
    text: str


class Bye(msgspec.Struct, tag="bye"):
    sent: int


Conn = TypedWebSocket[Say, Said | Bye]


def chat() -> tuple[Endpoint[Say, Said | Bye], list[str], dict[int, int]]:
    """An endpoint whose on_shutdown says goodbye with the count of what it sent; the list
    collects each handler's finally, the dict the messages sent per connection."""
    endpoint = Endpoint("/chat", receives=Say, sends=Said | Bye)
    finals: list[str] = []
    sent: dict[int, int] = {}

    @endpoint.on(Say)
    async def say(conn: Conn, msg: Say) -> None:
        await conn.send(Said(text=msg.text))
        sent[id(conn.ws)] = sent.get(id(conn.ws), 0) + 1

    @endpoint.on_shutdown
    async def goodbye(conn: Conn) -> None:
        await conn.send(Bye(sent=sent.get(id(conn.ws), 0)))

    @endpoint.on_disconnect
    async def gone(conn: Conn, code: int) -> None:
        finals.append(f"disconnect {code}")

    return endpoint, finals, sent


async def test_drain_says_goodbye_then_closes_every_connection() -> None:
    endpoint, finals, _ = chat()
    app = endpoint.app()
    async with AsyncExitStack() as stack:
        clients: list[TypedSession[Said | Bye, Say]] = []
        for _ in range(5):
            clients.append(
                await stack.enter_async_context(connect(app, "/chat", endpoint=endpoint))
            )
        for n, client in enumerate(clients):
            for i in range(n):
                await client.send(Say(text=f"{n}.{i}"))
                assert await client.receive() == Said(text=f"{n}.{i}")
        assert app.connections == 5
        await app.drain(reason="deploying")
        assert app.connections == 0
        for n, client in enumerate(clients):
            assert await client.receive() == Bye(sent=n)  # nothing sent before it was lost
            with pytest.raises(Closed) as caught:
                await client.receive()
            assert (caught.value.code, caught.value.reason) == (1001, "deploying")
    assert finals == ["disconnect 1001"] * 5


async def test_a_draining_app_refuses_new_connections() -> None:
    endpoint, _, _ = chat()
    app = endpoint.app()
    await app.drain()
    with pytest.raises(Rejected) as caught:
        async with connect(app, "/chat"):
            pass
    assert caught.value.status == 403


async def test_a_plain_handler_is_closed_and_its_finally_runs() -> None:
    finals: list[int] = []

    @websocket_app
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            async for text in ws.iter_text():
                await ws.send_text(text)
        finally:
            finals.append(ws.close_code or 0)

    async with connect(handler, "/") as session:
        await session.send_text("x")
        assert await session.receive_text() == "x"
        await handler.drain(code=1012)
        with pytest.raises(Closed) as caught:
            await session.receive_text()
    assert caught.value.code == 1012
    assert finals == [1012]


async def test_a_handler_that_ignores_the_close_is_cancelled_after_the_timeout() -> None:
    finals: list[str] = []

    @websocket_app
    async def stubborn(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await anyio.sleep(math.inf)  # never looks at receive()
        finally:
            finals.append("finally")

    async with connect(stubborn, "/") as session:
        await stubborn.drain(timeout=0.2)
        assert finals == ["finally"]
        assert stubborn.connections == 0
        with pytest.raises(Closed) as caught:
            await session.receive()
    assert caught.value.code == 1001


async def test_a_send_racing_the_drain_is_not_an_error() -> None:
    # A feed that keeps sending after the drain closed the connection: it gets
    # WebSocketDisconnect or a state error, and the application does not log a failure.
    stopped: list[str] = []

    @websocket_app
    async def feed(ws: WebSocket) -> None:
        await ws.accept()
        try:
            for i in range(10_000):
                await ws.send_text(str(i))
                await anyio.sleep(0.001)
        except WebSocketDisconnect:
            stopped.append("disconnect")
            raise

    async with connect(feed, "/") as session:
        assert await session.receive_text() == "0"
        await feed.drain(timeout=1.0)
        texts: list[str] = []
        codes: list[int] = []
        try:
            for _ in range(10_000):
                texts.append(await session.receive_text())
        except Closed as closed:
            codes.append(closed.code)
        assert codes == [1001]
        assert texts == [str(i) for i in range(1, len(texts) + 1)]  # in order, none lost
    assert feed.connections == 0


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"code": 1005}, "drain(): "),
        ({"reason": "x" * 200}, "drain(): "),
        ({"timeout": -1}, "timeout must be a number of seconds >= 0"),
    ],
)
async def test_bad_drain_arguments_are_refused(options: dict[str, object], words: str) -> None:
    endpoint, _, _ = chat()
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        await endpoint.app().drain(**options)  # type: ignore[arg-type]


async def test_two_drains_at_once_both_end() -> None:
    endpoint, finals, _ = chat()
    app = endpoint.app()
    async with connect(app, "/chat", endpoint=endpoint) as client:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(app.drain)
            tasks.start_soon(app.drain)
        assert await client.receive() == Bye(sent=0)  # one goodbye, not two
        with pytest.raises(Closed):
            await client.receive()
    assert finals == ["disconnect 1001"]
