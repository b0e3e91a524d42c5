"""typedws.client: the typed network client, against the chat Endpoint served by real uvicorn.

The server (tests/endpoint_app.py) runs in its own process on 127.0.0.1, started once for the
module. ``websockets`` runs on asyncio, so these tests do too (the in-memory client of
typedws.testing, tested under trio as well, is the same API: tests/test_endpoint.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from endpoint_app import Join, Joined, Problem, Said, Say, chat, lenient
from servers import ServerProcess, free_port
from typedws import Endpoint, PayloadError, WebSocketDisconnect
from typedws.client import Client, connect

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # websockets is an asyncio library


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = free_port()
    args = ["uvicorn", "endpoint_app:app", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--log-level", "warning"]
    server = ServerProcess("uvicorn", args, port, cwd=HERE).start()
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lenient_url() -> Iterator[str]:
    port = free_port()
    args = ["uvicorn", "endpoint_app:lenient_app", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess("uvicorn", args, port, cwd=HERE).start()
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.stop()


async def test_round_trip(base_url: str) -> None:
    async with connect(base_url + "/chat", chat) as client:
        assert isinstance(client, Client)
        assert client.subprotocol is None
        await client.send(Join(room="lobby"))
        assert await client.receive() == Joined(room="lobby")
        await client.send(Say(text="hé"))
        assert await client.receive() == Said(text="hé")


async def test_headers_and_subprotocols_reach_the_server(base_url: str) -> None:
    async with connect(
        base_url + "/chat", chat, headers={"x-user": "ada"}, subprotocols=["chat.v1"]
    ) as client:
        assert client.subprotocol == "chat.v1"
        await client.send(Join(room="whoami"))
        assert await client.receive() == Joined(room="ada")


async def test_server_close_is_websocket_disconnect_and_ends_async_for(base_url: str) -> None:
    async with connect(base_url + "/chat", chat) as client:
        await client.send(Say(text="close:4000"))
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
        assert (caught.value.code, caught.value.reason) == (4000, "closed on request")
    async with connect(base_url + "/chat", chat) as client:
        await client.send(Say(text="a"))
        await client.send(Say(text="b"))
        await client.send(Say(text="close:1000"))
        assert [message async for message in client] == [Said(text="a"), Said(text="b")]


async def test_invalid_server_messages_are_payload_errors(base_url: str) -> None:
    async with connect(base_url + "/chat", chat) as client:
        await client.send(Say(text='raw:{"type":"joined","room":[]}'))
        with pytest.raises(PayloadError) as schema:
            await client.receive()
        assert (schema.value.kind, schema.value.path) == ("schema", "$.room")
        await client.send(Say(text="raw:{"))
        with pytest.raises(PayloadError) as syntax:
            await client.receive()
        assert syntax.value.kind == "syntax"
        # The connection stays usable.
        await client.send(Say(text="ok"))
        assert await client.receive() == Said(text="ok")


async def test_invalid_client_message_closes_with_1008(base_url: str) -> None:
    async with connect(base_url + "/chat", chat) as client:
        await client.connection.send('{"type":"join"}')
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
    assert caught.value.code == 1008
    assert "room" in caught.value.reason


async def test_wrong_frame_kind_from_the_server_is_a_frame_payload_error(base_url: str) -> None:
    binary = Endpoint("/chat", receives=Join | Say, sends=Joined | Said, mode="binary")
    async with connect(base_url + "/chat", binary) as client:
        await client.send(Say(text="x"))  # the server reads text frames: it closes with 1003
        with pytest.raises(WebSocketDisconnect) as closed:
            await client.receive()
        assert closed.value.code == 1003
    async with connect(base_url + "/chat", binary) as client:
        await client.connection.send('{"type":"say","text":"x"}')
        with pytest.raises(PayloadError) as caught:
            await client.receive()
        assert caught.value.kind == "frame"


async def test_sending_a_non_member_is_a_type_error_and_sends_nothing(base_url: str) -> None:
    async with connect(base_url + "/chat", chat) as client:
        with pytest.raises(TypeError, match="not a member"):
            await client.send(Said(text="x"))  # type: ignore[arg-type]
        await client.send(Say(text="after"))
        assert await client.receive() == Said(text="after")


async def test_on_invalid_over_the_network(lenient_url: str) -> None:
    async with connect(lenient_url + "/lenient", lenient) as client:
        await client.connection.send(b"{}")
        assert await client.receive() == Problem(kind="frame", path=None)
        await client.send(Join(room="r"))
        assert await client.receive() == Said(text="joined r")


async def test_client_close_then_receive_reports_the_close(base_url: str) -> None:
    async with connect(base_url + "/chat", chat) as client:
        await client.close(4001, "bye")
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
        assert caught.value.code == 4001
        assert [message async for message in client] == []
