"""The open connections of an application, and draining them (docs/architecture.md).

``WebSocketApp`` runs each handler through :meth:`Connections.run`, which counts it and keeps
a way to cancel it: the handler's asyncio task, or a trio cancel scope around it (found the way
sniffio does it; the core never imports anyio). :meth:`Connections.drain` is what
``app.drain()`` and the lifespan shutdown do:

1. new handshakes are refused from now on (a close before accept: HTTP 403);
2. every open connection gets its shutdown hook, side by side (an Endpoint's ``on_shutdown``
   may send a typed goodbye), then is closed with the drain's code (1001 "going away" by
   default, RFC 6455 section 7.4.1); a plain handler's connection is just closed;
3. the handlers get ``timeout`` seconds to return (the close makes their pending receive end:
   the server reports the client's close reply as ``websocket.disconnect``); those still running
   then are cancelled, and their ``finally`` blocks run.

The drain ends when every handler has returned. Each close is logged on the ``typedws`` logger
with the connection's path and client.

Not compiled (setup.py): it runs once per connection and once per drain, and awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from typedws._limits import peer
from typedws._loop import Event, gather, new_event, running_asyncio, wait_event
from typedws._state import WebSocketState
from typedws._websocket import WebSocket

__all__ = ["Connections", "ShutdownHook", "close_for_shutdown"]

logger: Final = logging.getLogger("typedws")

#: What drain runs for each open connection: ``hook(ws, code, reason)``; it must close ``ws``.
ShutdownHook = Callable[[WebSocket, int, "str | None"], Awaitable[None]]


async def close_for_shutdown(ws: WebSocket, code: int, reason: str | None) -> None:
    """The shutdown hook of a plain handler: close with the drain's code."""
    await ws.close(code, reason)


class _Open:
    """One running handler: its WebSocket and how to cancel it."""

    __slots__ = ("cancelled", "scope", "shut", "task", "ws")

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.task: asyncio.Task[Any] | None = None
        self.scope: Any = None  # a trio.CancelScope under trio
        self.cancelled = False
        #: Set by the first drain that shuts it down (a second drain leaves it alone).
        self.shut = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()
        elif self.scope is not None:
            self.scope.cancel()


class Connections:
    """The open connections of one application; ``len()`` counts them."""

    __slots__ = ("_all_done", "_open", "draining")

    def __init__(self) -> None:
        self._open: set[_Open] = set()
        #: True once a drain started: new handshakes are refused.
        self.draining = False
        self._all_done: Event | None = None

    def __len__(self) -> int:
        return len(self._open)

    async def run(self, ws: WebSocket, handler: Callable[[WebSocket], Awaitable[None]]) -> None:
        """Run ``handler(ws)`` as an open connection (counted, cancellable by a drain)."""
        entry = _Open(ws)
        self._open.add(entry)
        try:
            if running_asyncio():
                entry.task = asyncio.current_task()
                try:
                    await handler(ws)
                except asyncio.CancelledError:
                    task = entry.task
                    uncancel = getattr(task, "uncancel", None)
                    # Ours (the drain's timeout): the handler was told to stop, not an error.
                    # Someone else's cancellation (the server's) goes on.
                    if not entry.cancelled or (uncancel is not None and uncancel() > 0):
                        raise
            else:
                import trio  # only when asyncio is not running

                with trio.CancelScope() as scope:
                    entry.scope = scope
                    await handler(ws)
        finally:
            self._open.discard(entry)
            if not self._open and self._all_done is not None:
                self._all_done.set()

    async def drain(
        self, hook: ShutdownHook, code: int, reason: str | None, timeout: float
    ) -> None:
        """Refuse new connections, shut down the open ones, wait ``timeout`` s, cancel the rest."""
        self.draining = True
        entries = list(self._open)
        if not entries:
            return
        logger.info("draining %d connection(s) with %d", len(entries), code)
        if self._all_done is None or self._all_done.is_set():
            # (A drain already waiting shares its event: both wake when the last one ends.)
            self._all_done = new_event()

        async def shut(entry: _Open) -> None:
            ws = entry.ws
            if entry.shut or ws.application_state is not WebSocketState.CONNECTED:
                return
            entry.shut = True
            scope = ws.scope
            logger.info(
                "closing %s from %s with %d: the application is draining",
                scope.get("path", "?"),
                peer(scope),
                code,
            )
            try:
                await hook(ws, code, reason)
            except Exception:
                logger.exception("the shutdown hook failed on %s", scope.get("path", "?"))
            try:
                await ws.close(code, reason)  # a no-op if the hook closed it
            except Exception:
                logger.debug("could not close %s while draining", scope.get("path"), exc_info=True)

        def shutter(entry: _Open) -> Callable[[], Awaitable[None]]:
            return lambda: shut(entry)

        async def shut_all() -> None:
            await gather(*(shutter(entry) for entry in entries))

        async def wait_all() -> None:
            assert self._all_done is not None
            if self._open:
                await self._all_done.wait()

        finished = await _within(timeout, shut_all, wait_all)
        if not finished:
            left = list(self._open)
            logger.warning(
                "%d handler(s) still running %g s after the drain's close: cancelling them",
                len(left),
                timeout,
            )
            for entry in left:
                entry.cancel()
            assert self._all_done is not None
            await wait_event(self._all_done, 5.0)


async def _within(
    timeout: float, first: Callable[[], Awaitable[None]], then: Callable[[], Awaitable[None]]
) -> bool:
    """Run ``first`` then ``then`` within ``timeout`` seconds (cancelled after it); True if both
    ended in time."""
    finished: list[bool] = []

    async def both() -> None:
        await first()
        await then()
        finished.append(True)

    if running_asyncio():
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(both(), timeout)
        return bool(finished)
    import trio

    with trio.move_on_after(timeout):
        await both()
    return bool(finished)
