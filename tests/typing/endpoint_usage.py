"""Usage examples of ``Endpoint``, ``TypedWebSocket`` and the typed clients whose static types are
part of typedws's contract.

Checked as payload_usage.py is (mypy --strict and pyright strict, in the project's own runs and
from tests/test_typing.py); never executed. An endpoint's ``In`` and ``Out`` are inferred from
``receives`` and ``sends`` (PEP 747 ``TypeForm`` for unions), then flow through handlers, hooks,
``TypedWebSocket`` and both clients, which swap them (a client receives ``Out``, sends ``In``).
tests/test_typing.py holds the other half: what both checkers must refuse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeAlias

import msgspec
from typing_extensions import assert_never, assert_type

from typedws import (
    Endpoint,
    PayloadError,
    PayloadKind,
    TypedWebSocket,
    WebSocket,
    WebSocketApp,
    testing,
    websocket_app,
)
from typedws import client as typed_client
from typedws.client import Client
from typedws.testing import Session, TypedSession


class Join(msgspec.Struct, tag="join"):
    room: str


class Say(msgspec.Struct, tag="say"):
    text: str


class Joined(msgspec.Struct, tag="joined"):
    room: str


class Said(msgspec.Struct, tag="said"):
    text: str


Inbound: TypeAlias = Join | Say
Outbound: TypeAlias = Joined | Said

chat = Endpoint("/chat", receives=Join | Say, sends=Joined | Said, title="Chat room")
Conn: TypeAlias = TypedWebSocket[Join | Say, Joined | Said]


def declarations() -> None:
    assert_type(chat, Endpoint[Join | Say, Joined | Said])
    assert_type(
        Endpoint("/c", receives=Inbound, sends=Outbound), Endpoint[Join | Say, Joined | Said]
    )
    assert_type(Endpoint("/c", receives=Join, sends=Said), Endpoint[Join, Said])
    assert_type(Endpoint("/c", receives=Join, sends=Joined | Said), Endpoint[Join, Joined | Said])
    assert_type(Endpoint("/c", receives=Join | Say, sends=Said), Endpoint[Join | Say, Said])
    assert_type(
        Endpoint("/c", receives=list[int], sends=dict[str, int], format="msgpack"),
        Endpoint[list[int], dict[str, int]],
    )
    assert_type(chat.path, str)
    assert_type(chat.receives, Any)
    assert_type(chat.sends, Any)
    assert_type(chat.format, Literal["json", "msgpack"])
    assert_type(chat.mode, Literal["text", "binary"])
    assert_type(chat.title, str | None)
    assert_type(chat.description, str | None)
    assert_type(chat.missing(), list[object])
    assert_type(chat.app(), WebSocketApp)


@chat.on(Join)
async def join(conn: Conn, msg: Join) -> Joined | None:
    return Joined(room=msg.room)


@chat.on(Say)
async def say(conn: Conn, msg: Say) -> None:
    await conn.send(Said(text=msg.text))


@chat.on_connect
async def connected(conn: Conn) -> None:
    await conn.ws.accept()


@chat.on_disconnect
async def disconnected(conn: Conn, code: int) -> None:
    print(code)


@chat.on_invalid
async def invalid(conn: Conn, error: PayloadError) -> None:
    assert_type(error.kind, PayloadKind)
    assert_type(error.path, str | None)
    assert_type(error.frame, str | bytes | None)


@chat.on_shutdown
async def goodbye(conn: Conn) -> None:
    await conn.send(Said(text="bye"))


def registered() -> None:
    assert_type(join, Callable[[Conn, Join], Awaitable[Joined | Said | None]])
    assert_type(say, Callable[[Conn, Say], Awaitable[Joined | Said | None]])
    assert_type(connected, Callable[[Conn], Awaitable[None]])
    assert_type(disconnected, Callable[[Conn, int], Awaitable[None]])
    assert_type(invalid, Callable[[Conn, PayloadError], Awaitable[None]])
    assert_type(goodbye, Callable[[Conn], Awaitable[None]])


async def typed_websocket(ws: WebSocket, conn: Conn) -> None:
    assert_type(chat.wrap(ws), TypedWebSocket[Join | Say, Joined | Said])
    assert_type(conn.ws, WebSocket)
    assert_type(conn.endpoint, Endpoint[Join | Say, Joined | Said])
    assert_type(await conn.receive(), Join | Say)
    assert_type(await conn.send(Said(text="x")), None)
    assert_type(await conn.close(4000, "done"), None)
    assert_type(await chat.serve(ws), None)
    assert_type(await chat.shutdown(conn, 1001, "draining"), None)
    async for msg in conn:
        assert_type(msg, Join | Say)


@websocket_app
async def exhaustive(ws: WebSocket) -> None:
    """The statically exhaustive alternative to ``@chat.on``: a ``match`` with ``assert_never``."""
    await ws.accept()
    conn = chat.wrap(ws)
    async for msg in conn:
        match msg:
            case Join(room=room):
                await conn.send(Joined(room=room))
            case Say(text=text):
                await conn.send(Said(text=text))
            case _:
                assert_never(msg)


async def in_memory_client() -> None:
    async with testing.connect(chat.app(), "/chat", endpoint=chat) as client:
        assert_type(client, TypedSession[Joined | Said, Join | Say])
        assert_type(client.session, Session)
        assert_type(await client.send(Join(room="r")), None)
        assert_type(await client.receive(), Joined | Said)
        async for reply in client:
            assert_type(reply, Joined | Said)
        assert_type(await client.close(1000), None)
    async with testing.connect(chat.app(), "/chat") as session:
        assert_type(session, Session)
        assert_type(await session.receive_json(type=Joined | Said), Joined | Said)
        assert_type(await session.receive_msgpack(type=Outbound), Joined | Said)


async def network_client() -> None:
    async with typed_client.connect(
        "ws://127.0.0.1:8000/chat", chat, headers={"x-user": "a"}, subprotocols=["chat.v1"]
    ) as client:
        assert_type(client, Client[Joined | Said, Join | Say])
        assert_type(client.subprotocol, str | None)
        assert_type(await client.send(Say(text="hi")), None)
        assert_type(await client.receive(), Joined | Said)
        async for reply in client:
            assert_type(reply, Joined | Said)
        assert_type(await client.close(1000, "bye"), None)
