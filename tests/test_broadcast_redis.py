"""typedws.broadcast with a real redis-server: across processes, resume, restarts, slow readers.

redis-server (Debian package) is started by the fixtures on a free loopback port. Without it
these tests skip, unless TYPEDWS_REQUIRE_ALL=1 (CI), where that is a failure. The Redis backend
runs on asyncio only (redis-py's asyncio client), so these tests do too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from websockets.asyncio.client import connect

from broadcast_servers import (
    RedisServer,
    free_port,
    require_redis_server,
    start_uvicorn,
    stop,
)
from typedws.broadcast import (
    Broadcast,
    BroadcastError,
    BroadcastUnavailable,
    Channel,
    Gap,
    Subscription,
)

pytestmark = pytest.mark.anyio


class Chat(msgspec.Struct):
    user: str
    text: str


NUMBERS = Channel("numbers", int)
ROOM = Channel("room", Chat)  # the channel tests/broadcast_app.py serves


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def redis_executable() -> str:
    return require_redis_server()


@pytest.fixture(scope="module")
def redis_server(
    redis_executable: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    server = RedisServer(redis_executable, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prefix() -> str:
    """Keys of each test in a namespace of their own (the server is shared by the module)."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def broadcast(redis_server: RedisServer, prefix: str) -> AsyncIterator[Broadcast]:
    async with Broadcast(redis_server.url, prefix=prefix) as bc:
        yield bc


async def take(sub: Subscription[Any], count: int, timeout: float = 10) -> list[Any]:
    out: list[Any] = []

    async def collect() -> None:
        async for item in sub:
            out.append(item)
            if len(out) == count:
                return

    await asyncio.wait_for(collect(), timeout)
    return out


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not condition():
            await asyncio.sleep(0.01)


async def publish_retrying(bc: Broadcast, channel: Channel[int], value: int) -> str:
    """Publish, retrying while Redis is down (each failure must be the clear error)."""
    errors: list[str] = []
    for _ in range(200):
        try:
            msg_id = await bc.publish(channel, value)
        except BroadcastUnavailable as exc:
            errors.append(str(exc))
            await asyncio.sleep(0.05)
        else:
            assert all("cannot publish to channel 'numbers'" in e for e in errors), errors
            assert all("the message was not stored" in e for e in errors), errors
            return msg_id
    raise AssertionError("Redis did not come back within 10 s")


# -- basics -------------------------------------------------------------------------------------


async def test_redis_down_at_start_is_a_clear_error() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(BroadcastUnavailable, match=f"cannot connect to Redis at {url}"):
        async with Broadcast(url):
            pass


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_redis_backend_says_it_needs_asyncio(anyio_backend: str) -> None:
    with pytest.raises(RuntimeError, match="the Redis broadcast backend needs asyncio"):
        await Broadcast(f"redis://127.0.0.1:{free_port()}/0").connect()


async def test_credentials_stay_out_of_errors_and_repr() -> None:
    url = f"redis://user:s3cret@127.0.0.1:{free_port()}/0"
    bc = Broadcast(url)
    assert "s3cret" not in repr(bc)
    with pytest.raises(BroadcastUnavailable) as info:
        await bc.connect()
    assert "s3cret" not in str(info.value)
    assert "user:***@127.0.0.1" in str(info.value)


async def test_two_broadcasts_share_a_channel_through_redis(
    redis_server: RedisServer, prefix: str, broadcast: Broadcast
) -> None:
    """Two Broadcast instances stand for two workers: each sees what the other publishes."""
    async with (
        Broadcast(redis_server.url, prefix=prefix) as other,
        broadcast.subscribe(NUMBERS) as a,
        other.subscribe(NUMBERS) as b,
    ):
        ids = []
        for i in range(20):
            ids.append(await (broadcast if i % 2 else other).publish(NUMBERS, i))
        assert await take(a, 20) == list(range(20))
        assert await take(b, 20) == list(range(20))
        assert a.last_id == b.last_id == ids[-1]
    epochs = {i.split("-")[0] for i in ids}
    assert len(epochs) == 1
    assert [int(i.split("-")[1]) for i in ids] == list(range(1, 21))


async def test_resume_reads_the_backlog_from_redis(
    redis_server: RedisServer, prefix: str, broadcast: Broadcast
) -> None:
    ids = [await broadcast.publish(NUMBERS, i) for i in range(30)]
    async with Broadcast(redis_server.url, prefix=prefix) as fresh:  # a worker that saw nothing
        async with fresh.subscribe(NUMBERS, last_id=ids[9]) as sub:
            await broadcast.publish(NUMBERS, 30)
            assert await take(sub, 21) == list(range(10, 31))
        async with fresh.subscribe(NUMBERS, last_id="0-0") as sub:
            assert await take(sub, 31) == list(range(31))


async def test_resume_beyond_the_window_is_an_exact_gap(
    redis_server: RedisServer, prefix: str
) -> None:
    # MAXLEN ~ trims whole stream nodes (100 entries by default): publish well past the window.
    async with Broadcast(redis_server.url, prefix=prefix, retention=10) as bc:
        ids = [await bc.publish(NUMBERS, i) for i in range(600)]
        async with bc.subscribe(NUMBERS, last_id=ids[0]) as sub:
            gap, first = await take(sub, 2)
    assert isinstance(gap, Gap)
    assert gap.reason == "retention"
    assert gap.after == ids[0]
    assert gap.missed == first - 1  # messages 1 .. first-1 were trimmed
    assert 1 < first <= 590


async def test_resume_with_an_unknown_id_is_a_reset_gap(broadcast: Broadcast) -> None:
    await broadcast.publish(NUMBERS, 0)
    async with broadcast.subscribe(NUMBERS, last_id="1-5") as sub:
        gap, first = await take(sub, 2)
    assert gap == Gap(channel="numbers", after="1-5", reason="reset", missed=None)
    assert first == 0


async def test_foreign_writes_to_the_stream_are_reported(prefix: str, broadcast: Broadcast) -> None:
    async with broadcast.subscribe(NUMBERS) as sub:
        await broadcast.publish(NUMBERS, 1)
        # Something else writes to the stream (an auto id, ahead of typedws' ids, no 'd' field):
        # subscribers skip the entry, and publishing says why it cannot go on.
        stream = f"{prefix}:s:numbers"
        await broadcast._backend.client.xadd(stream, {"other": b"x"})  # type: ignore[attr-defined]
        with pytest.raises(BroadcastError, match="must be written by typedws only"):
            await broadcast.publish(NUMBERS, 2)
        assert await take(sub, 1) == [1]


async def test_missed_notifications_are_read_from_the_stream(
    prefix: str, broadcast: Broadcast
) -> None:
    """Live entries come by pub/sub; one whose notification never arrived (stored, announced
    elsewhere) is read from the stream when the next notification shows the hole: in order,
    once, no gap."""
    from typedws.broadcast._redis import RedisBackend

    backend = broadcast._backend
    assert isinstance(backend, RedisBackend)
    async with broadcast.subscribe(NUMBERS) as sub:
        await broadcast.publish(NUMBERS, 1)
        assert await take(sub, 1) == [1]
        keys = [backend.stream_key("numbers"), backend.meta_key("numbers"), f"{prefix}:elsewhere"]
        for value in (2, 3):  # stored in the stream, notified on another channel
            await backend._publish(keys=keys, args=[backend.retention, b"%d" % value])
        await broadcast.publish(NUMBERS, 4)
        assert await take(sub, 3) == [2, 3, 4]
        await broadcast.publish(NUMBERS, 5)
        assert await take(sub, 1) == [5]


async def test_closing_leaves_no_reader_task_behind(redis_server: RedisServer, prefix: str) -> None:
    before = asyncio.all_tasks()
    bc = Broadcast(redis_server.url, prefix=prefix)
    await bc.connect()
    async with bc.subscribe(NUMBERS):  # its reader stops when it leaves...
        pass
    sub = bc.subscribe(NUMBERS)
    await sub.__aenter__()  # ...and this one's when the Broadcast closes
    with anyio.fail_after(2):  # closing does not wait out a quiet period (3 s)
        await bc.disconnect()
    assert asyncio.all_tasks() - before == set()
    assert [item async for item in sub] == []  # the subscription ended with the Broadcast


# -- an idle channel (issue 17) ------------------------------------------------------------------

#: Socket timeout set in the URL of the idle test (seconds): short, so that the test sees many
#: block periods in a few seconds (the block is 0.6 s), yet leaves 0.4 s between the end of a
#: block and the timeout for a loaded machine. redis-py 5 and 8 read it from the query string.
SHORT_TIMEOUT = 1.0


async def _stat(observer: Any, section: str, field: str) -> int:
    value: int = (await observer.info(section))[field]
    return value


async def _subscribed(observer: Any, channel: str) -> bool:
    counts = await observer.pubsub_numsub(channel)
    return bool(counts) and counts[0][1] >= 1


@pytest.mark.parametrize(
    ("query", "timeout", "block_ms"),
    [
        ("", 5.0, 3_000),  # typedws' own timeout, whatever redis-py's default is
        (f"?socket_timeout={SHORT_TIMEOUT}", SHORT_TIMEOUT, 600),  # the URL's wins: shorter block
        ("?socket_timeout=60", 60.0, 3_000),
    ],
)
@pytest.mark.parametrize("scheme", ["redis", "unix"])
async def test_the_block_ends_well_within_the_socket_timeout(
    scheme: str, query: str, timeout: float, block_ms: int
) -> None:
    """The settings each connection really gets (a Connection built as the pool builds one)."""
    from typedws.broadcast._redis import BLOCK_FRACTION, RedisBackend

    where = f"127.0.0.1:{free_port()}/0" if scheme == "redis" else "/nonexistent/redis.sock"
    backend = RedisBackend(f"{scheme}://{where}{query}", 10, "test")
    pool = backend.client.connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)
    assert connection.socket_timeout == timeout
    assert connection.socket_connect_timeout == 2.0
    assert backend.block_ms == block_ms <= timeout * 1000 * BLOCK_FRACTION
    if scheme == "redis":
        assert connection.socket_keepalive  # type: ignore[attr-defined]


async def test_an_idle_channel_is_not_a_lost_redis(
    redis_server: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing published for many quiet periods: no warning, no new connection, then no delay.

    The reader waits on its subscribed pub/sub connection and sends a PING after each quiet
    period (``block_ms``); Redis' answer must count as Redis being alive, or every idle period
    reads as a lost Redis (a warning, a reconnect, a backoff: issue 17, when the reader waited
    in ``XREAD BLOCK``). The URL's short socket timeout shortens the period with it, so that
    several periods pass in a couple of seconds.
    """
    import redis.asyncio as aioredis

    caplog.set_level(logging.WARNING, logger="typedws")
    url = f"{redis_server.url}?socket_timeout={SHORT_TIMEOUT}"
    # Counts what the server sees, over one connection of its own.
    observer = aioredis.Redis.from_url(redis_server.url, single_connection_client=True)
    try:
        async with (
            Broadcast(url, prefix=prefix) as worker,
            Broadcast(redis_server.url, prefix=prefix) as publisher,
            worker.subscribe(NUMBERS) as sub,
        ):
            with anyio.fail_after(10):  # the reader is subscribed to the channel's notifications
                while not await _subscribed(observer, f"{prefix}:p:numbers"):
                    await asyncio.sleep(0.01)
            connections = await _stat(observer, "stats", "total_connections_received")
            await asyncio.sleep(4 * SHORT_TIMEOUT)  # idle: 4 timeouts, 6 quiet periods
            assert await _stat(observer, "stats", "total_connections_received") == connections
            assert [r.getMessage() for r in caplog.records] == []

            started = time.monotonic()
            msg_id = await publisher.publish(NUMBERS, 42)
            assert await take(sub, 1, timeout=2) == [42]  # generous: it takes milliseconds
            elapsed = time.monotonic() - started
            assert sub.last_id == msg_id
    finally:
        await (observer.aclose() if hasattr(observer, "aclose") else observer.close())  # 5.0.0
    assert [r.getMessage() for r in caplog.records] == []
    print(f"delivered {elapsed * 1000:.1f} ms after the publish")


async def test_a_redis_that_stops_answering_is_still_a_lost_redis(
    redis_executable: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The other side of the idle test: a frozen Redis (SIGSTOP: connections stay open, nothing
    answers) is noticed after the socket timeout, by a reader and by a publish, which raises
    instead of hanging; the reader resumes when Redis answers again."""
    caplog.set_level(logging.WARNING, logger="typedws")
    server = RedisServer(redis_executable, tmp_path)
    server.start()
    assert server.process is not None
    url = f"{server.url}?socket_timeout={SHORT_TIMEOUT}"
    try:
        async with (
            Broadcast(url) as publisher,
            Broadcast(url) as worker,
            worker.subscribe(NUMBERS) as sub,
        ):
            await publisher.publish(NUMBERS, 1)
            assert await take(sub, 1) == [1]
            server.process.send_signal(signal.SIGSTOP)
            try:
                with anyio.fail_after(10):  # a socket timeout (1 s) and then some, generously
                    with pytest.raises(BroadcastUnavailable, match="cannot publish") as caught:
                        await publisher.publish(NUMBERS, -1)
                    # The outcome is unknown, and the error says so (it is not "not stored").
                    assert "did not answer in time" in str(caught.value)
                    assert "may still be stored when Redis catches up" in str(caught.value)
                    await until(lambda: any("lost Redis" in r.getMessage() for r in caplog.records))
            finally:
                server.process.send_signal(signal.SIGCONT)
            await publish_retrying(publisher, NUMBERS, 2)
            got = []
            with anyio.fail_after(10):
                async for item in sub:
                    got.append(item)
                    if item == 2:
                        break
            # Redis still runs the publish that timed out when it wakes (the command was in its
            # socket buffer), so -1 may come first: the timeout cannot tell.
            assert got in ([2], [-1, 2])
    finally:
        server.stop()
    assert any("Redis is back" in r.getMessage() for r in caplog.records)


# -- slow subscribers ---------------------------------------------------------------------------


async def test_slow_subscriber_catches_up_from_redis_without_loss(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        Broadcast(redis_server.url, prefix=prefix, queue_size=5, retention=5_000) as bc,
        bc.subscribe(NUMBERS) as slow,
    ):
        for i in range(1_200):  # more than a fetch batch (500), far more than the queue
            await bc.publish(NUMBERS, i)
        await until(lambda: slow._queue.overflowed)  # the reader pushed more than 5

        assert len(slow._queue.live) == 0
        assert await take(slow, 1_200) == list(range(1_200))


async def test_slow_subscriber_beyond_the_window_is_told(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        Broadcast(redis_server.url, prefix=prefix, queue_size=5, retention=10) as bc,
        bc.subscribe(NUMBERS) as slow,
    ):
        for i in range(600):
            await bc.publish(NUMBERS, i)
        await until(lambda: slow._queue.overflowed)
        gap, first = await take(slow, 2)
        assert isinstance(gap, Gap)
        assert gap.reason == "retention"
        assert gap.missed == first
        rest = await take(slow, 599 - first)
        assert rest == list(range(first + 1, 600))


# -- Redis going away ---------------------------------------------------------------------------


async def test_redis_crash_without_persistence_is_a_reset_gap_then_live_again(
    redis_executable: str, tmp_path: Path
) -> None:
    server = RedisServer(redis_executable, tmp_path)
    server.start()
    try:
        async with (
            Broadcast(server.url) as publisher,
            Broadcast(server.url) as worker,
            worker.subscribe(NUMBERS) as sub,
        ):
            for i in range(10):
                await publisher.publish(NUMBERS, i)
            assert await take(sub, 10) == list(range(10))
            last_before = sub.last_id
            server.kill()
            with pytest.raises(BroadcastUnavailable, match="cannot publish to channel 'numbers'"):
                await publisher.publish(NUMBERS, -1)
            server.start()
            for i in range(10, 20):
                await publish_retrying(publisher, NUMBERS, i)
            items = await take(sub, 11)
            # The old history died with Redis: whether anything after 9 was lost is unknowable,
            # so the subscriber is told, then gets everything published since.
            assert items[0] == Gap(
                channel="numbers", after=last_before, reason="reset", missed=None
            )
            assert items[1:] == list(range(10, 20))
    finally:
        server.stop()


async def test_redis_restart_with_persistence_loses_nothing(
    redis_executable: str, tmp_path: Path
) -> None:
    """Redis restarted mid-stream (with its append-only file): subscribers resume, lose nothing.

    One subscriber keeps up; the other is behind when Redis dies and must still get every
    message published before, during (after retries) and after the restart, in order, once.
    """
    server = RedisServer(redis_executable, tmp_path, persistent=True)
    server.start()
    try:
        async with (
            Broadcast(server.url) as publisher,
            Broadcast(server.url, queue_size=3) as worker,
            worker.subscribe(NUMBERS) as live,
            worker.subscribe(NUMBERS) as behind,
        ):
            for i in range(50):
                await publisher.publish(NUMBERS, i)
            assert await take(live, 50) == list(range(50))
            assert await take(behind, 10) == list(range(10))
            server.kill()
            server.start()
            for i in range(50, 100):
                await publish_retrying(publisher, NUMBERS, i)
            assert await take(live, 50) == list(range(50, 100))
            assert await take(behind, 90) == list(range(10, 100))
    finally:
        server.stop()


# -- two uvicorn workers, browser-like clients --------------------------------------------------


@pytest.fixture
def workers(redis_server: RedisServer, prefix: str) -> Iterator[list[int]]:
    """Two separate uvicorn processes serving tests/broadcast_app.py on one Redis."""
    started = []
    try:
        for _ in range(2):
            started.append(start_uvicorn(redis_server.url, prefix))
        yield [port for _, port in started]
    finally:
        for process, _ in started:
            stop(process)


async def read_frames(ws: Any, count: int) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    with anyio.fail_after(15):
        while len(frames) < count:
            frames.append(json.loads(await ws.recv()))
    return frames


async def test_every_client_on_every_worker_gets_every_message_once_in_order(
    workers: list[int],
) -> None:
    urls = [f"ws://127.0.0.1:{port}" for port in workers]
    count = 200
    feeds = [await connect(f"{urls[i % 2]}/feed?last_id=0-0") for i in range(6)]
    publishers = [await connect(f"{url}/publish") for url in urls]
    try:
        sent: list[str] = []
        for i in range(count):
            pub = publishers[i % 2]  # alternate workers
            await pub.send(f"message {i}")
            reply = await pub.recv()
            assert not str(reply).startswith("error"), reply
            sent.append(str(reply))
        received = await asyncio.gather(*(read_frames(ws, count) for ws in feeds))
    finally:
        for ws in feeds + publishers:
            await ws.close()
    expected = [
        {"type": "message", "id": msg_id, "data": {"user": "publisher", "text": f"message {i}"}}
        for i, msg_id in enumerate(sent)
    ]
    for frames in received:
        assert frames == expected


async def test_client_resumes_on_the_other_worker_after_reconnecting(workers: list[int]) -> None:
    first, second = (f"ws://127.0.0.1:{port}" for port in workers)
    async with connect(f"{first}/publish") as pub:

        async def publish(n: int) -> None:
            for i in range(n):
                await pub.send(f"m{i}")
                await pub.recv()

        async with connect(f"{first}/feed?last_id=0-0") as feed:
            await publish(30)
            seen = await read_frames(feed, 30)
        last_id = seen[-1]["id"]
        await publish(20)  # missed while disconnected
        async with connect(f"{second}/feed?last_id={last_id}") as feed:
            resumed = await read_frames(feed, 20)
    assert [f["data"]["text"] for f in seen] == [f"m{i}" for i in range(30)]
    assert [f["data"]["text"] for f in resumed] == [f"m{i}" for i in range(20)]
    assert all(f["type"] == "message" for f in resumed)
    assert int(resumed[0]["id"].split("-")[1]) == int(last_id.split("-")[1]) + 1


async def test_a_stalled_browser_loses_nothing_inside_the_window(
    redis_server: RedisServer, prefix: str
) -> None:
    """A client that stops reading: the server's sends block, the worker's queue for it (4
    messages here) overflows and is refilled from Redis; when the client reads again it gets
    every message, in order, without a gap."""
    process, port = start_uvicorn(redis_server.url, prefix, queue_size=4)
    try:
        url = f"ws://127.0.0.1:{port}"
        count, size = 150, 64 * 1024  # ~10 MB: far more than the buffers on the way hold
        # A small, fixed receive buffer (no autotuning up to tcp_rmem's 32 MB) and no
        # permessage-deflate (it would shrink the padding to nothing), so that the server's
        # sends really block while the client does not read.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        async with (
            connect(
                f"{url}/feed?last_id=0-0",
                sock=sock,
                max_size=None,
                max_queue=2,
                compression=None,
            ) as stalled,
            connect(f"{url}/publish") as pub,
        ):
            await pub.send("first")
            first_id = await pub.recv()
            for i in range(count):
                await pub.send(f"{i:05d}" + "x" * size)
                assert not str(await pub.recv()).startswith("error")
            frames = await read_frames(stalled, count + 1)
        assert frames[0]["id"] == first_id
        texts = [f["data"]["text"][:5] for f in frames[1:]]
        assert texts == [f"{i:05d}" for i in range(count)]
        assert all(f["type"] == "message" for f in frames)
    finally:
        stop(process)
