"""Benchmark typedws.broadcast's fan-out against encode/broadcaster, Litestar's channels plugin
and the no-library floor, side by side in one run.

Run: ``python benchmarks/bench_broadcast.py [--messages N] [--subscribers N] [--rounds N]
[--append RESULTS.md]`` (``nox -s bench`` runs it against the compiled build and appends the
tables to RESULTS.md).

One publisher, ``--subscribers`` subscribers in this process, ``--messages`` small chat messages
(a frozen msgspec Struct), published one at a time with a yield to the loop between publishes
(a real publisher awaits I/O between messages). Two shapes:

- **decode**: every subscriber decodes every message into the same ``Chat`` Struct. typedws
  subscribers iterate a typed subscription; the anchors deliver ``str`` (broadcaster) or
  ``bytes`` (Litestar) and the subscriber decodes it with a cached ``msgspec.json.Decoder``.
- **forward**: fan-out to that many WebSockets (``typedws.WebSocket`` over an in-memory ASGI
  ``send``, the same for every contender, so what differs is the broadcast layer): typedws
  ``Broadcast.forward()`` (with its default ``{"type":"message","id":...,"data":...}``
  envelope) against the loop each anchor's documentation shows, ``async for m in subscriber:
  await ws.send_text(m)``; the floor sends from a bare ``asyncio.Queue``.

Backends: memory (all four contenders); Redis streams (typedws, broadcaster's
``redis-stream://``, Litestar's ``RedisChannelsStreamBackend``) and Redis pub/sub, which keeps no
history (broadcaster's ``redis://``, Litestar's ``RedisChannelsPubSubBackend``; typedws has no
pub/sub backend: its stream row is compared with them). The Redis rows start their own
redis-server on a free loopback port (no persistence) and need the ``redis`` package.

Reported per contender: messages published per second, deliveries per second (messages x
subscribers), publish-to-delivery latency p50 / p99 (every delivery, under that load), and lost
messages: a run in which any subscriber did not get every message exactly once (within
``LOST_AFTER`` seconds of the last publish) is not timed. Rounds are interleaved, in alternating
order, after one warm-up round; the figures are medians over the timed rounds, and each ratio
is typedws / that contender within the same run: the median of the per-round ratios (paired),
except typedws's Redis stream row against the pub/sub rows (ratio of medians).

broadcaster 0.3.1's Redis pub/sub backend delivers nothing with redis-py 8 (see
``_subscribed_first``): it is run here with a four-line fix of that race, which changes nothing
per message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import msgspec

import typedws
from typedws import WebSocket
from typedws.broadcast import Broadcast, Channel

#: Seconds after the last publish within which every delivery must have arrived.
LOST_AFTER = 15.0


class Chat(msgspec.Struct, frozen=True):
    user: str
    text: str
    n: int


DECODER = msgspec.json.Decoder(Chat)
ENCODER = msgspec.json.Encoder()
_channel_ids = itertools.count()


class Run:
    """One timed run: when each message was published, who got what, latency of each delivery."""

    def __init__(self, messages: int, subscribers: int) -> None:
        self.messages = messages
        self.subscribers = subscribers
        self.sent = [0] * messages
        self.latencies: list[int] = []
        self.received = [0] * subscribers
        self.disorder = 0
        self.ready = 0
        loop = asyncio.get_running_loop()
        self.all_ready: asyncio.Future[None] = loop.create_future()
        self.all_done: asyncio.Future[None] = loop.create_future()
        self.done = 0

    def subscribed(self) -> None:
        self.ready += 1
        if self.ready == self.subscribers:
            self.all_ready.set_result(None)

    def got(self, index: int, msg: Chat) -> bool:
        """A decoded delivery; True once this subscriber has every message."""
        k = self.received[index]
        self.latencies.append(time.perf_counter_ns() - self.sent[msg.n])
        if msg.n != k:
            self.disorder += 1
        k += 1
        self.received[index] = k
        if k == self.messages:
            self._finished()
            return True
        return False

    def frame(self, index: int) -> None:
        """A forwarded frame: the k-th frame a socket gets must be message k."""
        k = self.received[index]
        self.latencies.append(time.perf_counter_ns() - self.sent[k])
        k += 1
        self.received[index] = k
        if k == self.messages:
            self._finished()

    def _finished(self) -> None:
        self.done += 1
        if self.done == self.subscribers and not self.all_done.done():
            self.all_done.set_result(None)

    @property
    def lost(self) -> int:
        return sum(self.messages - min(k, self.messages) for k in self.received) + self.disorder


async def memory_socket(run: Run, index: int) -> WebSocket:
    """An accepted ``typedws.WebSocket`` whose ASGI ``send`` only counts frames (in memory)."""
    connected = False
    loop = asyncio.get_running_loop()

    async def receive() -> dict[str, Any]:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        await loop.create_future()  # the client never speaks nor leaves
        raise AssertionError

    async def send(message: Any) -> None:
        if message["type"] == "websocket.send":
            run.frame(index)

    scope = {"type": "websocket", "path": "/", "headers": [], "query_string": b""}
    ws = WebSocket(scope, receive, send)
    await ws.accept()
    return ws


# --- the contenders: each opens, subscribes (one task per subscriber) and publishes ----------


class Contender:
    name = ""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, msg: Chat) -> None: ...

    async def decode(self, run: Run, index: int) -> None:
        """Subscribe, tell ``run``, decode every message."""

    async def forward(self, run: Run, ws: WebSocket) -> None:
        """Subscribe, tell ``run``, send every message to ``ws``."""

    async def settled(self, run: Run) -> None:
        """Wait until a message published now reaches every subscriber (pub/sub joins late)."""


class TypedwsContender(Contender):
    def __init__(self, url: str) -> None:
        self.name = "typedws"
        self.url = url

    async def open(self) -> None:
        self.channel = Channel(f"bench-{next(_channel_ids)}", Chat)
        self.bc = Broadcast(self.url, queue_size=1_000_000, prefix="bench-typedws")
        await self.bc.connect()

    async def close(self) -> None:
        await self.bc.disconnect()

    async def publish(self, msg: Chat) -> None:
        await self.bc.publish(self.channel, msg)

    async def decode(self, run: Run, index: int) -> None:
        async with self.bc.subscribe(self.channel, on_gap="raise") as sub:
            run.subscribed()
            async for msg in sub:
                if run.got(index, msg):
                    return

    async def forward(self, run: Run, ws: WebSocket) -> None:
        async with self.bc.subscribe(self.channel) as sub:
            run.subscribed()
            await self.bc.forward(sub, ws)


def _subscribed_first(url: str) -> Any:
    """broadcaster's Redis pub/sub backend with its subscribe race fixed.

    broadcaster 0.3.1 sets its listener's ``_ready`` event *before* ``await
    pubsub.subscribe(channel)``. The listener task wakes at that await and calls
    ``pubsub.listen()``, which with redis-py 8 ends at once because the pub/sub connection is not
    subscribed yet; the listener then clears ``_ready`` and waits for it forever, so nothing is
    ever delivered. Subscribing first and setting ``_ready`` after is the whole fix (it is the
    order Litestar's backend uses); the per-message path is broadcaster's own.
    """
    from broadcaster._backends.redis import RedisBackend

    class SubscribedFirst(RedisBackend):
        async def subscribe(self, channel: str) -> None:
            await self._pubsub.subscribe(channel)
            self._ready.set()

    return SubscribedFirst(url)


class BroadcasterContender(Contender):
    def __init__(self, url: str, label: str) -> None:
        self.name = f"broadcaster {label}"
        self.url = url

    async def open(self) -> None:
        from broadcaster import Broadcast as Broadcaster

        self.channel = f"bench-{next(_channel_ids)}"
        if self.url.startswith("redis://"):
            self.bc = Broadcaster(backend=_subscribed_first(self.url))
        else:
            self.bc = Broadcaster(self.url)
        await self.bc.connect()

    async def close(self) -> None:
        listener = self.bc._listener_task
        if listener.done() and not listener.cancelled() and listener.exception() is not None:
            # broadcaster's stream backend: once the last subscriber has left, its listener
            # calls XREAD with no streams and dies (DataError), which disconnect() re-raises.
            # A teardown bug, after the timed part: close the connections and go on.
            await self.bc._backend.disconnect()
            return
        pubsub_listener = getattr(self.bc._backend, "_listener", None)
        await self.bc.disconnect()
        if isinstance(pubsub_listener, asyncio.Task):
            # Its pub/sub listener may have ended on the connection closed under it: collect
            # that, or asyncio reports an exception never retrieved.
            await asyncio.gather(pubsub_listener, return_exceptions=True)

    async def publish(self, msg: Chat) -> None:
        await self.bc.publish(self.channel, ENCODER.encode(msg).decode())

    async def decode(self, run: Run, index: int) -> None:
        async with self.bc.subscribe(self.channel) as subscriber:
            run.subscribed()
            async for event in subscriber:  # type: ignore[union-attr]
                if run.got(index, DECODER.decode(event.message)):
                    return

    async def forward(self, run: Run, ws: WebSocket) -> None:
        async with self.bc.subscribe(self.channel) as subscriber:
            run.subscribed()
            async for event in subscriber:  # type: ignore[union-attr]
                await ws.send_text(event.message)

    async def settled(self, run: Run) -> None:
        if self.url.startswith("redis://"):
            await _pubsub_joined(self.bc._backend._conn, self.channel)


class LitestarContender(Contender):
    def __init__(self, kind: str, url: str | None = None) -> None:
        self.name = f"litestar {kind}"
        self.kind = kind
        self.url = url

    async def open(self) -> None:
        from litestar.channels import ChannelsPlugin
        from litestar.channels.backends.base import ChannelsBackend
        from litestar.channels.backends.memory import MemoryChannelsBackend

        self.channel = f"bench-{next(_channel_ids)}"
        self.redis: Any = None
        backend: ChannelsBackend
        if self.kind == "memory":
            backend = MemoryChannelsBackend()
        else:
            import redis.asyncio
            from litestar.channels.backends.redis import (
                RedisChannelsPubSubBackend,
                RedisChannelsStreamBackend,
            )

            assert self.url is not None
            self.redis = redis.asyncio.Redis.from_url(self.url)
            if self.kind == "pub/sub":
                backend = RedisChannelsPubSubBackend(redis=self.redis)
            else:
                backend = RedisChannelsStreamBackend(history=10_000, redis=self.redis)
        self.plugin = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
        await self.plugin.__aenter__()

    async def close(self) -> None:
        await self.plugin.__aexit__(None, None, None)
        if self.redis is not None:
            await self.redis.aclose()

    async def publish(self, msg: Chat) -> None:
        await self.plugin.wait_published(ENCODER.encode(msg).decode(), self.channel)

    async def decode(self, run: Run, index: int) -> None:
        async with self.plugin.start_subscription(self.channel) as subscriber:
            run.subscribed()
            async for data in subscriber.iter_events():
                if run.got(index, DECODER.decode(data)):
                    return

    async def forward(self, run: Run, ws: WebSocket) -> None:
        async with self.plugin.start_subscription(self.channel) as subscriber:
            run.subscribed()
            # Litestar delivers bytes; its own socket.send_text(bytes) decodes them the same way.
            async for data in subscriber.iter_events():
                await ws.send_text(data.decode())

    async def settled(self, run: Run) -> None:
        if self.kind == "pub/sub":
            await _pubsub_joined(self.redis, self.channel)


class FloorContender(Contender):
    """No library: one ``asyncio.Queue`` per subscriber, the publisher puts into each."""

    name = "no library (asyncio.Queue each)"

    async def open(self) -> None:
        self.queues: list[asyncio.Queue[str]] = []

    async def publish(self, msg: Chat) -> None:
        raw = ENCODER.encode(msg).decode()
        for queue in self.queues:
            queue.put_nowait(raw)

    async def decode(self, run: Run, index: int) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.queues.append(queue)
        run.subscribed()
        while True:
            if run.got(index, DECODER.decode(await queue.get())):
                return

    async def forward(self, run: Run, ws: WebSocket) -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.queues.append(queue)
        run.subscribed()
        while True:
            await ws.send_text(await queue.get())


async def _pubsub_joined(client: Any, channel: str) -> None:
    """Wait until Redis counts a subscriber on ``channel`` (a SUBSCRIBE is sent asynchronously)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        counts = await client.pubsub_numsub(channel)
        if counts and counts[0][1] >= 1:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError(f"nobody subscribed to {channel!r} within 10 s")


# --- one run, rounds, tables ------------------------------------------------------------------


class Outcome:
    def __init__(self, elapsed: float | None, latencies: list[int], lost: int) -> None:
        self.elapsed = elapsed
        self.latencies = latencies
        self.lost = lost


async def run_once(contender: Contender, shape: str, messages: int, subscribers: int) -> Outcome:
    run = Run(messages, subscribers)
    await contender.open()
    tasks: list[asyncio.Task[None]] = []
    try:
        for index in range(subscribers):
            if shape == "decode":
                job: Awaitable[None] = contender.decode(run, index)
            else:
                job = contender.forward(run, await memory_socket(run, index))
            tasks.append(asyncio.ensure_future(job))
            if index == 0:
                # The first subscription opens the channel; the others join it. (broadcaster
                # 0.3.1 loses all but the last of subscriptions opened concurrently on a new
                # channel: each sees no subscriber yet and replaces the channel's set.)
                while run.ready == 0 and not tasks[0].done():
                    await asyncio.sleep(0.001)
        await asyncio.wait_for(run.all_ready, 10)
        await contender.settled(run)
        start = time.perf_counter()
        for i in range(messages):
            msg = Chat("bench", f"message {i}", i)
            run.sent[i] = time.perf_counter_ns()
            await contender.publish(msg)
            await asyncio.sleep(0)  # a real publisher awaits I/O between messages
        try:
            await asyncio.wait_for(asyncio.shield(run.all_done), LOST_AFTER)
            elapsed: float | None = time.perf_counter() - start
        except asyncio.TimeoutError:
            elapsed = None
        if run.lost:
            elapsed = None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await contender.close()
    return Outcome(elapsed, run.latencies, run.lost)


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


class Row:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rates: list[float] = []
        self.by_round: dict[int, float] = {}  # round -> msgs/s, for paired ratios
        self.p50: list[float] = []
        self.p99: list[float] = []
        self.lost = 0
        self.untimed = 0

    def add(self, outcome: Outcome, messages: int, round_: int = -1) -> None:
        self.lost += outcome.lost
        if outcome.elapsed is None:
            self.untimed += 1
            return
        self.rates.append(messages / outcome.elapsed)
        self.by_round[round_] = messages / outcome.elapsed
        self.p50.append(percentile(outcome.latencies, 0.5))
        self.p99.append(percentile(outcome.latencies, 0.99))

    @property
    def rate(self) -> float | None:
        return statistics.median(self.rates) if self.rates else None


def ratio(mine: Row, other: Row, paired: bool = True) -> float | None:
    """``mine``'s msgs/s over ``other``'s: with ``paired`` (two rows of one group), the median
    of the per-round ratios (each round runs the contenders back to back, so a burst of load
    from elsewhere on the machine hits both); otherwise the ratio of the medians."""
    pairs = [mine.by_round[r] / other.by_round[r] for r in mine.by_round if r in other.by_round]
    if paired and pairs:
        return statistics.median(pairs)
        return statistics.median(paired)
    if mine.rate and other.rate:
        return mine.rate / other.rate
    return None


async def bench_group(
    title: str,
    contenders: list[Contender],
    shape: str,
    messages: int,
    subscribers: int,
    rounds: int,
) -> tuple[str, list[Row]]:
    """Warm-up, then ``rounds`` interleaved rounds in alternating order."""
    print(f"{title}: ", end="", flush=True)
    for contender in contenders:
        await run_once(contender, shape, min(messages, 200), subscribers)
    rows = {c.name: Row(c.name) for c in contenders}
    for r in range(rounds):
        order = contenders if r % 2 == 0 else contenders[::-1]
        for contender in order:
            outcome = await run_once(contender, shape, messages, subscribers)
            rows[contender.name].add(outcome, messages, r)
        print(".", end="", flush=True)
    print()
    return title, list(rows.values())


HEADER = (
    "contender",
    "msgs/s",
    "deliveries/s",
    "p50 µs",
    "p99 µs",
    "lost",
    "typedws is",
)


def table(rows: list[Row], subscribers: int, reference: Row | None) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for row in rows:
        rate = row.rate
        if rate is None:
            cells = ("not timed", "-", "-", "-")
        else:
            cells = (
                f"{rate:,.0f}",
                f"{rate * subscribers:,.0f}",
                f"{statistics.median(row.p50):,.0f}",
                f"{statistics.median(row.p99):,.0f}",
            )
        lost = f"{row.lost}" + (f" ({row.untimed} runs not timed)" if row.untimed else "")
        shown = "-"
        if reference is not None and reference is not row and rate and reference.rate:
            value = ratio(reference, row, paired=reference in rows)
            shown = "-" if value is None else f"{value:.2f}x"
        out.append((row.name, *cells, lost, shown))
    return out


def print_table(title: str, lines: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(HEADER)]
    print(f"\n{title}")
    print(" | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for line in lines:
        cells = [line[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)]
        print(" | ".join(cells))


def targets(groups: dict[str, list[Row]]) -> list[str]:
    """The issue-18 targets, each as typedws / the faster anchor of the same run."""
    out: list[str] = []

    def check(label: str, typedws_rows: list[Row], anchor_rows: list[Row], goal: float) -> None:
        mine = next((r for r in typedws_rows if r.name == "typedws"), None)
        anchors = [r for r in anchor_rows if r.name.startswith(("broadcaster", "litestar"))]
        best = max(anchors, key=lambda r: r.rate or 0.0, default=None)
        paired = typedws_rows is anchor_rows
        value = None if mine is None or best is None else ratio(mine, best, paired)
        if mine is None or best is None or value is None or not mine.rate or not best.rate:
            out.append(f"{label}: not measured")
            return
        verdict = "met" if value >= goal else "NOT met"
        out.append(
            f"{label}: typedws {mine.rate:,.0f} msgs/s, faster anchor {best.name} "
            f"{best.rate:,.0f}: {value:.2f}x (target >= {goal:.2f}x: {verdict})"
        )

    if "memory, decode" in groups:
        rows = groups["memory, decode"]
        check("memory, decode", rows, rows, 1.2)
        floor_row = next((r for r in rows if r.name.startswith("no library")), None)
        mine_row = next((r for r in rows if r.name == "typedws"), None)
        floor = None if floor_row is None or mine_row is None else ratio(mine_row, floor_row)
        if floor is not None:
            out.append(f"memory, decode: typedws / no-library floor: {floor:.2f}x")
    if "memory, forward" in groups:
        rows = groups["memory, forward"]
        check("forward() to websockets, memory", rows, rows, 1.2)
    if "Redis stream, decode" in groups:
        rows = groups["Redis stream, decode"]
        check("Redis, stream backends", rows, rows, 1.25)
        if "Redis pub/sub, decode" in groups:
            check("Redis, typedws stream vs pub/sub", rows, groups["Redis pub/sub, decode"], 1.0)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A throwaway redis-server; yields its URL, or None (with a note) when unavailable."""
    executable = shutil.which("redis-server")
    if executable is None and os.path.exists("/usr/bin/redis-server"):
        executable = "/usr/bin/redis-server"  # not on PATH in some sessions
    try:
        import redis  # noqa: F401
    except ImportError:
        print("note: the redis package is not installed (pip install 'typedws[redis]')")
        yield None
        return
    if executable is None:
        print("note: redis-server is not on PATH (apt-get install redis-server)")
        yield None
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [
                executable,
                *("--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _anchors_available() -> tuple[bool, bool]:
    def importable(name: str) -> bool:
        try:
            __import__(name)
        except ImportError:
            print(f"note: {name} is not installed (requirements/bench.txt): its rows are skipped")
            return False
        return True

    return importable("broadcaster"), importable("litestar.channels")


async def main(
    messages: int,
    subscribers: int,
    rounds: int,
    append: str | None = None,
    only: str | None = None,
) -> None:
    build = "compiled" if typedws.COMPILED else "pure"
    print(
        f"typedws.broadcast fan-out ({build} build): {messages} messages, {subscribers} "
        f"subscribers, medians of {rounds} interleaved rounds\n"
    )
    has_broadcaster, has_litestar = _anchors_available()

    def memory_contenders() -> list[Contender]:
        out: list[Contender] = [TypedwsContender("memory://")]
        if has_broadcaster:
            out.append(BroadcasterContender("memory://", "memory"))
        if has_litestar:
            out.append(LitestarContender("memory"))
        out.append(FloorContender())
        return out

    results: list[tuple[str, list[Row]]] = []
    with redis_server() as redis_url:
        plan: list[tuple[str, Callable[[], list[Contender]], str]] = [
            ("memory, decode", memory_contenders, "decode"),
            ("memory, forward", memory_contenders, "forward"),
        ]
        if redis_url is not None:
            url = redis_url

            def stream_contenders() -> list[Contender]:
                out: list[Contender] = [TypedwsContender(url)]
                if has_broadcaster:
                    out.append(
                        BroadcasterContender(url.replace("redis://", "redis-stream://"), "stream")
                    )
                if has_litestar:
                    out.append(LitestarContender("stream", url))
                return out

            def pubsub_contenders() -> list[Contender]:
                out: list[Contender] = []
                if has_broadcaster:
                    out.append(BroadcasterContender(url, "pub/sub"))
                if has_litestar:
                    out.append(LitestarContender("pub/sub", url))
                return out

            plan += [
                ("Redis stream, decode", stream_contenders, "decode"),
                ("Redis pub/sub, decode", pubsub_contenders, "decode"),
            ]
        for title, make, shape in plan:
            if only is not None and only not in title:
                continue
            contenders = make()
            if contenders:
                results.append(
                    await bench_group(title, contenders, shape, messages, subscribers, rounds)
                )
    groups = dict(results)
    typedws_redis = next(
        (r for r in groups.get("Redis stream, decode", []) if r.name == "typedws"), None
    )
    rendered: list[tuple[str, list[tuple[str, ...]]]] = []
    for title, rows in results:
        reference = next((r for r in rows if r.name == "typedws"), None)
        if title.startswith("Redis pub/sub"):
            reference = typedws_redis  # typedws has no pub/sub backend: its stream row
        lines = table(rows, subscribers, reference)
        rendered.append((title, lines))
        print_table(title, lines)
    verdicts = targets(groups)
    print("\nTargets (issue 18), same run:")
    for line in verdicts:
        print(f"- {line}")
    if redis_url is None:
        print("\n(no Redis rows: see the note above)")
    if append is not None:
        _append_markdown(append, build, messages, subscribers, rounds, rendered, verdicts)


def _append_markdown(
    path: str,
    build: str,
    messages: int,
    subscribers: int,
    rounds: int,
    rendered: list[tuple[str, list[tuple[str, ...]]]],
    verdicts: list[str],
) -> None:
    """Add this run as a section of RESULTS.md (nox -s bench writes the rest first)."""
    lines = [
        "",
        f"## Broadcast fan-out ({build} build, {subscribers} subscribers)",
        "",
        f"`benchmarks/bench_broadcast.py`: one publisher, {subscribers} subscribers in one "
        f"process, {messages} small chat messages (a frozen msgspec Struct) published one at a "
        f"time; medians of {rounds} interleaved rounds in alternating order, after a warm-up. "
        "*decode*: every subscriber decodes every message into the Struct (the anchors deliver "
        "str or bytes, decoded with a cached `msgspec.json.Decoder`). *forward*: fan-out to "
        f"{subscribers} `typedws.WebSocket`s over an in-memory ASGI send, typedws `forward()` "
        "(with its id envelope) against `async for m in subscriber: await ws.send_text(m)`. "
        "Latency: publish to delivery, every delivery. Lost: messages some subscriber did not "
        'get exactly once (a run that lost any is not timed). "typedws is": typedws\'s msgs/s '
        "over that row's, the median of the per-round ratios (paired: a burst of load from "
        "elsewhere hits both); for pub/sub, typedws's Redis stream row over the pub/sub row "
        "(ratio of medians: different rounds). broadcaster's "
        "Redis pub/sub backend runs with its subscribe race fixed (it delivers nothing with "
        "redis-py 8 otherwise; see `_subscribed_first`).",
    ]
    for title, rows in rendered:
        lines += [
            "",
            f"**{title}**",
            "",
            "| " + " | ".join(HEADER) + " |",
            "|---|" + "---:|" * (len(HEADER) - 1),
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    lines += ["", "Targets (issue 18), same run:", "", *(f"- {v}" for v in verdicts)]
    with open(path, "a", encoding="utf-8") as results:
        results.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", help="run only the groups whose title contains this")
    parser.add_argument("--append", help="also append the tables to this markdown file")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.subscribers, args.rounds, args.append, args.only))
