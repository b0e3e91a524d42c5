"""Usage examples of ``typedws.broadcast`` whose static types are part of typedws's contract.

Checked as payload_usage.py is (mypy --strict and pyright strict, in the project's own runs and
from tests/test_typing.py); never executed. A channel's message type is inferred from the type
it is given, a union or other type form included (PEP 747 ``TypeForm``), and flows through
``publish`` and ``subscribe``.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec
from typing_extensions import assert_type

from typedws.broadcast import Broadcast, Channel, Gap, Subscription


class Chat(msgspec.Struct, tag="chat"):
    text: str


class Join(msgspec.Struct, tag="join"):
    room: str


RoomEvent: TypeAlias = Chat | Join


def channels() -> None:
    assert_type(Channel("chat", Chat), Channel[Chat])
    assert_type(Channel("room", Chat | Join), Channel[Chat | Join])
    assert_type(Channel("room", RoomEvent, codec="msgpack"), Channel[Chat | Join])
    assert_type(Channel[Chat | Join]("room", Chat | Join), Channel[Chat | Join])
    assert_type(Channel("numbers", list[int]), Channel[list[int]])
    assert_type(Channel("switch", Literal["on", "off"]), Channel[Literal["on", "off"]])


async def publish_and_subscribe(bc: Broadcast) -> None:
    room = Channel("room", RoomEvent)
    assert_type(await bc.publish(room, Chat(text="hi")), str)
    async with bc.subscribe(room) as events:
        assert_type(events, Subscription[Chat | Join | Gap])
        async for event in events:
            assert_type(event, Chat | Join | Gap)
    async with bc.subscribe(room, last_id="0-0", on_gap="raise") as messages:
        async for message in messages:
            assert_type(message, Chat | Join)
        assert_type(messages.last_id, str | None)
