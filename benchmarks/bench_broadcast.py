"""Benchmark typedws.broadcast: fan-out throughput to 100 subscribers, and Redis' added latency.

Run: ``python benchmarks/bench_broadcast.py [--messages N] [--subscribers N] [--samples N]``.

- Fan-out: one publisher, 100 subscribers in this process, each decoding every message into a
  ``Chat`` Struct. Reported: messages published per second (each delivered 100 times) and
  deliveries per second, for ``memory://`` and ``redis://`` (one Redis reader task feeds all 100
  local subscribers, as one worker process would).
- Latency: publish one message, wait until a subscriber has it, repeat; the median and p99 of
  publish-to-delivery time for each backend. "Added by Redis" is the Redis figure minus memory.

The Redis rows need ``redis-server`` on PATH (started here on a free loopback port, no
persistence, stopped at the end) and the ``redis`` package; without them they are skipped with a
note. asyncio only (the Redis backend needs it).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import msgspec

import typedws
from typedws.broadcast import Broadcast, Channel, Subscription


class Chat(msgspec.Struct):
    user: str
    text: str
    sent_ns: int


ROOM = Channel("bench", Chat)


async def fan_out(url: str, messages: int, subscribers: int) -> float:
    """Seconds from the first publish until every subscriber has decoded every message."""
    async with Broadcast(url, queue_size=messages + 1, retention=messages + 1) as sub_side:
        subs = [sub_side.subscribe(ROOM, on_gap="raise") for _ in range(subscribers)]
        for sub in subs:
            await sub.__aenter__()
        # Memory: one process, one Broadcast. Redis: a second one stands for another worker.
        publisher = sub_side if url.startswith("memory") else Broadcast(url)
        async with _entered(publisher, sub_side) as pub_side:

            async def consume(sub: Subscription[Chat]) -> None:
                count = 0
                async for _ in sub:
                    count += 1
                    if count == messages:
                        return

            tasks = [asyncio.ensure_future(consume(sub)) for sub in subs]
            await asyncio.sleep(0)
            start = time.perf_counter()
            for i in range(messages):
                await pub_side.publish(ROOM, Chat("bench", f"message {i}", 0))
                await asyncio.sleep(0)  # a real publisher awaits I/O between messages
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - start
        for sub in subs:
            await sub.__aexit__(None, None, None)
    return elapsed


@asynccontextmanager
async def _entered(bc: Broadcast, already: Broadcast) -> AsyncIterator[Broadcast]:
    if bc is already:
        yield bc
        return
    async with bc:
        yield bc


async def latency(url: str, samples: int) -> list[float]:
    """Publish-to-delivery times in microseconds, one message in flight at a time."""
    out: list[float] = []
    async with Broadcast(url) as bc, bc.subscribe(ROOM, on_gap="raise") as sub:
        for i in range(samples + 50):
            await bc.publish(ROOM, Chat("bench", "ping", time.perf_counter_ns()))
            msg = await sub.__anext__()
            if i >= 50:  # warm-up
                out.append((time.perf_counter_ns() - msg.sent_ns) / 1000)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throwaway redis-server; yields its URL, or None (with a note) when unavailable."""
    executable = shutil.which("redis-server")
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(messages: int, subscribers: int, samples: int, append: str | None = None) -> None:
    build = "compiled" if typedws.COMPILED else "pure"
    print(f"typedws.broadcast benchmark ({build} build), {subscribers} subscribers\n")
    rows: list[tuple[str, str, str, str, str]] = []
    lat: dict[str, list[float]] = {}
    with redis_server() as redis_url:
        backends = [("memory", "memory://")]
        if redis_url is not None:
            backends.append(("redis", redis_url))
        for name, url in backends:
            await fan_out(url, min(messages, 200), subscribers)  # warm-up
            elapsed = await fan_out(url, messages, subscribers)
            lat[name] = await latency(url, samples)
            rows.append(
                (
                    name,
                    f"{messages / elapsed:,.0f}",
                    f"{messages * subscribers / elapsed:,.0f}",
                    f"{statistics.median(lat[name]):,.0f}",
                    f"{percentile(lat[name], 0.99):,.0f}",
                )
            )
    header = ("backend", "msgs/s published", "deliveries/s", "latency p50 µs", "latency p99 µs")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    if "redis" in lat:
        added_p50 = statistics.median(lat["redis"]) - statistics.median(lat["memory"])
        added_p99 = percentile(lat["redis"], 0.99) - percentile(lat["memory"], 0.99)
        print(f"\nlatency added by Redis: median {added_p50:,.0f} µs, p99 {added_p99:,.0f} µs")
    print(
        f"\n({messages} messages fanned out for throughput; {samples} one-at-a-time "
        "messages for latency)"
    )
    if append is not None:
        _append_markdown(append, build, subscribers, messages, samples, header, rows, lat)


def _append_markdown(
    path: str,
    build: str,
    subscribers: int,
    messages: int,
    samples: int,
    header: tuple[str, ...],
    rows: list[tuple[str, str, str, str, str]],
    lat: dict[str, list[float]],
) -> None:
    """Add this run as a section of RESULTS.md (nox -s bench writes the rest first)."""
    lines = [
        "",
        f"## Broadcast fan-out ({build} build, {subscribers} subscribers)",
        "",
        f"`benchmarks/bench_broadcast.py`: {messages} messages published and delivered to every "
        f"subscriber (each decodes every message); latency from {samples} messages published "
        "one at a time, publish to delivery.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if "redis" in lat:
        added_p50 = statistics.median(lat["redis"]) - statistics.median(lat["memory"])
        added_p99 = percentile(lat["redis"], 0.99) - percentile(lat["memory"], 0.99)
        lines += [
            "",
            f"Latency added by Redis: median {added_p50:,.0f} µs, p99 {added_p99:,.0f} µs.",
        ]
    else:
        lines += ["", "No redis-server on this machine: the Redis rows are missing."]
    with open(path, "a", encoding="utf-8") as results:
        results.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--append", help="also append the table to this markdown file")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.subscribers, args.samples, args.append))
