"""typedws.broadcast with the memory backend: channels, ordering, resume, gaps, slow subscribers,
forward; hypothesis properties of ordering and resume. Every test runs under asyncio and trio."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast_loopback import Loopback
from typedws import PayloadError, WebSocket
from typedws.broadcast import (
    Broadcast,
    BroadcastError,
    Channel,
    Envelope,
    ForwardSocket,
    Gap,
    MessagesMissed,
    Subscription,
)

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value: object, _type: object) -> object:
        return value


pytestmark = pytest.mark.anyio


class Chat(msgspec.Struct, tag="chat"):
    user: str
    text: str


class Join(msgspec.Struct, tag="join"):
    user: str


ROOM = Channel("room", Chat)
EVENTS = Channel[Chat | Join]("events", Chat | Join, codec="msgpack")
NUMBERS = Channel("numbers", int)

Item = Any  # a message or a Gap, as yielded


async def take(sub: Subscription[Any], count: int) -> list[Item]:
    out: list[Item] = []
    with anyio.fail_after(5):
        async for item in sub:
            out.append(item)
            if len(out) == count:
                break
    return out


async def take_until(sub: Subscription[Any], last: object) -> list[Item]:
    """Everything the subscription yields up to and including ``last``."""
    out: list[Item] = []
    with anyio.fail_after(5):
        async for item in sub:
            out.append(item)
            if item == last:
                break
    return out


# -- channels and publishing ---------------------------------------------------------------------


def test_channel_rejects_bad_declarations() -> None:
    with pytest.raises(TypeError, match="Channel name must be a str, not int"):
        Channel(5, Chat)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="1 to 200 printable characters"):
        Channel("", Chat)
    with pytest.raises(ValueError, match="printable"):
        Channel("a\nb", Chat)
    with pytest.raises(ValueError, match="codec must be 'json' or 'msgpack', not 'xml'"):
        Channel("x", Chat, codec="xml")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="msgspec cannot handle type"):
        Channel("x", object())  # type: ignore[call-overload]
    assert repr(ROOM) == "Channel('room', <class 'test_broadcast_memory.Chat'>, codec='json')"


def test_broadcast_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="unknown scheme 'kafka'"):
        Broadcast("kafka://localhost")
    with pytest.raises(ValueError, match="retention must be an int >= 1, not 0"):
        Broadcast(retention=0)
    with pytest.raises(ValueError, match="queue_size must be an int >= 1, not True"):
        Broadcast(queue_size=True)


async def test_publish_validates_and_returns_increasing_ids() -> None:
    async with Broadcast() as bc:
        ids = [await bc.publish(ROOM, Chat("ann", str(i))) for i in range(3)]
        epochs = {i.split("-")[0] for i in ids}
        assert len(epochs) == 1
        assert [int(i.split("-")[1]) for i in ids] == [1, 2, 3]
        with pytest.raises(PayloadError, match=r"does not match the type of channel 'room'"):
            await bc.publish(ROOM, {"user": "ann"})  # type: ignore[misc]
        with pytest.raises(TypeError, match="cannot publish a object on channel 'room'"):
            await bc.publish(ROOM, object())  # type: ignore[misc]
        with pytest.raises(TypeError, match="publish\\(\\) needs a Channel, not str"):
            await bc.publish("room", Chat("a", "b"))  # type: ignore[arg-type]


async def test_publish_and_subscribe_need_a_connected_broadcast() -> None:
    bc = Broadcast()
    with pytest.raises(BroadcastError, match="cannot publish: the Broadcast is not connected"):
        await bc.publish(ROOM, Chat("a", "b"))
    with pytest.raises(BroadcastError, match="cannot subscribe"):
        async with bc.subscribe(ROOM):
            pass


def test_subscribe_rejects_bad_arguments() -> None:
    bc = Broadcast()
    with pytest.raises(ValueError, match="last_id 'yesterday' is not a message id"):
        bc.subscribe(ROOM, last_id="yesterday")
    with pytest.raises(TypeError, match="last_id must be a str message id, not int"):
        bc.subscribe(ROOM, last_id=7)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="on_gap must be 'yield' or 'raise', not 'skip'"):
        bc.subscribe(ROOM, on_gap="skip")  # type: ignore[call-overload]


async def test_static_types_are_exact() -> None:
    async with Broadcast() as bc:
        sub = bc.subscribe(ROOM)
        assert_type(sub, Subscription[Chat | Gap])
        assert_type(bc.subscribe(ROOM, on_gap="raise"), Subscription[Chat])
        assert_type(bc.subscribe(EVENTS, on_gap="raise"), Subscription[Chat | Join])
        assert_type(await bc.publish(NUMBERS, 3), str)
        async with sub:
            await bc.publish(ROOM, Chat("a", "b"))
            async for msg in sub:
                assert_type(msg, Chat | Gap)
                assert msg == Chat("a", "b")
                break


def test_a_typedws_websocket_is_a_forward_socket() -> None:
    def as_forward_socket(ws: WebSocket) -> ForwardSocket:
        return ws  # checked by mypy: WebSocket has every method forward needs

    assert as_forward_socket.__name__ == "as_forward_socket"
    for method in ("send_text", "send_bytes", "receive_bytes", "close"):
        assert callable(getattr(WebSocket, method))


# -- live delivery ------------------------------------------------------------------------------


async def test_every_subscriber_gets_every_message_in_order() -> None:
    async with Broadcast() as bc, bc.subscribe(ROOM) as a, bc.subscribe(ROOM) as b:
        sent = [Chat("u", str(i)) for i in range(50)]
        for msg in sent:
            await bc.publish(ROOM, msg)
        assert await take(a, 50) == sent
        assert await take(b, 50) == sent
        assert a.last_id is not None
        assert a.last_id == b.last_id
        assert a.last_id.endswith("-50")


async def test_subscription_sees_only_messages_after_it_started() -> None:
    async with Broadcast() as bc:
        await bc.publish(NUMBERS, 1)
        async with bc.subscribe(NUMBERS) as sub:
            await bc.publish(NUMBERS, 2)
            assert await take(sub, 1) == [2]


async def test_tagged_union_over_msgpack() -> None:
    async with Broadcast() as bc, bc.subscribe(EVENTS) as sub:
        await bc.publish(EVENTS, Join("ann"))
        await bc.publish(EVENTS, Chat("ann", "hi"))
        assert await take(sub, 2) == [Join("ann"), Chat("ann", "hi")]


async def test_channels_are_independent() -> None:
    other = Channel("other", Chat)
    async with Broadcast() as bc, bc.subscribe(ROOM) as sub:
        await bc.publish(other, Chat("x", "elsewhere"))
        await bc.publish(ROOM, Chat("x", "here"))
        assert await take(sub, 1) == [Chat("x", "here")]


async def test_undecodable_payload_raises_payload_error_and_iteration_goes_on() -> None:
    loose = Channel("shared", dict[str, str])
    strict = Channel("shared", Chat)
    async with Broadcast() as bc, bc.subscribe(strict) as sub:
        await bc.publish(loose, {"not": "a chat"})
        await bc.publish(strict, Chat("a", "ok"))
        with pytest.raises(PayloadError, match="does not decode as"):
            await take(sub, 1)
        assert await take(sub, 1) == [Chat("a", "ok")]


async def test_closing_the_broadcast_ends_iterations() -> None:
    results: list[list[Item]] = []
    async with Broadcast() as bc, bc.subscribe(ROOM) as sub:

        async def consume() -> None:
            results.append([item async for item in sub])

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await bc.publish(ROOM, Chat("a", "last"))
            await anyio.wait_all_tasks_blocked()
            await bc.disconnect()
    assert results == [[Chat("a", "last")]]


async def test_subscription_misuse_is_reported() -> None:
    async with Broadcast() as bc:
        sub = bc.subscribe(ROOM)
        with pytest.raises(RuntimeError, match=r"inside `async with bc.subscribe"):
            await sub.__anext__()
        async with sub:
            with pytest.raises(RuntimeError, match="already entered"):
                await sub.__aenter__()


# -- resume and gaps ----------------------------------------------------------------------------


async def test_resume_from_last_id_gets_what_was_missed() -> None:
    async with Broadcast(retention=100) as bc:
        ids = [await bc.publish(NUMBERS, i) for i in range(10)]
        async with bc.subscribe(NUMBERS, last_id=ids[3]) as sub:
            newest = await bc.publish(NUMBERS, 10)
            assert await take(sub, 7) == [4, 5, 6, 7, 8, 9, 10]
            assert sub.last_id == newest
        async with bc.subscribe(NUMBERS, last_id="0-0") as sub:
            assert await take(sub, 11) == list(range(11))
        async with bc.subscribe(NUMBERS, last_id=newest) as sub:
            await bc.publish(NUMBERS, 11)
            assert await take(sub, 1) == [11]


async def test_resume_beyond_the_window_yields_a_gap_first() -> None:
    async with Broadcast(retention=3) as bc:
        ids = [await bc.publish(NUMBERS, i) for i in range(10)]
        async with bc.subscribe(NUMBERS, last_id=ids[2]) as sub:
            items = await take(sub, 4)
        assert items == [
            Gap(channel="numbers", after=ids[2], reason="retention", missed=4),
            7,
            8,
            9,
        ]


async def test_resume_with_an_id_of_another_history_is_a_reset_gap() -> None:
    async with Broadcast() as old:
        stale = await old.publish(NUMBERS, 0)
    async with Broadcast() as bc:
        await bc.publish(NUMBERS, 1)
        async with bc.subscribe(NUMBERS, last_id=stale) as sub:
            items = await take(sub, 2)
        assert items == [Gap(channel="numbers", after=stale, reason="reset", missed=None), 1]
        future = f"{int(stale.split('-')[0]) + 10**9}-1"
        async with bc.subscribe(NUMBERS, last_id=future) as sub:
            await bc.publish(NUMBERS, 2)
            items = await take(sub, 3)
        assert items == [Gap(channel="numbers", after=future, reason="reset", missed=None), 1, 2]


async def test_on_gap_raise_reports_then_goes_on() -> None:
    async with Broadcast(retention=2) as bc:
        ids = [await bc.publish(NUMBERS, i) for i in range(5)]
        async with bc.subscribe(NUMBERS, last_id=ids[0], on_gap="raise") as sub:
            with pytest.raises(MessagesMissed, match="2 messages of channel 'numbers'") as info:
                await take(sub, 1)
            assert info.value.gap.missed == 2
            assert await take(sub, 2) == [3, 4]


async def test_slow_subscriber_catches_up_from_the_window_without_loss() -> None:
    """Queue of 4, window of 100: falling 60 behind costs nothing but a refill."""
    async with Broadcast(retention=100, queue_size=4) as bc, bc.subscribe(NUMBERS) as sub:
        for i in range(60):
            await bc.publish(NUMBERS, i)
        assert len(sub._queue.live) <= 4  # bounded: it overflowed instead of growing
        assert await take(sub, 60) == list(range(60))


async def test_slow_subscriber_beyond_the_window_is_told_of_the_gap() -> None:
    async with Broadcast(retention=10, queue_size=4) as bc, bc.subscribe(NUMBERS) as sub:
        for i in range(60):
            await bc.publish(NUMBERS, i)
        items = await take(sub, 11)
    assert items[0] == Gap(channel="numbers", after=None, reason="retention", missed=50)
    assert items[1:] == list(range(50, 60))


# -- forward ------------------------------------------------------------------------------------

FRAMES = msgspec.json.Decoder(Envelope[Chat] | Gap)
EVENT_FRAMES = msgspec.msgpack.Decoder(Envelope[Chat | Join] | Gap)


async def test_forward_sends_enveloped_frames_until_the_client_leaves() -> None:
    client = Loopback()
    ws = await client.accepted()
    async with Broadcast() as bc:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bc.forward, ROOM, ws)
            await anyio.wait_all_tasks_blocked()
            first = await bc.publish(ROOM, Chat("ann", "one"))
            await bc.publish(ROOM, Chat("bob", "two"))
            frame = await client.next_frame()
            data = '{"type":"chat","user":"ann","text":"one"}'
            assert frame == f'{{"type":"message","id":"{first}","data":{data}}}'
            assert FRAMES.decode(frame) == Envelope(id=first, data=Chat("ann", "one"))
            second = FRAMES.decode(await client.next_frame())
            assert isinstance(second, Envelope)
            assert second.data == Chat("bob", "two")
            await client.client_sends("ignored")
            await client.client_disconnects()
        # forward returned by itself: the task group would otherwise wait forever
        assert ws.close_code == 1001


async def test_forward_of_an_entered_subscription_misses_nothing_published_after_it() -> None:
    client = Loopback()
    ws = await client.accepted()
    async with Broadcast() as bc, bc.subscribe(ROOM) as sub:
        # Published before the forwarding task has even started: still delivered.
        first = await bc.publish(ROOM, Chat("ann", "early"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: bc.forward(sub, ws, receive=False))
            assert FRAMES.decode(await client.next_frame()) == Envelope(
                id=first, data=Chat("ann", "early")
            )
            tg.cancel_scope.cancel()
        with pytest.raises(ValueError, match="give it to subscribe"):
            await bc.forward(sub, ws, last_id=first)
    with pytest.raises(ValueError, match="entered subscription"):
        await bc.forward(bc.subscribe(ROOM), ws)
    with pytest.raises(TypeError, match="needs a Channel or a Subscription, not str"):
        await bc.forward("room", ws)  # type: ignore[arg-type]


async def test_forward_resumes_and_reports_gaps_in_band() -> None:
    client = Loopback()
    ws = await client.accepted()
    async with Broadcast(retention=2) as bc:
        ids = [await bc.publish(ROOM, Chat("a", str(i))) for i in range(5)]
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: bc.forward(ROOM, ws, last_id=ids[0]))
            frames = [FRAMES.decode(await client.next_frame()) for _ in range(3)]
            await client.client_disconnects()
    assert frames[0] == Gap(channel="room", after=ids[0], reason="retention", missed=2)
    assert frames[1:] == [
        Envelope(id=ids[3], data=Chat("a", "3")),
        Envelope(ids[4], Chat("a", "4")),
    ]


async def test_forward_bare_payloads() -> None:
    client = Loopback()
    ws = await client.accepted()
    async with Broadcast() as bc:
        ids = [await bc.publish(EVENTS, Join(str(i))) for i in range(3)]
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: bc.forward(EVENTS, ws, last_id=ids[0], envelope=False))
            frames = [await client.next_binary() for _ in range(2)]
            await client.client_disconnects()
    assert [msgspec.msgpack.decode(f, type=Join) for f in frames] == [Join("1"), Join("2")]


async def test_forward_without_envelope_closes_1013_on_a_gap() -> None:
    client = Loopback()
    ws = await client.accepted()
    async with Broadcast(retention=1) as bc:
        ids = [await bc.publish(EVENTS, Join(str(i))) for i in range(3)]
        with anyio.fail_after(5):
            await bc.forward(EVENTS, ws, last_id=ids[0], envelope=False)
        close = await client.next_event()
    assert close == {
        "type": "websocket.close",
        "code": 1013,
        "reason": "missed messages; reconnect",
    }
    assert ws.close_code == 1013


async def test_forward_msgpack_envelope() -> None:
    client = Loopback()
    ws = await client.accepted()
    async with Broadcast() as bc:
        msg_id = await bc.publish(EVENTS, Chat("a", "b"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: bc.forward(EVENTS, ws, last_id="0-0"))
            frame = await client.next_binary()
            await client.client_disconnects()
    decoded = EVENT_FRAMES.decode(frame)
    assert decoded == Envelope(id=msg_id, data=Chat("a", "b"))


async def test_forward_stops_when_a_send_finds_the_peer_gone() -> None:
    client = Loopback()
    ws = await client.accepted()
    async with Broadcast() as bc:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: bc.forward(ROOM, ws, receive=False))
            await anyio.wait_all_tasks_blocked()
            client.send_error = OSError("connection reset")
            await bc.publish(ROOM, Chat("a", "lost"))
        # forward returned cleanly: the OSError surfaced as WebSocketDisconnect(1006) inside it
        assert ws.close_code == 1006


async def test_forward_returns_when_the_broadcast_closes() -> None:
    client = Loopback()
    ws = await client.accepted()
    bc = Broadcast()
    await bc.connect()
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: bc.forward(ROOM, ws, receive=False))
        await anyio.wait_all_tasks_blocked()
        await bc.disconnect()
    await ws.close()
    assert (await client.next_event())["type"] == "websocket.close"


# -- hypothesis: ordering and resume ------------------------------------------------------------

Op = tuple[Literal["publish", "read"], int]
ops = st.lists(
    st.tuples(st.sampled_from(["publish", "read"]), st.integers(1, 12)), min_size=1, max_size=25
)
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check_stream(items: list[Item], start: int) -> None:
    """Messages strictly in publish order, each once, holes exactly where gaps say.

    Messages are the ints 0, 1, 2...; ``start`` is the last one seen before (-1: none).
    """
    expected_next = start + 1
    pending: Gap | None = None
    for item in items:
        if isinstance(item, Gap):
            assert pending is None, "two gaps in a row"
            pending = item
            continue
        assert isinstance(item, int)
        if pending is None:
            assert item == expected_next, f"{item} delivered where {expected_next} was due"
        else:
            assert pending.missed == item - expected_next >= 1
            pending = None
        expected_next = item + 1
    assert pending is None, "a gap must be followed by the message after it"


@PROPERTY
@given(program=ops, retention=st.integers(1, 30), queue_size=st.integers(1, 8))
async def test_property_live_ordering(program: list[Op], retention: int, queue_size: int) -> None:
    broadcast = Broadcast(retention=retention, queue_size=queue_size)
    async with broadcast as bc, bc.subscribe(NUMBERS) as fast, bc.subscribe(NUMBERS) as slow:
        published = 0
        seen: list[Item] = []
        fast_seen: list[Item] = []
        for op, count in program:
            if op == "publish":
                for _ in range(count):
                    await bc.publish(NUMBERS, published)
                    published += 1
                    fast_seen += await take(fast, 1)
            else:
                # Only read what is surely there: an item exists while messages remain.
                for _ in range(count):
                    last = max((i for i in seen if isinstance(i, int)), default=-1)
                    if last >= published - 1:
                        break
                    seen += await take(slow, 1)
        sentinel = published
        await bc.publish(NUMBERS, sentinel)
        seen += await take_until(slow, sentinel)
        fast_seen += await take(fast, 1)
    check_stream(seen, -1)
    assert fast_seen == list(range(published + 1)), "a subscriber that keeps up loses nothing"
    if retention >= published + 1:
        assert not any(isinstance(i, Gap) for i in seen), "within the window nothing is lost"


@PROPERTY
@given(total=st.integers(1, 40), retention=st.integers(1, 30), data=st.data())
async def test_property_resume(total: int, retention: int, data: st.DataObject) -> None:
    async with Broadcast(retention=retention) as bc:
        ids = [await bc.publish(NUMBERS, i) for i in range(total)]
        position = data.draw(st.integers(-1, total - 1), label="resume after message")
        last_id = "0-0" if position == -1 else ids[position]
        async with bc.subscribe(NUMBERS, last_id=last_id) as sub:
            await bc.publish(NUMBERS, total)
            items = await take_until(sub, total)
    first_kept = max(0, total - retention)
    expected: list[Item] = []
    if position + 1 < first_kept:
        after = None if position == -1 else ids[position]
        expected.append(
            Gap(
                channel="numbers", after=after, reason="retention", missed=first_kept - position - 1
            )
        )
    expected += list(range(max(position + 1, first_kept), total + 1))
    assert items == expected
    check_stream(items, position)


# -- the README's example -----------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the example uses asyncio.ensure_future
async def test_the_readme_chat_example_runs_as_written(anyio_backend: str) -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    (block,) = [b for b in blocks if "broadcast.forward(" in b]
    namespace: dict[str, Any] = {}
    exec(compile(block, str(readme), "exec"), namespace)
    bc = namespace["broadcast"]
    client = Loopback()
    await bc.connect()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(namespace["chat"], await client.connecting())
            assert (await client.next_event())["type"] == "websocket.accept"
            await anyio.wait_all_tasks_blocked()
            await client.client_sends('{"user": "ann", "text": "hi"}')
            frame = msgspec.json.decode(await client.next_frame())
            assert frame["type"] == "message"
            assert frame["data"] == {"user": "ann", "text": "hi"}
            await client.client_disconnects()
    finally:
        await bc.disconnect()
