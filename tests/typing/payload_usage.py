"""Usage examples whose static types are part of typedws's contract.

Checked by mypy --strict and by pyright in strict mode, both in the project's own runs
(mypy.ini: ``files = src, tests``; pyrightconfig.json: ``src`` and ``tests/typing``) and from
tests/test_typing.py; never executed. Every public receive and iter method (of WebSocket and of
the test client's Session) appears with and without ``type=``, and ``assert_type`` pins the
exact type each gives: ``assert_type`` is exact in both checkers, so both infer the same types.

About unions: ``type=`` is typed with two overloads, ``type[T]`` (any class) and PEP 747's
``TypeForm[T]`` (any other type expression). mypy 2.x and pyright support TypeForm natively, so
``type=Chat | Join | Leave`` gives ``Chat | Join | Leave``, not ``Any`` or ``object``. A
string forward reference (``type="Chat"``) is also a valid TypeForm statically, but msgspec
needs a real type: at run time it is a TypeError, raised before anything is received.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, TypeAlias

import msgspec
from typing_extensions import assert_type

from typedws import Codec, WebSocket
from typedws.events import ReceiveEvent, ReceiveEventDict
from typedws.testing import Session, connect
from typedws.types import ASGIApp, Receive, Scope, Send


class User(msgspec.Struct):
    id: int
    name: str


class Chat(msgspec.Struct, tag="chat", tag_field="type"):
    user: User
    text: str


class Join(msgspec.Struct, tag="join", tag_field="type"):
    user: User
    room: str


class Leave(msgspec.Struct, tag="leave", tag_field="type"):
    user: User


ClientMessage: TypeAlias = Chat | Join | Leave


async def receive_methods(ws: WebSocket) -> None:
    assert_type(await ws.receive(), ReceiveEventDict)
    assert_type(await ws.receive_event(), ReceiveEvent)
    assert_type(await ws.receive_text(), str)
    assert_type(await ws.receive_bytes(), bytes)

    assert_type(await ws.receive_json(), Any)
    assert_type(await ws.receive_json("binary"), Any)
    assert_type(await ws.receive_json(type=None), Any)
    assert_type(await ws.receive_json(type=Chat), Chat)
    assert_type(await ws.receive_json(mode="binary", type=Chat), Chat)
    assert_type(await ws.receive_json(type=Chat | Join | Leave), Chat | Join | Leave)
    assert_type(await ws.receive_json(type=ClientMessage), Chat | Join | Leave)
    assert_type(await ws.receive_json(type=Chat | None), Chat | None)
    assert_type(await ws.receive_json(type=list[int]), list[int])
    assert_type(await ws.receive_json(type=dict[str, User]), dict[str, User])
    assert_type(await ws.receive_json(type=tuple[int, str]), tuple[int, str])
    assert_type(await ws.receive_json(type=Literal["a", "b"]), Literal["a", "b"])
    assert_type(await ws.receive_json(type=datetime.date), datetime.date)
    assert_type(await ws.receive_json(type=int), int)

    assert_type(await ws.receive_msgpack(), Any)
    assert_type(await ws.receive_msgpack(type=None), Any)
    assert_type(await ws.receive_msgpack(type=Join), Join)
    assert_type(await ws.receive_msgpack(type=ClientMessage), Chat | Join | Leave)
    assert_type(await ws.receive_msgpack(type=list[User]), list[User])


async def a_class_held_in_a_variable(ws: WebSocket, cls: type[Chat]) -> None:
    assert_type(await ws.receive_json(type=cls), Chat)
    assert_type(await ws.receive_msgpack(type=cls), Chat)


async def narrowing_a_union(ws: WebSocket) -> str:
    message = await ws.receive_json(type=ClientMessage)
    if isinstance(message, Chat):
        return message.text
    if isinstance(message, Join):
        return message.room
    assert_type(message, Leave)
    return message.user.name


async def iter_methods(ws: WebSocket) -> None:
    async for text in ws.iter_text():
        assert_type(text, str)
    async for data in ws.iter_bytes():
        assert_type(data, bytes)
    async for anything in ws.iter_json():
        assert_type(anything, Any)
    async for anything in ws.iter_json("binary"):
        assert_type(anything, Any)
    async for chat in ws.iter_json(type=Chat):
        assert_type(chat, Chat)
    async for message in ws.iter_json("binary", type=ClientMessage):
        assert_type(message, Chat | Join | Leave)
    async for numbers in ws.iter_json(type=list[int]):
        assert_type(numbers, list[int])
    async for anything in ws.iter_msgpack():
        assert_type(anything, Any)
    async for join in ws.iter_msgpack(type=Join):
        assert_type(join, Join)
    async for message in ws.iter_msgpack(type=ClientMessage):
        assert_type(message, Chat | Join | Leave)


async def iterators_are_async_iterators(ws: WebSocket) -> None:
    texts: AsyncIterator[str] = ws.iter_text()
    chats: AsyncIterator[Chat] = ws.iter_json(type=Chat)
    messages: AsyncIterator[ClientMessage] = ws.iter_msgpack(type=ClientMessage)
    # The awaited value, not the awaitable: __anext__ is an ``async def``, which mypy reports as
    # the declared Awaitable[T] and pyright as the narrowed CoroutineType[Any, Any, T].
    assert_type(await texts.__anext__(), str)
    assert_type(await chats.__anext__(), Chat)
    assert_type(await messages.__anext__(), Chat | Join | Leave)


async def send_methods(ws: WebSocket) -> None:
    await ws.send_text("hi")
    await ws.send_bytes(b"hi")
    await ws.send_bytes(bytearray(b"hi"))
    await ws.send_bytes(memoryview(b"hi"))
    await ws.send_json(Chat(User(1, "ann"), "hi"))
    await ws.send_json({"any": ["json", 1]}, mode="binary")
    await ws.send_msgpack(Join(User(1, "ann"), "lobby"))


def enc_hook(obj: Any) -> Any:
    raise NotImplementedError


def dec_hook(target: type, obj: Any) -> Any:
    raise NotImplementedError


def codecs(scope: Scope, receive: Receive, send: Send) -> None:
    codec = Codec(enc_hook=enc_hook, dec_hook=dec_hook)
    ws = WebSocket(scope, receive, send, codec=codec)
    assert_type(ws.codec, Codec)
    assert_type(WebSocket(scope, receive, send).codec, Codec)
    assert_type(codec.enc_hook, Callable[[Any], Any] | None)
    assert_type(codec.dec_hook, Callable[[type, Any], Any] | None)


async def the_test_client(app: ASGIApp) -> None:
    async with connect(app, "/chat") as session:
        assert_type(session, Session)
        assert_type(await session.receive_text(), str)
        assert_type(await session.receive_bytes(), bytes)
        assert_type(await session.receive_json(), Any)
        assert_type(await session.receive_json("binary"), Any)
        assert_type(await session.receive_json(type=Chat), Chat)
        assert_type(await session.receive_json(type=ClientMessage), Chat | Join | Leave)
        assert_type(await session.receive_json("binary", type=list[int]), list[int])
        assert_type(await session.receive_msgpack(), Any)
        assert_type(await session.receive_msgpack(type=Join), Join)
        assert_type(await session.receive_msgpack(type=ClientMessage), Chat | Join | Leave)
