"""The production options behind real servers: uvicorn, hypercorn (asyncio for draining, trio).

tests/production_app.py runs as a subprocess on 127.0.0.1; the clients are the ``websockets``
library's asyncio client. Checked:

* each option refuses with its code, behind uvicorn and behind hypercorn's trio worker: a
  foreign ``Origin`` gets HTTP 403, an oversized message 1009, a silent client 1001, a flood
  1008;
* hostile clients (a client sending 10,000 messages a second against ``rate_limit``, 200 silent
  clients against ``idle_timeout``, oversized messages, foreign origins) are refused with their
  codes while 50 well-behaved clients keep talking on the same server; the assertion is only that
  they were not starved. How much of their throughput and latency they keep is a benchmark's
  question, not a test's: benchmarks/bench_hostile.py (``nox -s bench``) measures it fairly
  (clients in processes of their own, the server alone on a CPU, phases alternated). Here every
  client shares this process's event loop, so the rates printed (``-s``) say little about the
  server. The server's memory stays flat;
* draining: 50 open chat connections, ``POST /drain`` (``app.drain()``): every client gets the
  application's goodbye, which counts what it was sent, then 1001; every handler's ``finally``
  ran (the server prints one line each).

The normal run keeps each phase to about a second; TYPEDWS_SOAK=1 (``nox -s soak``) runs them
for 20 s each.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from servers import ServerProcess, free_port

HERE = Path(__file__).resolve().parent
SOAK = os.environ.get("TYPEDWS_SOAK", "") not in ("", "0")
PHASE_SECONDS = 20.0 if SOAK else 1.0
WELL_BEHAVED = 50
SILENT = 200
MEMORY_SLACK_KIB = 20 * 1024
#: Rounds of hostile clients; memory is compared between the first and the last.
ROUNDS = 5 if SOAK else 2

pytestmark = [pytest.mark.anyio, pytest.mark.heavy, pytest.mark.timeout(600 if SOAK else 120)]


@pytest.fixture
def anyio_backend() -> str:
    # The clients are the websockets library's asyncio ones; the server is another process.
    return "asyncio"


SERVERS = {
    "uvicorn": ["uvicorn", "production_app:app", "--host", "127.0.0.1", "--port"],
    "hypercorn": ["hypercorn", "production_app:app", "--bind"],
    "hypercorn-trio": ["hypercorn", "--worker-class", "trio", "production_app:app", "--bind"],
}


def _start(server: str) -> ServerProcess:
    port = free_port()
    address = f"127.0.0.1:{port}" if server.startswith("hypercorn") else str(port)
    env = {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    process = ServerProcess(server, [*SERVERS[server], address], port, cwd=HERE, env=env)
    return process.start()


@pytest.fixture(scope="module")
def uvicorn() -> Iterator[ServerProcess]:
    process = _start("uvicorn")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn-trio"])
def server(request: pytest.FixtureRequest, uvicorn: ServerProcess) -> Iterator[ServerProcess]:
    """Each option alone behind uvicorn (asyncio) and hypercorn's trio worker."""
    if request.param == "uvicorn":
        yield uvicorn
        return
    process = _start(request.param)
    try:
        yield process
    finally:
        process.stop()


def _http(process: ServerProcess, method: str, path: str) -> bytes:
    client = http.client.HTTPConnection("127.0.0.1", process.port, timeout=60)
    try:
        client.request(method, path)
        response = client.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body)
        return body
    finally:
        client.close()


def _stats(process: ServerProcess) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(_http(process, "GET", "/stats"))
    return result


def _url(process: ServerProcess, path: str) -> str:
    return f"ws://127.0.0.1:{process.port}{path}"


async def _open(process: ServerProcess, path: str, origin: str | None = None) -> ClientConnection:
    return await connect(
        _url(process, path),
        origin=None if origin is None else Origin(origin),
        open_timeout=30,
        ping_interval=None,
        max_size=None,
    )


async def _close_code(ws: ClientConnection, timeout: float = 10.0) -> int | None:
    """Read until the server closes; the code it closed with (None: no close frame)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.001))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


# --- each option, alone --------------------------------------------------------------------


def test_the_lifespan_runs_around_the_server() -> None:
    process = _start("uvicorn")
    try:
        assert "LIFESPAN START" in process.output()
        assert _stats(process)["started_by"] == "lifespan"  # what it yielded, in the state
    finally:
        process.stop()
    assert "LIFESPAN STOP open=0" in process.output()


async def test_a_foreign_origin_gets_403_and_others_connect(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as caught:
        await _open(server, "/origin", origin="https://evil.example")
    assert caught.value.response.status_code == 403
    for origin in ("https://good.example", None):
        ws = await _open(server, "/origin", origin=origin)
        await ws.send("hi")
        assert await ws.recv() == "hi"
        await ws.close()
    assert "refusing /origin from 127.0.0.1:" in server.output()


async def test_an_oversized_message_closes_with_1009(server: ServerProcess) -> None:
    ws = await _open(server, "/size")
    await ws.send("x" * 1024)
    assert await ws.recv() == "x" * 1024
    await ws.send(b"y" * 1025)
    assert await _close_code(ws) == 1009
    assert "closing /size from 127.0.0.1:" in server.output()


async def test_a_silent_client_is_closed_with_1001(server: ServerProcess) -> None:
    ws = await _open(server, "/idle")
    started = time.monotonic()
    assert await _close_code(ws) == 1001
    assert time.monotonic() - started >= 0.4  # not before the idle timeout (0.5 s)


async def test_a_flood_closes_with_1008(server: ServerProcess) -> None:
    # One message over the limit, then silence: a client that keeps sending after the close
    # races the server's closing handshake (hypercorn's trio worker then resets the TCP
    # connection, and the close frame is lost); the flood is test_hostile_clients_....
    ws = await _open(server, "/rate")
    for i in range(101):
        await ws.send(str(i))
    assert await _close_code(ws) == 1008


# --- hostile clients beside well-behaved ones ----------------------------------------------


async def _talk(ws: ClientConnection, until: float, counts: list[int]) -> None:
    """A well-behaved client: send, wait for the echo, again, until ``until`` (once at least)."""
    n = 0
    try:
        while True:
            await ws.send(str(n))
            assert await ws.recv() == str(n)
            n += 1
            if time.monotonic() >= until:
                break
    finally:
        counts.append(n)


async def _well_behaved_rate(process: ServerProcess, seconds: float) -> float:
    """Messages/s (echo round trips) of the well-behaved clients, connected first (the
    handshakes are not timed), then talking for ``seconds``."""
    clients = await asyncio.gather(*(_open(process, "/echo") for _ in range(WELL_BEHAVED)))
    counts: list[int] = []
    started = time.monotonic()
    try:
        await asyncio.gather(*(_talk(ws, started + seconds, counts) for ws in clients))
        elapsed = time.monotonic() - started
    finally:
        await asyncio.gather(*(ws.close() for ws in clients))
    assert len(counts) == WELL_BEHAVED
    assert min(counts) > 0, "a well-behaved client got nothing through"
    return sum(counts) / elapsed


def _flood(process: ServerProcess, seconds: float) -> subprocess.Popen[str]:
    """10,000 messages a second at /rate for ``seconds``, from a process of its own
    (flood_client.py), reconnecting after each refusal."""
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "flood_client.py"),
            _url(process, "/rate"),
            str(seconds),
            "10000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def _flood_result(flood: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        out, _ = flood.communicate(timeout=60)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    assert flood.returncode == 0, out
    result: dict[str, Any] = json.loads(out)
    return result


async def _silent(process: ServerProcess, codes: Counter[str]) -> None:
    ws = await _open(process, "/idle")
    codes[f"idle {await _close_code(ws)}"] += 1


async def _oversized(process: ServerProcess, until: float, codes: Counter[str]) -> None:
    big = b"z" * 256 * 1024
    while time.monotonic() < until:
        ws = await _open(process, "/size")
        with contextlib.suppress(ConnectionClosed):
            await ws.send(big)
        codes[f"size {await _close_code(ws)}"] += 1


async def _foreign(process: ServerProcess, until: float, codes: Counter[str]) -> None:
    while time.monotonic() < until:
        try:
            ws = await _open(process, "/origin", origin="https://evil.example")
        except InvalidStatus as refused:
            codes[f"origin {refused.response.status_code}"] += 1
        else:
            codes["origin accepted"] += 1
            await ws.close()
        await asyncio.sleep(0.005)


async def test_hostile_clients_are_refused_and_the_others_keep_talking(
    uvicorn: ServerProcess,
) -> None:
    await _well_behaved_rate(uvicorn, 0.3)  # warm-up: imports, first connections
    alone = await _well_behaved_rate(uvicorn, PHASE_SECONDS)
    memory = [_stats(uvicorn)["rss_kib"]]
    for round_ in range(ROUNDS):
        codes: Counter[str] = Counter()
        until = time.monotonic() + PHASE_SECONDS
        flood = _flood(uvicorn, PHASE_SECONDS)
        hostile = [
            asyncio.ensure_future(_oversized(uvicorn, until, codes)),
            asyncio.ensure_future(_foreign(uvicorn, until, codes)),
            *(asyncio.ensure_future(_silent(uvicorn, codes)) for _ in range(SILENT)),
        ]
        await asyncio.sleep(0.2)  # the hostile ones connected and started
        beside = await _well_behaved_rate(uvicorn, PHASE_SECONDS)
        await asyncio.gather(*hostile)
        flooded = await asyncio.to_thread(_flood_result, flood)
        codes.update({f"rate {code}": n for code, n in flooded["codes"].items()})
        memory.append(_stats(uvicorn)["rss_kib"])
        print(
            f"\nround {round_ + 1}: refusals: {dict(codes)}; server memory (KiB) {memory}; "
            f"well-behaved clients {alone:,.0f} -> {beside:,.0f} echoes/s (all clients in "
            "this process: not a measure of the server, see benchmarks/bench_hostile.py)"
        )
        assert codes["idle 1001"] == SILENT, codes
        assert codes["rate 1008"] >= 1, codes
        assert codes["size 1009"] >= 1, codes
        assert codes["origin 403"] >= 1, codes
        # (The flood's last connection may end with its own 1000, at the end of the phase.)
        assert set(codes) - {"rate 1000"} == {"idle 1001", "rate 1008", "size 1009", "origin 403"}
        assert beside > 0.05 * alone, "the well-behaved clients were starved"
        assert _stats(uvicorn)["connections"] == 0
    # Flat: after the first round (the allocator's high-water mark), later rounds add little.
    assert memory[-1] - memory[1] < MEMORY_SLACK_KIB, memory


# --- draining ------------------------------------------------------------------------------


async def _chat_client(process: ServerProcess, messages: int) -> ClientConnection:
    ws = await _open(process, "/chat")
    for i in range(messages):
        await ws.send(msgspec.json.encode({"type": "say", "text": str(i)}).decode())
        reply = msgspec.json.decode(await ws.recv())
        assert reply == {"type": "said", "text": str(i)}
    return ws


async def _goodbye(ws: ClientConnection) -> tuple[object, int | None, str | None]:
    """What the client gets after the drain: the goodbye, then the close code and reason."""
    goodbye = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 30))
    try:
        await asyncio.wait_for(ws.recv(), 30)
    except ConnectionClosed as closed:
        if closed.rcvd is None:
            return goodbye, None, None
        return goodbye, closed.rcvd.code, closed.rcvd.reason
    return goodbye, -1, "a message after the goodbye"


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
async def test_drain_says_goodbye_to_50_connections(server_name: str) -> None:
    process = _start(server_name)
    try:
        clients = await asyncio.gather(*(_chat_client(process, n % 7) for n in range(50)))
        assert _stats(process)["connections"] == 50
        drain = asyncio.ensure_future(asyncio.to_thread(_http, process, "POST", "/drain"))
        results = await asyncio.gather(*(_goodbye(ws) for ws in clients))
        assert await drain == b"drained\n"
        assert _stats(process)["connections"] == 0
        for n, result in enumerate(results):
            assert result == ({"type": "bye", "sent": n % 7}, 1001, "deploying")
    finally:
        process.stop()
    assert process.output().count("FINALLY ") == 50
    assert "Traceback" not in process.output()


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
async def test_sigterm_says_goodbye_to_50_connections_with_a_drain_hook(server_name: str) -> None:
    # sigterm_server.py runs the server with app.drain() before its own shutdown: SIGTERM alone.
    port = free_port()
    env = {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    process = ServerProcess(
        server_name, ["sigterm_server", server_name, str(port)], port, cwd=HERE, env=env
    ).start()
    try:
        clients = await asyncio.gather(*(_chat_client(process, n % 7) for n in range(50)))
        assert _stats(process)["connections"] == 50
        assert process.process is not None
        process.process.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*(_goodbye(ws) for ws in clients))
        for n, result in enumerate(results):
            assert result == ({"type": "bye", "sent": n % 7}, 1001, "deploying")
        assert process.process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        process.stop()
    assert process.output().count("FINALLY ") == 50
    assert "LIFESPAN STOP open=0" in process.output()
    assert "Traceback" not in process.output()
