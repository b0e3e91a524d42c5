"""End to end: uvicorn serving three echo apps, 50 concurrent ``websockets`` clients.

The same uvicorn settings serve each app (``e2e_apps``: raw ASGI, Starlette, typedws), each in
its own process, all started up front and idle while another is measured. The clients run in
this process; each trial opens 50 connections to one server, lets them echo chat messages
(``WINDOW`` in flight per connection) for a warm-up, then counts the echoes for a fixed time. Rounds
alternate the order of the servers; the result is the median of messages per second, the
median over rounds of each app's ratio to the raw app in the same round, and the
server process's CPU time per message (read from /proc), which still tells the layers apart
when the single client process, not the server, is the bottleneck.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import encoded
from _process import cpu_seconds, free_port

HERE = Path(__file__).resolve().parent
APPS = ["raw", "starlette", "typedws"]
CLIENTS = 50
#: Messages each client keeps in flight: a few, so that the one client process (on a 2-core
#: machine, the server has the other core) does less work per message than the server.
WINDOW = 4
UVICORN_ARGS = ["--log-level", "warning", "--lifespan", "off", "--ws", "websockets-sansio"]


class Server:
    def __init__(self, app: str) -> None:
        self.app = app
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"e2e_apps:{app}",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *UVICORN_ARGS,
            ],
            cwd=str(HERE),
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn serving {self.app} exited")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn serving {self.app} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def _load(port: int, seconds: float, warmup: float) -> tuple[int, float]:
    """Echo for ``warmup`` + ``seconds``; return (echoes counted, elapsed) for the last part."""
    from websockets.asyncio.client import connect

    message = encoded("small").decode()
    counting = False
    count = 0
    stop = False

    async def client() -> None:
        nonlocal count
        async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
            await ready.wait()
            while not stop:
                for _ in range(WINDOW):
                    await ws.send(message)
                for _ in range(WINDOW):
                    reply = await ws.recv()
                    assert len(reply) == len(message)
                if counting:
                    count += WINDOW

    ready = asyncio.Event()
    tasks = [asyncio.create_task(client()) for _ in range(CLIENTS)]
    await asyncio.sleep(0.2)  # handshakes
    ready.set()
    await asyncio.sleep(warmup)
    counting = True
    start = time.perf_counter()
    await asyncio.sleep(seconds)
    counting = False
    elapsed = time.perf_counter() - start
    measured = count
    stop = True
    await asyncio.gather(*tasks)
    return measured, elapsed


def _settle() -> None:
    """Before a trial: collect the previous trial's garbage (50 closed connections) and let its
    server finish closing them, so that neither lands in this trial's time."""
    gc.collect()
    time.sleep(0.3)


def run_e2e(rounds: int = 5, seconds: float = 2.0, warmup: float = 0.5) -> dict[str, Any]:
    """Median messages/s and server CPU µs/message per app over ``rounds`` rounds."""
    servers = {app: Server(app) for app in APPS}
    rates: dict[str, list[float]] = {app: [] for app in APPS}
    cpu: dict[str, list[float]] = {app: [] for app in APPS}
    try:
        for server in servers.values():
            server.wait_ready()
        for round_number in range(rounds):
            order = APPS if round_number % 2 == 0 else APPS[::-1]
            for app in order:
                server = servers[app]
                _settle()
                cpu_before = cpu_seconds(server.process.pid)
                count, elapsed = asyncio.run(_load(server.port, seconds, warmup))
                cpu_used = cpu_seconds(server.process.pid) - cpu_before
                total = count / elapsed * (seconds + warmup)  # messages over the CPU window
                rates[app].append(count / elapsed)
                cpu[app].append(cpu_used / total * 1e6)
                print(
                    f"  round {round_number + 1} {app:9s} {count / elapsed:9.0f} msg/s "
                    f"{cpu_used / total * 1e6:6.1f} µs server CPU/msg",
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()
    # The apps of one round ran within seconds of each other, so a slow spell of the machine
    # (another tenant) hits them alike: the ratio to raw is the median of the per-round ratios.
    paired = {
        app: statistics.median(
            rate / raw for rate, raw in zip(rates[app], rates["raw"], strict=True)
        )
        for app in APPS
    }
    return {
        "clients": CLIENTS,
        "window": WINDOW,
        "seconds": seconds,
        "rounds": rounds,
        "uvicorn_args": " ".join(UVICORN_ARGS),
        "rate": {app: statistics.median(v) for app, v in rates.items()},
        "ratio_to_raw": paired,
        "cpu_us": {app: statistics.median(v) for app, v in cpu.items()},
        "samples": rates,
    }


if __name__ == "__main__":
    print(run_e2e(rounds=int(sys.argv[1]) if len(sys.argv) > 1 else 3))
