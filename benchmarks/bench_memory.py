"""Memory per open connection, in memory: typedws against Starlette, Lilya and a bare ASGI loop.

Run: ``python benchmarks/bench_memory.py [--connections 1000,10000] [--rounds N]
[--pure-path DIR] [--append RESULTS.md]`` (``nox -s bench`` runs it against the compiled build,
the pure build on ``--pure-path``, and appends the tables to RESULTS.md).

N connections are opened in one process against one in-memory ASGI server: each gets its own
scope (a Chrome handshake: 13 headers, among them a unique ``sec-websocket-key`` and a cookie
with two cookies; a query string ``room=lobby&user=uN``), its own ``asyncio.Queue`` as
``receive`` and its own task running the application. The application accepts, reads
``headers``, ``query_params``, ``cookies`` and ``url`` once ("after reads"; or nothing,
"handshake only") and then waits for the next message, as an idle connection does. Measured
with ``tracemalloc``: memory still allocated once every connection is idle, after a full
collection, per connection. The bare ASGI loop holds the same scope, queue and task and nothing
else, so each library's *own share* is its figure minus the bare one; the ratio compares that
share with Starlette's.

Every measurement runs in a fresh interpreter (no heap left over from another library), in
alternating order round by round; tracemalloc counts bytes, not time, so the rounds agree to
the byte unless something is cached lazily, and the median is reported.

The second table times the property reads themselves (one connection, no event loop): the
first read of all four (parsing) and a repeated read (cached), ns per connection.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
App = Callable[[dict[str, Any], Callable[[], Awaitable[Message]], Any], Awaitable[None]]

IMPLEMENTATIONS = ("bare", "typedws", "typedws pure", "starlette", "lilya")
PROPERTIES = ("headers", "query_params", "cookies", "url")


def make_scope(i: int) -> dict[str, Any]:
    """The scope of connection ``i``: what uvicorn builds for Chrome's handshake."""
    key = base64.b64encode(os.urandom(16))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 40000 + i % 20000),
        "root_path": "",
        "path": "/chat",
        "raw_path": b"/chat",
        "query_string": b"room=lobby&user=u%d" % i,
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"connection", b"Upgrade"),
            (b"pragma", b"no-cache"),
            (b"cache-control", b"no-cache"),
            (
                b"user-agent",
                b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                b"Chrome/131.0.0.0 Safari/537.36",
            ),
            (b"upgrade", b"websocket"),
            (b"origin", b"http://127.0.0.1:8000"),
            (b"sec-websocket-version", b"13"),
            (b"accept-encoding", b"gzip, deflate, br, zstd"),
            (b"accept-language", b"en-US,en;q=0.9"),
            (b"cookie", b"session=%d; theme=dark" % i),
            (b"sec-websocket-key", key),
            (b"sec-websocket-extensions", b"permessage-deflate; client_max_window_bits"),
        ],
        "subprotocols": [],
        "state": {},
    }


def _websocket_class(implementation: str) -> Any:
    if implementation.startswith("typedws"):
        from typedws import WebSocket

        return WebSocket
    if implementation == "starlette":
        from starlette.websockets import WebSocket as StarletteWebSocket

        return StarletteWebSocket
    from lilya.websockets import WebSocket as LilyaWebSocket

    return LilyaWebSocket


def make_app(implementation: str, reads: tuple[str, ...]) -> App:
    """The application: accept, read ``reads`` once, wait for the next message."""
    if implementation == "bare":

        async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await receive()
            await send({"type": "websocket.accept"})
            await receive()

        return bare
    websocket_class = _websocket_class(implementation)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        ws = websocket_class(scope, receive, send)
        await ws.accept()
        for name in reads:
            getattr(ws, name)
        await ws.receive()

    return app


async def _measure(implementation: str, connections: int, reads: tuple[str, ...]) -> float:
    app = make_app(implementation, reads)
    queues: list[asyncio.Queue[Message]] = []
    tasks: list[asyncio.Future[None]] = []
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    # One connection first, untraced: imports and one-time caches are not per connection.
    warm: asyncio.Queue[Message] = asyncio.Queue()
    warm.put_nowait({"type": "websocket.connect"})
    warm_task = asyncio.ensure_future(app(make_scope(-1), warm.get, send))
    for _ in range(5):
        await asyncio.sleep(0)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(connections):
        queue: asyncio.Queue[Message] = asyncio.Queue()
        queue.put_nowait({"type": "websocket.connect"})
        queues.append(queue)
        tasks.append(asyncio.ensure_future(app(make_scope(i), queue.get, send)))
    for _ in range(5):  # every task runs to its idle receive
        await asyncio.sleep(0)
    accepted = sum(1 for message in sent if message["type"] == "websocket.accept")
    sent.clear()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    if accepted != connections + 1:
        raise RuntimeError(f"{implementation}: {accepted - 1} of {connections} accepted")
    if any(task.done() for task in tasks):
        raise RuntimeError(f"{implementation}: a connection ended before the measurement")
    for queue in [*queues, warm]:
        queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.gather(*tasks, warm_task)
    return (after - before) / connections


def _time_reads(implementation: str, repeat: int = 2000) -> tuple[float, float]:
    """ns per connection: the first read of every property, then a repeated (cached) read."""
    if implementation == "bare":
        return (0.0, 0.0)
    websocket_class = _websocket_class(implementation)

    async def nothing() -> Message:
        return {}

    scopes = [make_scope(i) for i in range(repeat)]
    sockets = [websocket_class(scope, nothing, nothing) for scope in scopes]
    getters = [lambda ws, name=name: getattr(ws, name) for name in PROPERTIES]
    best_first = best_again = float("inf")
    for attempt in range(3):
        if attempt:
            sockets = [websocket_class(scope, nothing, nothing) for scope in scopes]
        started = time.perf_counter_ns()
        for ws in sockets:
            for get in getters:
                get(ws)
        first = time.perf_counter_ns() - started
        started = time.perf_counter_ns()
        for ws in sockets:
            for get in getters:
                get(ws)
        again = time.perf_counter_ns() - started
        best_first = min(best_first, first / repeat)
        best_again = min(best_again, again / repeat)
    return (best_first, best_again)


def _child(implementation: str, connections: int, reads: str) -> None:
    chosen = tuple(name for name in reads.split(",") if name)
    per_connection = asyncio.run(_measure(implementation, connections, chosen))
    result: dict[str, Any] = {"bytes": per_connection}
    if implementation.startswith("typedws"):
        import typedws

        result["compiled"] = typedws.COMPILED
    print(json.dumps(result))


def _ask_child(implementation: str, pure_path: str | None, *args: str) -> Any:
    """Run this script with ``args`` in a fresh interpreter (the pure build first on the path
    for "typedws pure") and return the JSON its last line prints."""
    env = dict(os.environ)
    if implementation == "typedws pure":
        if pure_path is None:
            raise RuntimeError("typedws pure needs --pure-path")
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (os.path.abspath(pure_path), env.get("PYTHONPATH", "")) if p
        )
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{implementation} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.splitlines()[-1])


def _run_child(
    implementation: str, connections: int, reads: tuple[str, ...], pure_path: str | None
) -> float:
    result: dict[str, Any] = _ask_child(
        implementation, pure_path, "--child", implementation, str(connections), ",".join(reads)
    )
    if implementation.startswith("typedws"):
        expected = implementation == "typedws"
        if result["compiled"] is not expected:
            raise RuntimeError(f"{implementation}: typedws.COMPILED is {result['compiled']}")
    return float(result["bytes"])


def _timings_child(implementation: str) -> None:
    print(json.dumps(_time_reads(implementation)))


def _run_timings(implementation: str, pure_path: str | None) -> tuple[float, float]:
    first, again = _ask_child(implementation, pure_path, "--timings-child", implementation)
    return (float(first), float(again))


def run(
    counts: list[int], rounds: int, pure_path: str | None
) -> tuple[dict[tuple[str, int, str], float], dict[str, tuple[float, float]]]:
    implementations = [i for i in IMPLEMENTATIONS if pure_path is not None or i != "typedws pure"]
    shapes = {"handshake only": (), "after reads": PROPERTIES}
    samples: dict[tuple[str, int, str], list[float]] = {}
    for round_ in range(rounds):
        order = implementations if round_ % 2 == 0 else implementations[::-1]
        for count in counts:
            for shape, reads in shapes.items():
                for implementation in order:
                    value = _run_child(implementation, count, reads, pure_path)
                    samples.setdefault((implementation, count, shape), []).append(value)
        print(f"round {round_ + 1} of {rounds} done", file=sys.stderr)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    timings: dict[str, list[tuple[float, float]]] = {}
    for round_ in range(rounds):
        order = implementations if round_ % 2 == 0 else implementations[::-1]
        for implementation in order:
            timings.setdefault(implementation, []).append(_run_timings(implementation, pure_path))
    timing_medians = {
        name: (
            statistics.median(first for first, _ in values),
            statistics.median(again for _, again in values),
        )
        for name, values in timings.items()
    }
    return medians, timing_medians


def markdown(
    medians: dict[tuple[str, int, str], float],
    timings: dict[str, tuple[float, float]],
    counts: list[int],
    rounds: int,
) -> list[str]:
    implementations = [i for i in IMPLEMENTATIONS if any(key[0] == i for key in medians)]
    lines = [
        "## Memory per connection, in memory (tracemalloc)",
        "",
        "Bytes still allocated per idle connection (`benchmarks/bench_memory.py`): a Chrome "
        "handshake (13 headers), accepted; *after reads*: `headers`, `query_params`, `cookies` "
        "and `url` read once. *Share*: the figure minus the bare ASGI loop's (same scope, "
        f"queue and task); ratio to Starlette's share. Medians of {rounds} rounds, each "
        "measurement in a fresh interpreter, alternating order.",
        "",
        "| implementation | "
        + " | ".join(f"{n:,} conns, handshake only | {n:,} conns, after reads" for n in counts)
        + " |",
        "|---|" + "---:|" * (2 * len(counts)),
    ]
    for implementation in implementations:
        cells = []
        for count in counts:
            for shape in ("handshake only", "after reads"):
                value = medians[(implementation, count, shape)]
                bare = medians[("bare", count, shape)]
                starlette = medians[("starlette", count, shape)] - bare
                if implementation == "bare":
                    cells.append(f"{value:,.0f} B")
                    continue
                share = value - bare
                ratio = f", {share / starlette:.2f}x starlette" if starlette > 0 else ""
                cells.append(f"{value:,.0f} B (share {share:,.0f} B{ratio})")
        lines.append(f"| {implementation} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Reading the four properties (one connection, no event loop), ns per connection: "
        "first read (parsing) and a repeated read (cached in typedws; Starlette and Lilya "
        "rebuild or re-scan some of them).",
        "",
        "| implementation | first read | repeated read |",
        "|---|---:|---:|",
    ]
    for implementation in implementations:
        if implementation == "bare":
            continue
        first, again = timings[implementation]
        lines.append(f"| {implementation} | {first:,.0f} | {again:,.0f} |")
    lines += ["", "Targets (issue 18), same run:", ""]
    for count in counts:
        bare = medians[("bare", count, "after reads")]
        ours = medians[("typedws", count, "after reads")] - bare
        theirs = medians[("starlette", count, "after reads")] - bare
        ratio = ours / theirs
        verdict = "met" if ratio <= 1.0 else "not met"
        lines.append(
            f"- typedws's own share <= Starlette's, {count:,} connections after reads: "
            f"{ours:,.0f} B vs {theirs:,.0f} B = {ratio:.2f}x: {verdict}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pure-path", help="directory with the pure build of typedws")
    parser.add_argument("--append", help="also append the tables to this markdown file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--timings-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        implementation, connections, reads = args.child
        _child(implementation, int(connections), reads)
        return
    if args.timings_child:
        _timings_child(args.timings_child)
        return
    counts = [int(count) for count in args.connections.split(",")]
    medians, timings = run(counts, args.rounds, args.pure_path)
    lines = markdown(medians, timings, counts, args.rounds)
    print("\n".join(lines))
    if args.append:
        with open(args.append, "a", encoding="utf-8") as results:
            results.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
