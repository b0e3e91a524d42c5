"""The client processes of bench_hostile.py: the well-behaved clients, and each hostile kind.

``python _hostile_clients.py KIND BASE_URL [options]``, one process per kind, so that no kind
shares an event loop with another (bench_hostile.py pins them all to the clients' CPU):

* ``good``: 50 clients on ``/echo`` (no limit). They connect first (handshakes not timed), talk
  for a warm-up, then print ``start``, talk for ``--seconds``, print ``end``, and finally one
  JSON line: messages echoed, echo latencies p50/p99, the process's CPU time, errors. Closed
  loop (``--rate 0``): each client sends, waits for its echo, sends again. Open loop
  (``--rate R``): each client sends R messages a second on a fixed schedule whatever the
  echoes do, a reader task takes the echoes; every message must come back, in order.
* ``flood``: 10,000 messages a second at ``/rate`` (``rate_limit=(100, 1.0)``): bursts of 100
  every 10 ms, reading the echoes as they come, reconnecting after each close.
* ``silent``: 200 connections to ``/idle`` (``idle_timeout=0.5``) that never send; each
  reconnects as soon as the server closes it, so 200 are open at any time.
* ``oversized``: a 256 KiB message to ``/size`` (``max_message_size=1024``), on a new
  connection each time.
* ``foreign``: handshakes to ``/origin`` with ``Origin: https://evil.example`` (200 a second
  at most).

A hostile process runs until its standard input closes (or gets a line), then prints one JSON
line: what it sent and the refusals it got, by kind and code (``rate 1008``, ``idle 1001``,
``size 1009``, ``origin 403``; anything else is unexpected).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import sys
import threading
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

WELL_BEHAVED = 50
SILENT = 200
FLOOD_RATE = 10_000
BIG = b"z" * 256 * 1024


def _stopper() -> threading.Event:
    """Set once standard input has a line or closes (the runner's signal to stop)."""
    stop = threading.Event()

    def wait() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait, daemon=True).start()
    return stop


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _open(url: str, origin: str | None = None) -> ClientConnection:
    return await connect(
        url,
        origin=None if origin is None else Origin(origin),
        open_timeout=30,
        close_timeout=10,
        ping_interval=None,
        compression=None,
        max_size=None,
        max_queue=None,
    )


async def _close_code(ws: ClientConnection) -> int | None:
    """Read (and drop) until the server closes; its close code (None: no close frame)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    except TimeoutError:
        await ws.close()
        return -1


# --- well-behaved ---------------------------------------------------------------------------


class Good:
    """What the 50 well-behaved clients saw in the timed window."""

    def __init__(self) -> None:
        self.echoed = 0  # echoes received inside the window
        self.sent = 0  # messages sent inside the window (open loop)
        self.latencies: list[float] = []  # seconds, echoes inside the window
        self.lags: list[float] = []  # seconds, this process's event-loop lag
        self.errors: list[str] = []
        self.timing = False


async def _closed_loop(ws: ClientConnection, good: Good, until: list[float]) -> None:
    n = 0
    while time.monotonic() < until[0]:
        text = str(n)
        sent = time.perf_counter()
        await ws.send(text)
        echo = await ws.recv()
        if echo != text:
            good.errors.append(f"sent {text!r}, got {echo!r}")
            return
        if good.timing:
            good.echoed += 1
            good.latencies.append(time.perf_counter() - sent)
        n += 1


async def _open_loop(
    ws: ClientConnection, good: Good, until: list[float], rate: float, offset: float
) -> None:
    pending: collections.deque[tuple[str, float, bool]] = collections.deque()
    done_sending = asyncio.Event()

    async def read() -> None:
        while pending or not done_sending.is_set():
            echo = await ws.recv()
            text, sent, timed = pending.popleft()
            if echo != text:
                good.errors.append(f"sent {text!r}, got {echo!r}")
                return
            if timed:
                good.echoed += 1
                good.latencies.append(time.perf_counter() - sent)

    reader = asyncio.create_task(read())
    try:
        period = 1.0 / rate
        tick = time.monotonic() + offset * period
        n = 0
        while tick < until[0] and not reader.done():
            await asyncio.sleep(max(tick - time.monotonic(), 0))
            text = str(n)
            pending.append((text, time.perf_counter(), good.timing))
            if good.timing:
                good.sent += 1
            await ws.send(text)
            n += 1
            tick += period
        done_sending.set()
        # Every echo must come back (a loss fails the run): 10 s at most.
        await asyncio.wait_for(asyncio.shield(reader), 10)
    except TimeoutError:
        good.errors.append(f"{len(pending)} echoes missing 10 s after the last send")
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await reader


async def good_clients(url: str, seconds: float, warmup: float, rate: float) -> dict[str, Any]:
    good = Good()
    clients = await asyncio.gather(*(_open(url + "/echo") for _ in range(WELL_BEHAVED)))
    started = time.monotonic()
    until = [float("inf")]

    async def one(i: int, ws: ClientConnection) -> None:
        try:
            if rate > 0:
                await _open_loop(ws, good, until, rate, i / WELL_BEHAVED)
            else:
                await _closed_loop(ws, good, until)
        except Exception as error:  # any failure of a good client fails the run
            good.errors.append(f"client {i}: {error!r}")

    async def lag() -> None:
        # This process's own event-loop lag (how late a 5 ms sleep wakes): a latency that comes
        # from the clients' side, not the server's.
        while True:
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            if good.timing:
                good.lags.append(time.perf_counter() - due)

    tasks = [asyncio.create_task(one(i, ws)) for i, ws in enumerate(clients)]
    ticker = asyncio.create_task(lag())
    await asyncio.sleep(warmup)
    print("start", flush=True)
    cpu = _cpu()
    window_start = time.monotonic()
    good.timing = True
    until[0] = window_start + seconds
    await asyncio.sleep(seconds)
    good.timing = False
    window = time.monotonic() - window_start
    print("end", flush=True)
    cpu = _cpu() - cpu
    ticker.cancel()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)

    def pick(values: list[float], fraction: float) -> float | None:
        if not values:
            return None
        values = sorted(values)
        return values[min(len(values) - 1, int(fraction * len(values)))]

    return {
        "echoed": good.echoed,
        "sent": good.sent,
        "window": window,
        "p50": pick(good.latencies, 0.5),
        "p99": pick(good.latencies, 0.99),
        "lag_p99": pick(good.lags, 0.99),
        "cpu": cpu,
        "warm": time.monotonic() - started,
        "errors": good.errors[:5],
    }


# --- hostile --------------------------------------------------------------------------------


async def flood(url: str, stop: threading.Event, codes: Counter[str]) -> int:
    """Bursts of 1 % of FLOOD_RATE every 10 ms, reconnecting after each close."""
    burst = FLOOD_RATE // 100
    sent = 0
    while not stop.is_set():
        ws = await _open(url + "/rate")
        reader = asyncio.create_task(_close_code(ws))
        tick = time.monotonic()
        with contextlib.suppress(ConnectionClosed):
            while not stop.is_set() and not reader.done():
                for i in range(burst):
                    await ws.send(str(i))
                    sent += 1
                tick += 0.01
                await asyncio.sleep(max(tick - time.monotonic(), 0))
        if not reader.done():
            await ws.close()
        codes[f"rate {await reader}"] += 1
    return sent


async def silent(url: str, stop: threading.Event, codes: Counter[str]) -> int:
    async def one(i: int) -> None:
        # Spread over the idle timeout (0.5 s): 200 open at any time in a steady state, not a
        # herd of 200 handshakes every 0.5 s (which would stall any one-loop server a while).
        await asyncio.sleep(0.5 * i / SILENT)
        while not stop.is_set():
            ws = await _open(url + "/idle")
            codes[f"idle {await _close_code(ws)}"] += 1

    await asyncio.gather(*(one(i) for i in range(SILENT)))
    return 0


async def oversized(url: str, stop: threading.Event, codes: Counter[str]) -> int:
    sent = 0
    while not stop.is_set():
        ws = await _open(url + "/size")
        with contextlib.suppress(ConnectionClosed):
            await ws.send(BIG)
            sent += 1
        codes[f"size {await _close_code(ws)}"] += 1
    return sent


async def foreign(url: str, stop: threading.Event, codes: Counter[str]) -> int:
    while not stop.is_set():
        try:
            ws = await _open(url + "/origin", origin="https://evil.example")
        except InvalidStatus as refused:
            codes[f"origin {refused.response.status_code}"] += 1
        else:
            codes["origin accepted"] += 1
            await ws.close()
        await asyncio.sleep(0.005)
    return 0


HOSTILE = {"flood": flood, "silent": silent, "oversized": oversized, "foreign": foreign}


async def hostile(kind: str, url: str) -> dict[str, Any]:
    stop = _stopper()
    codes: Counter[str] = Counter()
    print("up", flush=True)  # imported and running: the runner's ramp starts now
    started = time.monotonic()
    try:
        sent = await HOSTILE[kind](url, stop, codes)
        error = None
    except Exception as caught:  # reported: the runner fails the run
        sent, error = 0, repr(caught)
    return {
        "kind": kind,
        "sent": sent,
        "codes": dict(codes),
        "seconds": time.monotonic() - started,
        "cpu": _cpu(),
        "error": error,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["good", *HOSTILE])
    parser.add_argument("url", help="ws://host:port (no path)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: msgs/s per client")
    args = parser.parse_args()
    if args.kind == "good":
        result = asyncio.run(good_clients(args.url, args.seconds, args.warmup, args.rate))
    else:
        result = asyncio.run(hostile(args.kind, args.url))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
