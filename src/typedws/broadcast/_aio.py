"""The two async primitives the broadcast layer needs, for asyncio and for trio.

typedws has no async-library dependency (no anyio at run time), and the memory backend and
``forward`` should run wherever ``WebSocket`` runs. Both need only a waiter (a subscriber waits
for the hub to push: an asyncio future, or ``TrioWaiter``) and a race of two tasks (``forward``
sends while it watches for the client leaving). Each is a few lines per library; the running
library is found the way sniffio does it, without importing trio unless asyncio is not running.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol

__all__ = [
    "Event",
    "TrioWaiter",
    "current_loop",
    "future_factory",
    "new_event",
    "race",
    "running_asyncio",
]


class Event(Protocol):
    def set(self) -> None: ...
    async def wait(self) -> object: ...


def running_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


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


class _FutureEvent:
    """A one-shot asyncio event as a bare future: cheaper than ``asyncio.Event`` (no waiter
    deque, no second future), which matters when one publish wakes hundreds of subscribers."""

    __slots__ = ("_future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future: asyncio.Future[None] = loop.create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self) -> None:
        await self._future


def new_event() -> Event:
    """A one-shot event of the running async library (asyncio or trio); the demo uses it."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return _FutureEvent(loop)
    import trio  # only when asyncio is not running: trio is not a dependency

    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        raise RuntimeError("typedws.broadcast needs a running asyncio or trio event loop") from None
    event: Event = trio.Event()
    return event


async def race(first: Callable[[], Awaitable[None]], second: Callable[[], Awaitable[None]]) -> None:
    """Run both until either returns or raises; cancel the other; re-raise what the first raised."""
    if running_asyncio():
        await _race_asyncio(first, second)
    else:
        await _race_trio(first, second)


async def _race_asyncio(
    first: Callable[[], Awaitable[None]], second: Callable[[], Awaitable[None]]
) -> None:
    async def call(fn: Callable[[], Awaitable[None]]) -> None:
        await fn()

    tasks = [asyncio.ensure_future(call(first)), asyncio.ensure_future(call(second))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if task in done and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                raise exc


async def _race_trio(
    first: Callable[[], Awaitable[None]], second: Callable[[], Awaitable[None]]
) -> None:
    import trio

    # Errors are carried out of the nursery by hand: trio would wrap them in an ExceptionGroup
    # (strict exception groups), and the caller expects the error itself, as under asyncio.
    failure: list[BaseException] = []
    async with trio.open_nursery() as nursery:

        async def call(fn: Callable[[], Awaitable[None]]) -> None:
            try:
                await fn()
            except Exception as exc:
                failure.append(exc)
            nursery.cancel_scope.cancel()

        nursery.start_soon(call, first)
        nursery.start_soon(call, second)
    if failure:
        raise failure[0]
