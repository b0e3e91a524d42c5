"""The per-connection limits of an application: origin, message size, idle time, message rate.

``websocket_app(..., allowed_origins=, max_message_size=, idle_timeout=, rate_limit=)``
(docs/architecture.md). This module owns checking those options (:class:`Limits`) and enforcing
them on one connection (:class:`Guard`). It knows ASGI events only as dicts; the WebSocket
never sees it: the guard sits between the server's ``receive``/``send`` and the WebSocket, so
every check happens before anything is decoded, and an application that sets none of the
options gets the server's callables untouched (no cost on the per-message path).

What a refusal looks like, RFC 6455 section 7.4.1's codes:

* a foreign ``Origin`` (cross-site WebSocket hijacking: browsers apply no same-origin rule to
  websockets, but always send ``Origin``): the handshake is refused before the handler runs
  (a close before accept: the server answers HTTP 403). No ``Origin`` header is allowed: only
  browsers send one, and a non-browser client can forge it anyway.
* a message bigger than ``max_message_size`` bytes: 1009 "too big to process";
* ``idle_timeout`` seconds without a message while the application waits for one: 1001 "going
  away";
* more than N messages in any S seconds (``rate_limit=(N, S)``): 1008 "policy violation".

For the last three the guard sends the close itself and hands the WebSocket a
``websocket.disconnect`` with that code, so the pending receive raises
``WebSocketDisconnect(code)`` and the handler's loop ends as if the client had left; a send
after that raises WebSocketDisconnect too. Each refusal is logged (logger ``typedws``) with the
path and the client: the first of each kind in ``REFUSAL_LOG_INTERVAL`` seconds as a warning,
the others at debug level and counted in the next warning of that kind (:class:`RefusalLog`).

Not compiled (setup.py): awaiting wrappers gain nothing from mypyc, and the options' cost only
matters when they are set.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any, Final, cast

from typedws._loop import running_asyncio
from typedws.types import Message, Receive, Scope, Send

__all__ = ["Guard", "Limits", "RefusalLog", "origin_problem", "peer"]

logger: Final = logging.getLogger("typedws")

#: RFC 6455 section 7.4.1 close codes of the limits.
GOING_AWAY: Final = 1001
POLICY_VIOLATION: Final = 1008
TOO_BIG: Final = 1009

_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}

#: Seconds in which each kind of refusal is logged once as a warning (see RefusalLog).
REFUSAL_LOG_INTERVAL: Final = 10.0
#: The kind of refusal behind each close code of the guard (its option's name).
_KIND_OF_CODE: Final = {
    GOING_AWAY: "idle_timeout",
    POLICY_VIOLATION: "rate_limit",
    TOO_BIG: "max_message_size",
}


class RefusalLog:
    """An application's log of refusals: the first of each kind per interval as a warning, the
    others at debug level, and how many there were in the next warning of that kind.

    Refusals are what hostile clients cause, at the rate they choose. One warning each let a
    client that opens hundreds of connections a second write hundreds of lines a second: server
    CPU taken beside every good connection, and the rest of the log buried (measured:
    benchmarks/RESULTS.md, "Hostile clients"). The count comes with the next refusal of the
    kind after the interval (as syslog's "last message repeated"), so a burst that stops is
    counted when the next one starts; the lines themselves stay at debug level.
    """

    __slots__ = ("_clock", "_interval", "_kinds")

    def __init__(
        self,
        interval: float = REFUSAL_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._clock = clock
        #: kind -> [when its interval started, refusals logged at debug level since]
        self._kinds: dict[str, list[float]] = {}

    def refused(self, kind: str, message: str, *args: object) -> None:
        """Log one refusal of ``kind`` (``message % args``, with path and client)."""
        now = self._clock()
        window = self._kinds.get(kind)
        if window is not None and now - window[0] < self._interval:
            window[1] += 1
            logger.debug(message, *args)
            return
        if window is not None and window[1]:
            logger.warning(
                "%d more refusal(s) by %s in the %.0f s before the next one (logged at debug "
                "level)",
                int(window[1]),
                kind,
                now - window[0],
            )
        self._kinds[kind] = [now, 0.0]
        logger.warning(message, *args)


def _normal_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` lower-cased, the scheme's default port dropped; None if
    ``origin`` is not of that form (RFC 6454 section 6.1 serialization)."""
    scheme, sep, rest = origin.strip().lower().partition("://")
    if not sep or not scheme or not rest or "/" in rest or "?" in rest or "#" in rest:
        return None
    if "@" in rest:
        return None
    host, colon, port = rest.rpartition(":")
    if colon and host and port.isdigit() and int(port) == _DEFAULT_PORTS.get(scheme):
        rest = host
    return f"{scheme}://{rest}"


def _origins(allowed: object) -> frozenset[str]:
    if isinstance(allowed, (str, bytes)) or not isinstance(allowed, Iterable):
        raise TypeError(
            "allowed_origins must be a list of origins such as ['https://example.com'], got "
            f"{type(allowed).__name__}"
        )
    result: set[str] = set()
    given = cast("Iterable[object]", allowed)
    for origin in given:
        normal = _normal_origin(origin) if isinstance(origin, str) else None
        if normal is None:
            raise ValueError(
                f"allowed_origins: {origin!r} is not an origin: give scheme://host[:port], "
                "without a path (as browsers send it in the Origin header)"
            )
        result.add(normal)
    return frozenset(result)


def _positive(value: object, name: str, *, integer: bool) -> float:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "an int" if integer else "a number of seconds"
        raise TypeError(f"{name} must be {wanted}, got {type(value).__name__}")
    number = float(value)  # an int or a float, checked above
    if not number > 0 or not math.isfinite(number):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return number


class Limits:
    """The checked options of an application; ``guarded`` is False when no per-message limit
    is set (the server's receive and send then go to the WebSocket untouched).

    Raises TypeError or ValueError, naming the option, for a value that cannot be one.
    """

    __slots__ = ("guarded", "idle_timeout", "log", "max_message_size", "origins", "rate_limit")

    def __init__(
        self,
        *,
        allowed_origins: Iterable[str] | None = None,
        max_message_size: int | None = None,
        idle_timeout: float | None = None,
        rate_limit: tuple[int, float] | None = None,
    ) -> None:
        #: The allowed origins, normalized; None: no check.
        self.origins: frozenset[str] | None = (
            None if allowed_origins is None else _origins(allowed_origins)
        )
        #: Bytes; None: no limit.
        self.max_message_size: int | None = (
            None
            if max_message_size is None
            else int(_positive(max_message_size, "max_message_size", integer=True))
        )
        #: Seconds; None: no limit.
        self.idle_timeout: float | None = (
            None if idle_timeout is None else _positive(idle_timeout, "idle_timeout", integer=False)
        )
        self.rate_limit: tuple[int, float] | None = None
        if rate_limit is not None:
            given: object = rate_limit  # callers from plain Python may pass anything
            if not isinstance(given, tuple) or len(given) != 2:
                raise TypeError(
                    "rate_limit must be a tuple (messages, seconds) such as (100, 1.0), got "
                    f"{rate_limit!r}"
                )
            count = int(_positive(rate_limit[0], "rate_limit's message count", integer=True))
            seconds = _positive(rate_limit[1], "rate_limit's seconds", integer=False)
            #: (N, S): at most N messages in any S seconds; None: no limit.
            self.rate_limit = (count, seconds)
        #: The application's refusals, logged (see RefusalLog).
        self.log = RefusalLog()
        #: Whether a connection needs a :class:`Guard` (a per-message limit is set).
        self.guarded: bool = (
            self.max_message_size is not None
            or self.idle_timeout is not None
            or self.rate_limit is not None
        )

    def __repr__(self) -> str:
        return (
            f"Limits(allowed_origins={sorted(self.origins) if self.origins else None}, "
            f"max_message_size={self.max_message_size}, idle_timeout={self.idle_timeout}, "
            f"rate_limit={self.rate_limit})"
        )


def peer(scope: Scope) -> str:
    """The client of a scope for the log: ``host:port``, or ``?``."""
    client = scope.get("client")
    if client:
        try:
            host, port = client
        except (TypeError, ValueError):
            return str(client)
        return f"{host}:{port}"
    return "?"


def origin_problem(scope: Scope, allowed: frozenset[str]) -> str | None:
    """Why the handshake's ``Origin`` is refused, or None (allowed, or no Origin header)."""
    for name, value in scope.get("headers") or ():
        if bytes(name).lower() == b"origin":
            text = bytes(value).decode("latin-1")
            normal = _normal_origin(text)
            if normal is None or normal not in allowed:
                return f"origin {text!r} is not allowed"
            return None
    return None


class _Refused(OSError):
    """Raised into a send after the guard closed the connection (the ASGI spec's OSError for a
    send on a closed connection: the WebSocket turns it into WebSocketDisconnect)."""


class Guard:
    """The limits of one connection: wraps the server's ``receive`` and ``send``.

    :meth:`receive` checks each ``websocket.receive`` event (size, then rate) before handing it
    on, and bounds the wait by the idle timeout; :meth:`send` passes the application's events
    on, and refuses data after the guard closed the connection.
    """

    __slots__ = (
        "_app_closed",
        "_closed",
        "_expired",
        "_idle",
        "_log",
        "_loop",
        "_max_size",
        "_rate",
        "_receive",
        "_send",
        "_stamps",
        "_timer",
        "_waiter",
        "_waiting_since",
        "scope",
    )

    def __init__(self, limits: Limits, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self._max_size = limits.max_message_size
        self._idle = limits.idle_timeout
        self._rate = limits.rate_limit
        self._log = limits.log
        self._stamps: collections.deque[float] | None = (
            collections.deque(maxlen=self._rate[0]) if self._rate is not None else None
        )
        #: The disconnect event the WebSocket gets once the guard closed the connection.
        self._closed: Message | None = None
        self._app_closed = False
        self._expired = False
        # Idle timeout under asyncio: one timer per connection, moved only when it fires early
        # (a receive costs a clock read, not a timer); the task waiting in receive, if any.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Task[Any] | None = None
        self._waiting_since = 0.0

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self) -> Message:
        """The server's next event, checked; a disconnect with the limit's code once one hit."""
        if self._closed is not None:
            return self._closed
        idle = self._idle
        if idle is None:
            message = await self._receive()
        elif self._loop is not None:
            message = await self._receive_asyncio(self._loop, idle)  # on idle: the disconnect
        elif running_asyncio():
            self._loop = asyncio.get_running_loop()  # looked up once per connection
            message = await self._receive_asyncio(self._loop, idle)
        else:
            message = await self._receive_trio(idle)
        if message.get("type") == "websocket.receive":
            problem = self._check(message)
            if problem is not None:
                code, what = problem
                return await self._refuse(code, what)
        return message

    def _check(self, message: Message) -> tuple[int, str] | None:
        limit = self._max_size
        if limit is not None:
            text = message.get("text")
            if text is not None:
                size = len(text)
                # A str of n characters is n to 4n bytes of UTF-8: encode only when in doubt.
                if limit < size * 4 and size <= limit:
                    size = len(text.encode("utf-8", "surrogatepass"))
            else:
                size = len(message.get("bytes") or b"")
            if size > limit:
                return TOO_BIG, f"message of {size} bytes, more than max_message_size={limit}"
        stamps = self._stamps
        if stamps is not None:
            assert self._rate is not None
            now = time.monotonic()
            count, seconds = self._rate
            if len(stamps) == count and now - stamps[0] < seconds:
                return (
                    POLICY_VIOLATION,
                    f"more than {count} messages in {seconds:g} s (rate_limit)",
                )
            stamps.append(now)
        return None

    async def _receive_asyncio(self, loop: asyncio.AbstractEventLoop, idle: float) -> Message:
        task = asyncio.current_task(loop)
        self._waiter = task
        self._waiting_since = now = loop.time()
        if self._timer is None:
            self._timer = loop.call_at(now + idle, self._idle_check)
        try:
            return await self._receive()
        except asyncio.CancelledError:
            if not self._expired or task is None:
                raise
            # Cancelled by _idle_check: take the cancellation back (3.11+ counts them), unless
            # someone else cancelled the task as well.
            uncancel = getattr(task, "uncancel", None)
            if uncancel is not None and uncancel() > 0:
                raise
        finally:
            self._waiter = None
        # The close is sent from the handler's task, before its receive reports it.
        return await self._refuse(GOING_AWAY, f"no message for {idle:g} s (idle_timeout)")

    def _idle_check(self) -> None:
        """The asyncio timer: cancel the wait if it has lasted ``idle_timeout`` seconds."""
        self._timer = None
        loop = self._loop
        idle = self._idle
        waiter = self._waiter
        if waiter is None or loop is None or idle is None or self._expired:
            return  # the next receive starts the timer again
        due = self._waiting_since + idle
        if loop.time() < due:
            self._timer = loop.call_at(due, self._idle_check)
            return
        self._expired = True
        waiter.cancel()

    async def _receive_trio(self, idle: float) -> Message:
        import trio  # only when asyncio is not running

        message: Message | None = None
        with trio.move_on_after(idle):
            message = await self._receive()
        if message is None:
            return await self._refuse(GOING_AWAY, f"no message for {idle:g} s (idle_timeout)")
        return message

    async def _refuse(self, code: int, what: str) -> Message:
        """Close with ``code``; the disconnect event the WebSocket gets from now on."""
        closed = self._closed
        if closed is None:
            closed = self._closed = {"type": "websocket.disconnect", "code": code, "reason": ""}
        await self._close(code, what)
        return closed

    async def _close(self, code: int, what: str) -> None:
        self._log.refused(
            _KIND_OF_CODE.get(code, str(code)),
            "closing %s from %s with %d: %s",
            self.scope.get("path", "?"),
            peer(self.scope),
            code,
            what,
        )
        if self._app_closed:
            return
        self._app_closed = True
        # OSError: the client is gone already; the connection is over either way.
        with contextlib.suppress(OSError):
            await self._send({"type": "websocket.close", "code": code, "reason": ""})

    def cancel_timer(self) -> None:
        """Stop the idle timer (the connection is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- sending -----------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Pass an application event on; after the guard closed, data raises an OSError and a
        close is dropped (the connection is closed already)."""
        if self._app_closed:
            if message.get("type") == "websocket.close":
                return
            if self._closed is not None:
                raise _Refused(f"the connection was closed: {self._closed['code']}")
        elif message.get("type") == "websocket.close":
            self._app_closed = True
        await self._send(message)
