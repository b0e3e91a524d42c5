"""The waiter the broadcast layer needs, for asyncio and for trio.

typedws has no async-library dependency (no anyio at run time), and the memory backend and
``forward`` should run wherever ``WebSocket`` runs. A subscriber waits for the hub to push: on a
bare asyncio future, or on ``TrioWaiter``. The race of two tasks that ``forward`` runs (it sends
while it watches for the client leaving) and the test of which library is running are the app
layer's (``typedws._loop``), re-exported here for the broadcast modules.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from typedws._loop import race, running_asyncio

__all__ = ["TrioWaiter", "current_loop", "future_factory", "race", "running_asyncio"]


def current_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop, or None under trio; ``RuntimeError`` under neither.

    A subscription looks its loop up once and keeps it: ``asyncio.get_running_loop`` costs a
    ``getpid`` system call on CPython 3.11 (about 0.2 µs here), once per wait otherwise.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    import trio  # only when asyncio is not running: trio is not a dependency

    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        raise RuntimeError("typedws.broadcast needs a running asyncio or trio event loop") from None
    return None


_Future: type[asyncio.Future[None]] = asyncio.Future  # (typed: a partial of it is too)


def future_factory(loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Future[None]]:
    """What makes a subscriber's waiter on ``loop``: ``loop.create_future``, or, for asyncio's
    own loops, the ``asyncio.Future(loop=loop)`` it would return, without its Python frame (one
    waiter per message and subscriber). Other loops (uvloop...) keep their own futures."""
    if type(loop).create_future is asyncio.BaseEventLoop.create_future:
        return functools.partial(_Future, loop=loop)
    return loop.create_future


class TrioWaiter:
    """What a subscription waits on under trio: the future-like face ``_hub`` completes
    (``done``, ``set_result``) over a ``trio.Event``. (Under asyncio it is a plain future.)"""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        import trio

        self._event = trio.Event()

    def done(self) -> bool:
        return bool(self._event.is_set())

    def set_result(self, result: None) -> None:
        self._event.set()

    def __await__(self) -> Generator[Any, None, None]:
        wait: Awaitable[None] = self._event.wait()  # (typed here: trio may be absent)
        return wait.__await__()
