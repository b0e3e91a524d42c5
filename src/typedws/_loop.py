"""The few event-loop operations the application layer needs, for asyncio and for trio.

typedws has no async-library dependency: the core never imports anyio, and trio only when
asyncio is not the running library (found the way sniffio does it). What the production options
need (typedws.app, _limits, _drain) is small: which library runs, a one-shot event, running
coroutine functions side by side (:func:`race`, :func:`gather`), waiting with a deadline, and a
handle to cancel the current handler. Each is a few lines per library.

:func:`race` is public (``typedws.race``): it is what a handler uses to run a broadcast feed
beside its receive loop and stop both when either ends.

Not compiled (setup.py): every function here awaits, and compiled ``async def`` is no faster.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = ["Event", "gather", "new_event", "race", "running_asyncio", "wait_event"]


class Event(Protocol):
    """A one-shot event: ``set()`` wakes every ``wait()``, now and later."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    async def wait(self) -> Any: ...


def running_asyncio() -> bool:
    """True under asyncio; False otherwise (then trio must be running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _trio() -> Any:
    """The trio module, once sure trio is the running library (RuntimeError otherwise)."""
    try:
        import trio
    except ImportError:
        raise RuntimeError("typedws needs a running asyncio or trio event loop") from None
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        raise RuntimeError("typedws needs a running asyncio or trio event loop") from None
    return trio


def new_event() -> Event:
    """A one-shot event of the running library (asyncio.Event or trio.Event)."""
    if running_asyncio():
        return asyncio.Event()
    event: Event = _trio().Event()
    return event


async def wait_event(event: Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True if it was set."""
    if event.is_set():
        return True
    if running_asyncio():
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return event.is_set()
        return True
    trio = _trio()
    with trio.move_on_after(timeout if math.isfinite(timeout) else math.inf):
        await event.wait()
    return event.is_set()


async def gather(*functions: Callable[[], Awaitable[None]]) -> None:
    """Run the coroutine functions side by side until all have returned.

    An exception of one is logged by the caller's functions themselves: here the first one is
    re-raised after the others finished (they are not cancelled).
    """
    failures: list[BaseException] = []

    async def call(function: Callable[[], Awaitable[None]]) -> None:
        try:
            await function()
        except Exception as exc:
            failures.append(exc)

    if running_asyncio():
        await asyncio.gather(*(call(function) for function in functions))
    else:
        trio = _trio()
        async with trio.open_nursery() as nursery:
            for function in functions:
                nursery.start_soon(call, function)
    if failures:
        raise failures[0]


async def race(*functions: Callable[[], Awaitable[None]]) -> None:
    """Run the coroutine functions side by side until the first one ends; cancel the others.

    For a handler that does two things at once, typically a broadcast feed beside its receive
    loop (``await race(feed, talk)``): when the client leaves, the receive loop ends and the
    feed is cancelled; when the feed ends, the receive loop is cancelled. Works under asyncio
    and trio (no anyio needed).

    Args:
        *functions: Coroutine functions called with no argument, at least one.

    Raises:
        Exception: what the first function to end raised, itself (not an exception group).
        TypeError: no function was given, or one is not callable.
    """
    if not functions:
        raise TypeError("race() needs at least one coroutine function")
    for function in functions:
        if not callable(function):
            raise TypeError(
                f"race() takes coroutine functions (called with no argument), got "
                f"{type(function).__name__}"
            )
    if running_asyncio():
        await _race_asyncio(functions)
    else:
        await _race_trio(functions)


async def _race_asyncio(functions: tuple[Callable[[], Awaitable[None]], ...]) -> None:
    async def call(function: Callable[[], Awaitable[None]]) -> None:
        await function()

    tasks = [asyncio.ensure_future(call(function)) for function in functions]
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


async def _race_trio(functions: tuple[Callable[[], Awaitable[None]], ...]) -> None:
    trio = _trio()
    # Errors are carried out of the nursery by hand: trio would wrap them in an ExceptionGroup,
    # and the caller expects the error itself, as under asyncio.
    failure: list[BaseException] = []
    async with trio.open_nursery() as nursery:

        async def call(function: Callable[[], Awaitable[None]]) -> None:
            try:
                await function()
            except Exception as exc:
                if not failure:
                    failure.append(exc)
            nursery.cancel_scope.cancel()

        for function in functions:
            nursery.start_soon(call, function)
    if failure:
        raise failure[0]
