"""What each server of the interop matrix does to open websockets on SIGTERM / SIGINT.

shutdown_app.py runs behind each server (as test_interop.py starts them, on a free port); three
clients connect and exchange a message; then the server gets the signal. Recorded: what the
clients receive and with which close code (None: the TCP connection ended without a close
frame), and, from the server's output, whether each handler's ``finally`` ran, what a send from
it did, and whether the lifespan shutdown came while connections were still open (only then can
the application's drain, which runs on lifespan shutdown, say goodbye).

``FINDINGS`` is the "graceful shutdown" row of docs/interop.md: each test asserts that its server
still behaves as written there. A second test drains first (``app.drain()`` through an HTTP
route, as a deployment's pre-stop hook would), then signals: what every server can do.
"""

from __future__ import annotations

import asyncio
import http.client
import importlib.util
import os
import signal
import time
from pathlib import Path
from typing import NamedTuple

import msgspec
import pytest
from test_interop import SERVERS, _port_args
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from servers import ServerProcess, free_port

HERE = Path(__file__).resolve().parent
CLIENTS = 3
SOAK = os.environ.get("TYPEDWS_SOAK", "") not in ("", "0")

pytestmark = [pytest.mark.anyio, pytest.mark.heavy, pytest.mark.timeout(120)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the websockets library's asyncio clients; each server is a process


class Finding(NamedTuple):
    """What a server did on the signal, as the clients and the application saw it."""

    #: The close code the clients got (None: the connection dropped without a close frame).
    code: int | None
    #: What the clients received after the signal.
    received: tuple[str, ...]
    #: How many handlers' ``finally`` ran.
    finally_ran: int
    #: What a send from the handler's ``finally`` did (``ok`` or the exception's name; one of
    #: these when the server races).
    late_send: frozenset[str]
    #: Whether lifespan.shutdown came while connections were open (None: no lifespan at all).
    lifespan_before_close: bool | None


_UVICORN = Finding(1012, (), CLIENTS, frozenset({"WebSocketDisconnect"}), False)
#: What each server does; the same for SIGTERM and SIGINT.
FINDINGS: dict[str, Finding] = {
    # uvicorn closes every websocket at once with 1012 (the application's receive reports it),
    # waits for the handlers, then sends lifespan.shutdown.
    "uvicorn-websockets": _UVICORN,
    "uvicorn-websockets-sansio": _UVICORN,
    "uvicorn-wsproto": _UVICORN,
    # hypercorn leaves the websockets open, untold, for its graceful_timeout (3 s), then
    # cancels the handlers; under asyncio a send from a finally still goes out, then 1011.
    "hypercorn": Finding(1011, ("late",), CLIENTS, frozenset({"ok"}), False),
    # under trio the cancellation also cancels that send; the connection just drops.
    "hypercorn-trio": Finding(None, (), CLIENTS, frozenset({"Cancelled"}), False),
    # daphne runs no lifespan and exits at once: the connections drop, no handler ends.
    "daphne": Finding(None, (), 0, frozenset(), None),
    # granian drops the connections at once (handlers see 1005) and sends lifespan.shutdown
    # at the same time: whether it comes before the handlers noticed is a race (if it does,
    # the drain's goodbye and close go nowhere, and a later send is a state error; a goodbye
    # may even be cancelled, and that handler ends only when the drain's timeout cancels it,
    # with the process exiting before its finally's send).
    "granian": Finding(
        None,
        (),
        CLIENTS,
        frozenset({"WebSocketDisconnect", "WebSocketStateError", "CancelledError"}),
        None,
    ),
}


def _start(name: str) -> ServerProcess:
    module, args = SERVERS[name]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{name}: the {module!r} package is not installed")
    port = free_port()
    args = [arg.replace("interop_apps:app", "shutdown_app:app") for arg in args]
    env = {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return ServerProcess(name, [*args, *_port_args(name, port)], port, cwd=HERE, env=env).start()


async def _client(process: ServerProcess) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{process.port}/chat", ping_interval=None, open_timeout=20)
    await ws.send('{"type":"ping","n":1}')
    assert msgspec.json.decode(await ws.recv()) == {"type": "pong", "n": 1}
    return ws


async def _until_closed(ws: ClientConnection) -> tuple[tuple[str, ...], int | None]:
    received: list[str] = []
    try:
        while True:
            message = await asyncio.wait_for(ws.recv(), 30)
            received.append(message if isinstance(message, str) else message.decode())
    except ConnectionClosed as closed:
        return tuple(received), closed.rcvd.code if closed.rcvd is not None else None


def _lines(process: ServerProcess, prefix: str) -> list[str]:
    return [line for line in process.output().splitlines() if line.startswith(prefix)]


#: SIGINT did the same as SIGTERM on every server; it is checked in the long run only.
SIGNALS = [signal.SIGTERM, signal.SIGINT] if SOAK else [signal.SIGTERM]


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda sig: sig.name)
@pytest.mark.parametrize("name", list(FINDINGS))
async def test_what_a_signal_does_to_open_websockets(name: str, sig: signal.Signals) -> None:
    process = _start(name)
    try:
        clients = [await _client(process) for _ in range(CLIENTS)]
        assert process.process is not None
        process.process.send_signal(sig)
        results = await asyncio.gather(*(_until_closed(ws) for ws in clients))
    finally:
        process.stop(timeout=30)
    finals = _lines(process, "FINALLY")
    lates = _lines(process, "LATE")
    lifespan = _lines(process, "LIFESPAN SHUTDOWN")
    expected = FINDINGS[name]
    assert {code for _, code in results} == {expected.code}, results
    assert {received for received, _ in results} == {expected.received}, results
    assert len(finals) == expected.finally_ran, process.output()
    if name == "granian":
        assert len(lates) <= len(finals), process.output()
    else:
        assert len(lates) == len(finals), process.output()
    assert {line.split()[1] for line in lates} <= expected.late_send, process.output()
    if name == "daphne":
        assert lifespan == []  # no lifespan at all
    elif expected.lifespan_before_close is not None:
        open_then = CLIENTS if expected.lifespan_before_close else 0
        assert lifespan == [f"LIFESPAN SHUTDOWN open={open_then}"]
    # No goodbye reached a client on a signal: the lifespan comes too late everywhere.
    assert all('"bye"' not in received for received, _ in results)


#: Servers on which ``drain()`` cannot close with 1001 (the reason is what the close shows).
DRAIN_GAPS = {
    "daphne": "daphne (autobahn) sends only close codes 1000 and 3000-4999: it refuses 1001",
}


@pytest.mark.parametrize("name", list(FINDINGS))
async def test_drain_before_the_signal_says_goodbye(name: str) -> None:
    if name in DRAIN_GAPS:
        pytest.skip(DRAIN_GAPS[name])
    process = _start(name)
    try:
        clients = [await _client(process) for _ in range(CLIENTS)]
        started = time.monotonic()
        drain = asyncio.ensure_future(asyncio.to_thread(_post_drain, process))
        results = await asyncio.gather(*(_until_closed(ws) for ws in clients))
        assert await drain == 200
        assert time.monotonic() - started < 10
    finally:
        process.stop(timeout=30)
    assert results == [(('{"type":"bye"}',), 1001)] * CLIENTS
    assert len(_lines(process, "FINALLY code=1001")) == CLIENTS


def _post_drain(process: ServerProcess) -> int:
    client = http.client.HTTPConnection("127.0.0.1", process.port, timeout=30)
    try:
        client.request("POST", "/drain")
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()
