"""A connection that ends leaves no reference cycle behind (both builds).

An exception raised by a helper that keeps it in a local is a cycle (frame -> exception ->
traceback -> frame): only the cyclic garbage collector frees it, with every frame, traceback and
exception chained to it. ``raise_from`` raised the StopAsyncIteration that ends every
``async for ... in ws.iter_*()``, so each connection ending that way left a dozen such objects;
under many short connections (benchmarks/bench_hostile.py: 200 silent clients closed by
``idle_timeout``) the collector ran often and long, stalling the event loop of every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator

import pytest

from fakes import CONNECT, FakeServer, disconnect, text
from typedws import WebSocket, websocket_app
from typedws._errors import raise_from


@pytest.fixture
def no_gc() -> Iterator[None]:
    """The collector off (a cycle stays until gc.collect() counts it), restored after."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def test_raise_from_leaves_no_cycle(no_gc: None) -> None:
    for cause in (None, ValueError("cause")):
        with contextlib.suppress(StopAsyncIteration):
            raise_from(StopAsyncIteration(), cause)
        assert gc.collect() == 0


@pytest.mark.parametrize("guarded", [False, True])
def test_a_connection_ended_in_iter_text_leaves_no_cycle(no_gc: None, guarded: bool) -> None:
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws.iter_text():
            await ws.send_text(message)

    echo_app = websocket_app(echo)
    # With limits, the Guard sits between the server and the WebSocket (typedws._limits).
    app = websocket_app(echo, idle_timeout=30.0, max_message_size=100) if guarded else echo_app

    async def main() -> None:
        for _ in range(3):  # the first one may create what later ones reuse
            server = FakeServer([CONNECT, text("hi"), disconnect()])
            await app(server.scope, server.receive, server.send)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        loop.run_until_complete(main())
        gc.collect()
        leaked = sorted({type(o).__name__ for o in gc.garbage if isinstance(o, BaseException)})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        loop.close()
    assert leaked == []
