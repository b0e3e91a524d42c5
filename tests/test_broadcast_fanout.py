"""The fan-out fast paths of typedws.broadcast: one decode per process for immutable channel
types, batches handed to each subscriber at once, waiters completed by the hub (and a cancelled
waiter left alone). Async tests run under asyncio and trio."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import uuid
from decimal import Decimal
from typing import Any, Literal

import anyio
import msgspec
import pytest

from typedws.broadcast import Broadcast, Channel
from typedws.broadcast._channel import immutable
from typedws.broadcast._hub import Entry, Hub, SubQueue

pytestmark = pytest.mark.anyio


class Frozen(msgspec.Struct, frozen=True):
    user: str
    n: int


class Mutable(msgspec.Struct):
    user: str


class Rename(msgspec.Struct, tag="rename"):
    user: str


class FrozenWithList(msgspec.Struct, frozen=True):
    items: list[int]


class Say(msgspec.Struct, frozen=True, tag="say"):
    text: str
    at: datetime.datetime
    id: uuid.UUID
    price: Decimal
    tags: tuple[str, ...]
    pair: tuple[int, str]
    kinds: frozenset[str]
    reply_to: Say | None = None


class Leave(msgspec.Struct, frozen=True, tag="leave"):
    user: str


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: int
    y: int


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "type_",
    [
        int,
        str,
        bytes,
        None,
        Frozen,
        Say,  # recursive, with every immutable scalar and container
        Say | Leave,
        tuple[Frozen, ...],
        Literal["a", "b"],
        Color,
        FrozenPoint,
        int | None,
    ],
)
def test_immutable_types_are_shared(type_: Any) -> None:
    assert immutable(type_)
    assert Channel("c", type_).shared


@pytest.mark.parametrize(
    "type_",
    [
        Mutable,
        FrozenWithList,
        Leave | Rename,
        list[int],
        dict[str, int],
        set[int],
        bytearray,
        Any,
        Point,
        tuple[int, list[int]],
        frozenset[FrozenWithList],
    ],
)
def test_mutable_types_are_decoded_per_subscriber(type_: Any) -> None:
    assert not immutable(type_)
    assert not Channel("c", type_).shared


async def _two_subscribers_receive(channel: Channel[Any], message: Any) -> tuple[Any, Any]:
    async with (
        Broadcast() as bc,
        bc.subscribe(channel, on_gap="raise") as first,
        bc.subscribe(channel, on_gap="raise") as second,
    ):
        await bc.publish(channel, message)
        with anyio.fail_after(5):
            return await first.__anext__(), await second.__anext__()


async def test_an_immutable_message_is_decoded_once_per_process() -> None:
    a, b = await _two_subscribers_receive(Channel("frozen", Frozen), Frozen("ada", 1))
    assert a == Frozen("ada", 1)
    assert a is b


async def test_a_mutable_message_is_decoded_for_each_subscriber() -> None:
    a, b = await _two_subscribers_receive(Channel("mutable", Mutable), Mutable("ada"))
    assert a == b == Mutable("ada")
    assert a is not b


async def test_a_shared_decode_that_fails_fails_for_every_subscriber() -> None:
    from typedws import PayloadError

    channel = Channel("frozen-bad", Frozen)
    async with Broadcast() as bc, bc.subscribe(channel) as first, bc.subscribe(channel) as second:
        # Written by something else than this channel's publish (no check at publish).
        await bc._backend.publish(channel.name, b'{"user": 1}')
        await bc.publish(channel, Frozen("bob", 2))
        with anyio.fail_after(5):
            for sub in (first, second):
                with pytest.raises(PayloadError):
                    await sub.__anext__()
                assert await sub.__anext__() == Frozen("bob", 2)


def _entries(epoch: int, first: int, count: int) -> list[Entry]:
    return [Entry(epoch, n, b"%d" % n) for n in range(first, first + count)]


class FakeWaiter:
    def __init__(self) -> None:
        self.results: list[object] = []
        self.cancelled = False

    def done(self) -> bool:
        return self.cancelled or bool(self.results)

    def set_result(self, result: object) -> None:
        assert not self.done(), "completed twice"
        self.results.append(result)


def test_a_batch_wakes_each_subscriber_once_and_keeps_order() -> None:
    hub = Hub("c", 0, 7)
    queues = [SubQueue(10), SubQueue(10)]
    waiters = [FakeWaiter(), FakeWaiter()]
    for queue, waiter in zip(queues, waiters, strict=True):
        queue.start_at(7, 0, None)
        queue.waiter = waiter
        hub.register(queue)
    hub.push_all(_entries(7, 1, 3))
    hub.push_all([])
    assert hub.cursor == "7-3"
    for queue, waiter in zip(queues, waiters, strict=True):
        assert waiter.results == [None]
        assert queue.waiter is None
        taken = [queue.take() for _ in range(4)]
        assert [e.id if isinstance(e, Entry) else e for e in taken] == ["7-1", "7-2", "7-3", None]


def test_a_batch_larger_than_the_queue_overflows_it() -> None:
    hub = Hub("c", 0, 7)
    queue = SubQueue(2)
    queue.start_at(7, 0, None)
    hub.register(queue)
    hub.push_all(_entries(7, 1, 5))
    assert queue.overflowed
    assert queue.take() is None  # refilled from the window by the async layer


def test_a_memory_hub_keeps_its_window_for_a_batch() -> None:
    hub = Hub("c", 3, 7)
    hub.push_all(_entries(7, 1, 5))
    assert [e.id for e in hub.ring] == ["7-3", "7-4", "7-5"]


def test_a_cancelled_waiter_is_not_completed() -> None:
    queue = SubQueue(10)
    waiter = FakeWaiter()
    waiter.cancelled = True
    queue.waiter = waiter
    queue.put(Entry(1, 1, b"1"))  # must not complete (or raise on) a cancelled future
    assert waiter.results == []
    assert queue.waiter is None


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_publishing_after_a_waiting_subscriber_was_cancelled() -> None:
    channel = Channel("cancel", int)
    async with Broadcast() as bc, bc.subscribe(channel) as sub:
        task = asyncio.ensure_future(sub.__anext__())
        await asyncio.sleep(0)  # the subscriber now waits on its future
        task.cancel()  # the future is cancelled at once, the task runs later
        await bc.publish(channel, 1)  # completes nothing, raises nothing
        with pytest.raises(asyncio.CancelledError):
            await task
        with anyio.fail_after(5):
            assert await sub.__anext__() == 1
