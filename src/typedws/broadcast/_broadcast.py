"""``Broadcast``: publish typed messages on channels; subscribe to them or forward them to sockets.

The async shell over a backend (``_memory``, ``_redis``) and the compiled hub (``_hub``). Not
compiled: it is all awaiting, where mypyc gains nothing (docs/architecture.md); the per-message
work (fan-out, ordering, gap arithmetic) is in ``_hub``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar, cast, overload

import msgspec

from .._errors import WebSocketDisconnect
from ._aio import TrioWaiter, current_loop, future_factory, race
from ._backend import Backend, Fetch
from ._channel import Channel
from ._hub import Entry, GapInfo, SubQueue, wake
from ._memory import MemoryBackend
from ._types import BroadcastError, Gap, GapReason, MessagesMissed

__all__ = ["Broadcast", "Subscription"]

logger = logging.getLogger("typedws.broadcast")

T = TypeVar("T")
Y = TypeVar("Y")

#: RFC 6455 section 7.4.2 / IANA registry: 1013 "Try Again Later". ``forward`` without envelopes
#: closes with it when messages were missed: the client cannot be told in-band, so it should
#: reconnect and reload its state.
CLOSE_MISSED = 1013

_REDIS_SCHEMES = ("redis", "rediss", "unix")


class ForwardSocket(Protocol):
    """What ``forward`` needs of a socket: ``typedws.WebSocket`` has all of it."""

    async def send_text(self, data: str) -> None:
        """Send a text frame (a message of a JSON channel, or a gap notice)."""

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame (a message of a MessagePack channel)."""

    async def receive_bytes(self) -> bytes:
        """Receive a frame, to notice a disconnect (``receive=True``); raise
        ``WebSocketDisconnect`` when the client has gone."""
        ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (``envelope=False`` on a gap: 1013)."""


class Subscription(Generic[Y]):
    """A live subscription to one channel: an async context manager and an async iterator.

    Yields the channel's messages decoded and validated, in publish order, each exactly once,
    and a :class:`Gap` where messages were missed (with ``on_gap="raise"``: raises
    :class:`MessagesMissed` there instead, and the iteration can go on). ``last_id`` is the id of
    the last message yielded: store it (or send it to the client) to resume from later.

    A message that does not decode as the channel's type (written by something else) raises
    ``PayloadError`` with msgspec's message; it is consumed and the iteration can go on. The
    iteration ends when the ``Broadcast`` is closed.

    Slow subscribers: the subscriber's queue holds at most ``queue_size`` messages. When it is
    full, it is emptied and the subscriber catches up from the retention window (the memory ring
    or the Redis stream), so memory stays bounded and a slow subscriber loses only what also
    fell out of the window, which it is told about as a ``Gap(reason="retention")``.
    """

    def __init__(
        self,
        broadcast: Broadcast,
        channel: Channel[Any],
        last_id: str | None,
        raise_gaps: bool,
    ) -> None:
        self._broadcast = broadcast
        #: The channel subscribed to.
        self.channel = channel
        self._start = last_id
        self._raise_gaps = raise_gaps
        self._queue = SubQueue(broadcast.queue_size)
        self._backend: Backend | None = None
        self._fetch: Fetch | None = None
        self._closed = False
        # Entered and not closed: ``__anext__`` may take from the queue without the checks of
        # ``_next_item`` (the per-message path: one call per message and subscriber).
        self._open = False
        # Makes the future an empty queue is waited on; None under trio (``TrioWaiter``).
        self._new_waiter: Callable[[], asyncio.Future[None]] | None = None
        self._decode: Callable[[bytes], Any] = channel.decode
        self._shared = channel.shared

    @property
    def last_id(self) -> str | None:
        """The id of the last message yielded (before any: the id resumed from, if known)."""
        return self._queue.last_id

    async def __aenter__(self) -> Subscription[Y]:
        if self._backend is not None:
            raise RuntimeError("this subscription was already entered; subscribe() again")
        backend = self._broadcast._connected_backend("subscribe")
        loop = current_loop()  # looked up once: see current_loop
        if loop is not None:
            self._new_waiter = future_factory(loop)
        self._backend = backend
        self._broadcast._subscriptions.add(self)
        try:
            self._fetch = await backend.attach(self.channel.name, self._queue, self._start)
        except BaseException:
            self._close()
            raise
        self._queue.fetching = self._fetch is not None
        self._open = not self._closed
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._open = False
        self._broadcast._subscriptions.discard(self)
        if self._backend is not None:
            self._backend.detach(self.channel.name, self._queue)
        waiter = self._queue.waiter
        if waiter is not None:
            self._queue.waiter = None
            wake(waiter)

    def __aiter__(self) -> Subscription[Y]:
        return self

    async def __anext__(self) -> Y:
        # The per-message path: a message already queued is decoded and returned without
        # suspending, an empty queue is waited on right here; only a gap, a backlog to fetch, an
        # overflow or trio go the long way (``_next_item``).
        queue = self._queue
        while True:
            taken = queue.take() if self._open else None
            if taken is None:
                new_waiter = self._new_waiter
                if new_waiter is not None and self._can_wait():
                    waiter = queue.waiter = new_waiter()
                    await waiter
                    continue
                item = await self._next_item()
            elif isinstance(taken, GapInfo):
                item = self._gap(taken)
            else:
                item = taken
            break
        if isinstance(item, Entry):
            if self._shared:
                return item.decode_shared(self._decode)  # type: ignore[no-any-return]
            return self._decode(item.payload)  # type: ignore[no-any-return]
        if self._raise_gaps:
            raise MessagesMissed(item)
        return cast(Y, item)

    def _can_wait(self) -> bool:
        """Whether an empty queue only needs the next ``put``: open, nothing to fetch or refill."""
        return self._open and self._fetch is None and not self._queue.overflowed

    def _gap(self, info: GapInfo) -> Gap:
        reason = cast(GapReason, info.reason)
        missed = None if info.missed < 0 else info.missed
        return Gap(channel=self.channel.name, after=info.after, reason=reason, missed=missed)

    async def _next_item(self) -> Entry | Gap:
        """The next entry (still encoded) or gap; ``StopAsyncIteration`` once closed."""
        backend = self._backend
        if backend is None:
            raise RuntimeError("iterate a subscription inside `async with bc.subscribe(...)`")
        queue = self._queue
        name = self.channel.name
        while not self._closed:
            item = queue.take()
            if isinstance(item, Entry):
                return item
            if isinstance(item, GapInfo):
                return self._gap(item)
            if self._fetch is not None:
                if not await backend.fetch(name, queue, self._fetch):
                    self._fetch = None
                    queue.fetching = False
            elif queue.overflowed:
                self._fetch = backend.refill(name, queue)
                queue.fetching = self._fetch is not None
            else:
                # Wait for the hub's next ``put`` (or ``_close``), which completes the waiter.
                # A future straight from the loop: no Event object, no extra coroutine.
                new_waiter = self._new_waiter
                waiter = new_waiter() if new_waiter is not None else TrioWaiter()
                queue.waiter = waiter
                await waiter
        raise StopAsyncIteration


class Broadcast:
    """Typed publish/subscribe across connections, workers and machines.

    ``url`` picks the backend: ``"memory://"`` (default: this process only, asyncio or trio) or
    ``"redis://host:port/db"`` (also ``rediss://``, ``unix://``; needs ``typedws[redis]``,
    asyncio, Redis 6.2+). Use it as an async context manager, or call ``connect`` and
    ``disconnect`` from the application's lifespan.

    Args:
        url: The backend: ``"memory://"`` or ``"redis://host:port/db"`` (``rediss://``,
            ``unix://``).
        retention: How many messages per channel are kept for resuming (the window).
        queue_size: The bound of each subscriber's queue (see :class:`Subscription` for what
            happens when it is full).
        prefix: The namespace of the Redis keys.

    Raises:
        TypeError: ``url`` is not a ``str``.
        ValueError: The URL's scheme is unknown, or a bound is below 1.
        ImportError: A Redis URL without redis-py installed (the message names the extra).
    """

    def __init__(
        self,
        url: str = "memory://",
        *,
        retention: int = 10_000,
        queue_size: int = 1_000,
        prefix: str = "typedws",
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"Broadcast url must be a str, not {type(url).__name__}")
        for what, value in (("retention", retention), ("queue_size", queue_size)):
            if type(value) is not int or value < 1:  # bool is an int subclass: refuse it too
                raise ValueError(f"Broadcast {what} must be an int >= 1, not {value!r}")
        scheme = url.partition("://")[0].lower()
        #: The backend's URL, as given.
        self.url = url
        #: How many messages per channel are kept for resuming.
        self.retention = retention
        #: The bound of each subscriber's queue.
        self.queue_size = queue_size
        self._backend: Backend
        if scheme == "memory":
            self._backend = MemoryBackend(retention)
        elif scheme in _REDIS_SCHEMES:
            try:
                from ._redis import RedisBackend
            except ImportError as exc:
                raise ImportError(
                    f"Broadcast({url!r}) needs the redis client: "
                    f"pip install 'typedws[redis]' ({exc})"
                ) from exc
            self._backend = RedisBackend(url, retention, prefix)
        else:
            raise ValueError(
                f"Broadcast url {url[:80]!r}: unknown scheme {scheme!r}; "
                "expected 'memory://' or 'redis://host:port/db'"
            )
        self._connected = False
        self._subscriptions: set[Subscription[Any]] = set()

    def __repr__(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return f"Broadcast({scheme + '://' + rest.rpartition('@')[2]!r})"  # no credentials

    async def connect(self) -> None:
        """Connect the backend.

        Raises:
            BroadcastUnavailable: Redis cannot be reached.
            RuntimeError: This Broadcast is already connected.
        """
        if self._connected:
            raise RuntimeError("this Broadcast is already connected")
        await self._backend.connect()
        self._connected = True

    async def disconnect(self) -> None:
        """End every subscription (their iterations stop) and close the backend."""
        if not self._connected:
            return
        self._connected = False
        for subscription in list(self._subscriptions):
            subscription._close()
        await self._backend.disconnect()

    async def __aenter__(self) -> Broadcast:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    def _connected_backend(self, what: str) -> Backend:
        if not self._connected:
            raise BroadcastError(
                f"cannot {what}: the Broadcast is not connected "
                "(use `async with Broadcast(...)` or `await broadcast.connect()`)"
            )
        return self._backend

    async def publish(self, channel: Channel[T], message: T) -> str:
        """Validate and encode ``message`` once, store it and fan it out.

        Args:
            channel: The channel to publish on.
            message: A value of the channel's type.

        Returns:
            The message's id (``"<epoch>-<n>"``), to resume from with ``last_id``.

        Raises:
            TypeError: ``channel`` is not a Channel, or ``message`` cannot be encoded.
            PayloadError: ``message`` does not match the channel's type (see
                :meth:`Channel.encode`).
            BroadcastError: The Broadcast is not connected.
            BroadcastUnavailable: Redis cannot be reached (the message was not stored), or did
                not answer in time (it may still be stored when Redis catches up).
        """
        if not isinstance(channel, Channel):
            raise TypeError(f"publish() needs a Channel, not {type(channel).__name__}")
        backend = self._connected_backend("publish")
        return await backend.publish(channel.name, channel.encode(message))

    @overload
    def subscribe(
        self,
        channel: Channel[T],
        *,
        last_id: str | None = None,
        on_gap: Literal["yield"] = "yield",
    ) -> Subscription[T | Gap]: ...
    @overload
    def subscribe(
        self, channel: Channel[T], *, last_id: str | None = None, on_gap: Literal["raise"]
    ) -> Subscription[T]: ...

    def subscribe(
        self,
        channel: Channel[Any],
        *,
        last_id: str | None = None,
        on_gap: Literal["yield", "raise"] = "yield",
    ) -> Subscription[Any]:
        """Subscribe to ``channel``: ``async with bc.subscribe(ch) as sub: async for msg in sub``.

        Without ``last_id`` the subscription gets every message published after it is entered.
        With ``last_id`` (an id from ``publish``, a message, or ``Subscription.last_id``) it
        first gets what followed that id within the retention window, then live messages;
        ``"0-0"`` means the whole window. Missed messages are reported as a :class:`Gap`, yielded
        (``on_gap="yield"``, the default) or raised as :class:`MessagesMissed`
        (``on_gap="raise"``, which keeps the element type ``T``).

        Args:
            channel: The channel to subscribe to.
            last_id: Resume after this id (None: only messages published from now on).
            on_gap: ``"yield"`` a :class:`Gap` where messages were missed, or ``"raise"``
                :class:`MessagesMissed` there.

        Returns:
            The subscription, to enter with ``async with`` (nothing is received before).

        Raises:
            TypeError: ``channel`` is not a Channel.
            ValueError: ``last_id`` is malformed, or ``on_gap`` is neither value.
        """
        if not isinstance(channel, Channel):
            raise TypeError(f"subscribe() needs a Channel, not {type(channel).__name__}")
        if on_gap not in ("yield", "raise"):
            raise ValueError(f"on_gap must be 'yield' or 'raise', not {on_gap!r}")
        if last_id is not None:
            from ._hub import parse_id

            parse_id(last_id)  # fail here, with the caller's line in the traceback
        return Subscription(self, channel, last_id, on_gap == "raise")

    async def forward(
        self,
        source: Channel[Any] | Subscription[Any],
        ws: ForwardSocket,
        *,
        last_id: str | None = None,
        envelope: bool = True,
        receive: bool = True,
    ) -> None:
        """Send every message of a channel to the accepted WebSocket ``ws``, until it goes away.

        ``source`` is a :class:`Channel` (forward subscribes to it, from ``last_id``) or a
        :class:`Subscription` the caller already entered: then nothing published after the
        ``async with bc.subscribe(...)`` line can be missed, even if forward runs in a task that
        starts later (give ``last_id`` to ``subscribe`` then, not here).

        Payloads are sent as encoded at publish time (no per-socket decoding): text frames for a
        JSON channel, binary frames for MessagePack. With ``envelope=True`` (default) each frame
        is ``{"type":"message","id":...,"data":...}`` (an :class:`Envelope`) and a gap is sent as
        a :class:`Gap` frame, so a client can keep the last id and resume with ``last_id`` after
        reconnecting. With ``envelope=False`` frames are the bare payloads; as the client cannot
        be told about a gap then, the socket is closed with 1013 (Try Again Later) instead.

        With ``receive=True`` (default) forward also reads the socket, discarding what the
        client sends, so that it notices a disconnect while the channel is quiet. Pass
        ``receive=False`` when the handler reads the socket itself, and cancel forward when that
        loop ends (for instance run both in a task group). Returns when the client disconnects
        or the Broadcast is closed; other errors propagate.

        Args:
            source: A Channel, or a Subscription already entered.
            ws: The accepted WebSocket (anything with the methods of :class:`ForwardSocket`).
            last_id: With a Channel: resume after this id.
            envelope: Wrap each message in an :class:`Envelope` and send gaps as :class:`Gap`
                frames (True), or send bare payloads and close with 1013 on a gap (False).
            receive: Also read (and discard) what the client sends, to notice a disconnect.

        Raises:
            TypeError: ``source`` is neither a Channel nor a Subscription.
            ValueError: A Subscription together with ``last_id``, or one not entered.
        """
        if isinstance(source, Subscription):
            if last_id is not None:
                raise ValueError(
                    "forward() of a subscription takes no last_id: give it to subscribe()"
                )
            if source._backend is None:
                raise ValueError(
                    "forward() needs an entered subscription: `async with bc.subscribe(...)`"
                )
            await _forward(source, ws, envelope, receive)
            return
        if not isinstance(source, Channel):
            raise TypeError(
                f"forward() needs a Channel or a Subscription, not {type(source).__name__}"
            )
        async with self.subscribe(source, last_id=last_id) as subscription:
            await _forward(subscription, ws, envelope, receive)


async def _forward(
    subscription: Subscription[Any], ws: ForwardSocket, envelope: bool, receive: bool
) -> None:
    async def pump() -> None:
        await _pump(subscription, subscription.channel, ws, envelope)

    async def drain() -> None:
        from .._errors import PayloadError

        while True:
            try:
                await ws.receive_bytes()
            except PayloadError:
                continue  # a text frame: discarded like the rest

    try:
        if receive:
            await race(pump, drain)
        else:
            await pump()
    except WebSocketDisconnect:
        return


_gap_json = msgspec.json.Encoder()
_gap_msgpack = msgspec.msgpack.Encoder()


async def _pump(
    subscription: Subscription[Any], channel: Channel[Any], ws: ForwardSocket, envelope: bool
) -> None:
    text = channel.codec == "json"
    queue = subscription._queue
    new_waiter = subscription._new_waiter  # None under trio
    while True:
        # As in ``Subscription.__anext__``: a queued entry is sent without suspending first, an
        # empty queue is waited on right here. Entries are told apart first and by their own
        # (compiled) class: an ``isinstance`` against a Struct class such as ``Gap`` goes through
        # its metaclass, which costs more than the rest of this loop.
        taken = queue.take() if subscription._open else None
        item: Entry | Gap
        if taken is None:
            if new_waiter is not None and subscription._can_wait():
                waiter = queue.waiter = new_waiter()
                await waiter
                continue
            try:
                item = await subscription._next_item()
            except StopAsyncIteration:
                return
        elif isinstance(taken, GapInfo):
            item = subscription._gap(taken)
        else:
            item = taken
        if isinstance(item, Entry):
            frame = item.frame if envelope else None
            if frame is None:
                frame = _frame(item, text, envelope)
            if isinstance(frame, str):
                await ws.send_text(frame)
            else:
                await ws.send_bytes(frame)
            continue
        if not envelope:
            logger.info("forward on %r: %s; closing with 1013", channel.name, item)
            await ws.close(CLOSE_MISSED, "missed messages; reconnect")
            return
        if text:
            await ws.send_text(_gap_json.encode(item).decode())
        else:
            await ws.send_bytes(_gap_msgpack.encode(item))


def _frame(entry: Entry, text: bool, envelope: bool) -> str | bytes:
    """What ``forward`` sends for ``entry``, built once per message and cached on it."""
    if text:
        body = entry.text
        if body is None:
            body = entry.text = entry.payload.decode()
        if not envelope:
            return body
        # Ids are digits and '-' (checked by parse_id), so they need no JSON escaping.
        frame: str | bytes = f'{{"type":"message","id":"{entry.id}","data":{body}}}'
    else:
        if not envelope:
            return entry.payload
        frame = _gap_msgpack.encode(
            {"type": "message", "id": entry.id, "data": msgspec.Raw(entry.payload)}
        )
    entry.frame = frame
    return frame
