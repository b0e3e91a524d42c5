"""The Redis backend (``redis://host:port/db``): fan-out across workers and machines.

Storage. A channel is a Redis stream ``<prefix>:s:<name>`` trimmed to about ``retention``
entries (``XADD MAXLEN ~``), plus a hash ``<prefix>:m:<name>`` holding the channel's ``epoch`` and
message count ``n``. A Lua script (atomic in Redis) increments ``n`` and adds the entry with the
explicit stream id ``<epoch>-<n>``, so ids count up without holes and every lost message shows up
as a hole (see ``_hub``). When Redis restarts without its data, the next publish starts a new
epoch (Redis' clock, in milliseconds), which subscribers report as a reset gap.

Fan-out. The same script also publishes ``<id> <payload>`` on the pub/sub channel
``<prefix>:p:<name>``. Per process and channel, one reader task subscribes to it and pushes each
entry into the channel's hub, which feeds the local subscribers' queues; so Redis sees one
subscribed connection per channel and worker, not one per subscriber. The stream stays the
truth: pub/sub only saves the reader a request per message (an ``XREAD`` it would otherwise
send again after every reply: measured, that round trip was what made the stream backends of
broadcaster and Litestar slower than their pub/sub ones). Because ids have no holes, the
reader knows when a notification did not follow the last entry it pushed (notifications lost
while it was reconnecting, or a new history) and reads what it lacks from the stream with
``XRANGE`` first; when it (re)subscribes it also catches up from the stream, so nothing
published meanwhile is missed. A subscriber that resumes from an id, or whose queue
overflowed, copies its backlog from the stream with ``XRANGE`` in batches.

Faults. Redis unreachable at start: ``connect`` raises ``BroadcastUnavailable``. Lost later:
``publish`` raises ``BroadcastUnavailable`` (nothing is dropped silently: the message was not
stored, or, after a timeout, it may be stored once Redis catches up; the error says which) and
readers and backlog fetches retry with exponential backoff, then go on from where they were;
anything trimmed or lost meanwhile surfaces as a gap. A Redis that stops answering without closing
the connection is noticed after ``SOCKET_TIMEOUT``: by a publish, and by a reader, which sends a
``PING`` on its subscribed connection after every quiet period (``block_ms``) and counts a ``PING``
not answered within the socket timeout as a lost Redis; an idle channel never counts as one, since
Redis answers the ``PING``.

Needs asyncio (redis-py's asyncio client) and Redis 6.2 or later (exclusive ``XRANGE`` ranges).
Not compiled: all of it is awaiting Redis.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ._aio import running_asyncio
from ._backend import Backend, Fetch
from ._hub import Entry, Hub, SubQueue, parse_id
from ._types import BroadcastError, BroadcastUnavailable

__all__ = ["RedisBackend"]

logger = logging.getLogger("typedws.broadcast")

#: Entries per XRANGE reply (catching up, backlogs).
BATCH = 500

# Client settings. Each is set here rather than left to redis-py, whose defaults differ between
# the versions typedws supports (redis-py 5's asyncio client waits forever for a reply and sets
# no TCP keepalive; redis-py 8 gives up after 5 s and probes idle sockets). A URL's query string
# (``?socket_timeout=...``) still wins over these: redis-py gives it precedence.

#: How long any command waits for Redis' reply (seconds): the time a Redis that stopped answering
#: without closing the connection (host down, network cut) goes unnoticed by a publish (which
#: then raises ``BroadcastUnavailable``), a backlog fetch or a reader (which then reconnects).
#: 5 s is redis-py 8's own default: a lost Redis is found as fast as it was with redis-py 8
#: (with redis-py 5's default, a reader or a publish waited for it forever).
SOCKET_TIMEOUT = 5.0
#: How long opening a connection may take (seconds): loopback or LAN connects take
#: milliseconds; this bounds the wait for a host that drops the SYN, at startup and per retry.
CONNECT_TIMEOUT = 2.0
#: The longest quiet period (ms) a reader waits on its pub/sub connection before it sends a
#: PING: on an idle channel, one PING per channel and worker every 3 s.
BLOCK_MS = 3_000
#: The quiet period as a fraction of the socket timeout, at most. (The name is from when the
#: reader waited in ``XREAD BLOCK``, whose empty reply had to come back before the client's read
#: timed out: with block and timeout equal, issue 17, every idle period read as a lost Redis.)
#: Now an idle channel costs a PING per period, answered in well under the socket timeout, and
#: a Redis that stopped answering is found within a period plus the timeout; a URL with a
#: shorter timeout gets a proportionally shorter period.
BLOCK_FRACTION = 0.6
#: Reconnect backoff: first delay, cap (seconds); doubles on each failed attempt.
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 2.0

# KEYS[1] stream, KEYS[2] meta hash, KEYS[3] pub/sub channel; ARGV[1] retention (MAXLEN ~),
# ARGV[2] payload. The notification is ``<id> <payload>`` (ids have no spaces).
# TIME gives seconds and microseconds as strings: the epoch is their concatenation in ms, built as
# a string because Lua 5.1 numbers would print large values in exponent notation.
_PUBLISH_LUA = """
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  local t = redis.call('TIME')
  epoch = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
  redis.call('HSET', KEYS[2], 'epoch', epoch)
end
local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
local id = epoch .. '-' .. n
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], id, 'd', ARGV[2])
redis.call('PUBLISH', KEYS[3], id .. ' ' .. ARGV[2])
return id
"""

_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


def block_for(socket_timeout: object) -> int:
    """A reader's quiet period (ms) for a client whose reads time out after ``socket_timeout`` s.

    ``BLOCK_FRACTION`` of the timeout, at most ``BLOCK_MS``, at least 1 ms. No timeout (None,
    or not a positive number): ``BLOCK_MS``.
    """
    if not isinstance(socket_timeout, (int, float)) or socket_timeout <= 0:
        return BLOCK_MS
    return max(1, min(BLOCK_MS, int(socket_timeout * 1000 * BLOCK_FRACTION)))


def _keepalive_options() -> dict[int, int]:
    """TCP keepalive for connections to Redis: idle 30 s, then 3 probes 5 s apart.

    A pooled connection that sits idle between publishes is not covered by the socket timeout
    until it is used; if its peer vanished, keepalive finds it dead within about 45 s, and
    redis-py's pool replaces a dead connection before handing it out, so the next publish does
    not fail on it. (redis-py 8's defaults; redis-py 5 leaves keepalive off.) The option names
    differ by platform: Linux has TCP_KEEPIDLE, macOS TCP_KEEPALIVE; some have neither.
    """
    idle = getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))
    interval = getattr(socket, "TCP_KEEPINTVL", None)
    wanted = ((idle, 30), (interval, 5), (getattr(socket, "TCP_KEEPCNT", None), 3))
    return {option: value for option, value in wanted if option is not None}


async def _close_pubsub(pubsub: Any) -> None:
    """Close a reader's pub/sub connection (if any) without raising."""
    if pubsub is None:
        return
    try:
        aclose = getattr(pubsub, "aclose", None)  # ``reset`` before redis-py 5.0.1
        await (aclose() if aclose is not None else pubsub.reset())
    except Exception:  # a broken connection is closed all the same
        logger.debug("closing a pub/sub connection failed", exc_info=True)


async def _aclose(client: aioredis.Redis) -> None:
    """Close the client and its pool: ``aclose`` since redis-py 5.0.1, only ``close`` in 5.0.0."""
    aclose = getattr(client, "aclose", None)
    await (aclose() if aclose is not None else client.close())


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{hostpart}"


def _str(value: object) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _entries(rows: Any) -> list[Entry]:
    """Stream entries as redis-py returns them (``[(id, {field: value})]``) to hub entries."""
    out: list[Entry] = []
    for raw_id, fields in rows or ():
        entry_id = _str(raw_id)
        payload = fields.get(b"d") if fields else None
        try:
            epoch, n = parse_id(entry_id, "stream entry id")
        except ValueError:
            payload = None
            epoch = n = 0  # unused: the entry is skipped below (bound for the type checkers)
        if not isinstance(payload, bytes):
            logger.error("skipping stream entry %s: not written by typedws", entry_id)
            continue
        out.append(Entry(epoch, n, payload, entry_id))
    return out


class _Reader:
    """A channel's reader task and its hub, while listed in ``RedisBackend.readers``.

    The task also ends when it finds itself no longer listed there, in case a cancellation is
    lost inside redis-py (seen with redis-py 8: a cancelled blocking read surfaced as a
    ConnectionError instead of CancelledError when the pool was closed meanwhile).
    """

    __slots__ = ("hub", "task")

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.task: asyncio.Task[None] | None = None

    def stop(self) -> asyncio.Task[None] | None:
        if self.task is not None:
            self.task.cancel()
        return self.task


class RedisBackend(Backend):
    def __init__(self, url: str, retention: int, prefix: str) -> None:
        self.url = url
        self.retention = retention
        self.prefix = prefix
        self.readers: dict[str, _Reader] = {}
        # Reader tasks stopped when their last subscriber left, awaited on disconnect.
        self._stopping: set[asyncio.Task[None]] = set()
        self._open_lock: asyncio.Lock | None = None
        # Our own backoff does the retrying; redis-py's would only delay a clear error.
        # Replies are bytes (``_entries`` reads ``b"d"``). The pool is left unbounded (redis-py's
        # default in every version): each channel's reader holds a connection while it blocks,
        # so a bound would refuse the channel after the last one. No ``health_check_interval``:
        # a reader's connection is never idle longer than a block, and keepalive (above) covers
        # the pooled ones without a PING before commands.
        options: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT,
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "decode_responses": False,
        }
        if url.partition("://")[0].lower() in ("redis", "rediss"):  # TCP: unix:// has no keepalive
            options["socket_keepalive"] = True
            options["socket_keepalive_options"] = _keepalive_options()
        # (The pyright ignores here and on ping: redis-py leaves their **kwargs unannotated, which
        # pyright strict reports as partially unknown whatever the call site says.)
        self.client: aioredis.Redis = aioredis.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
            url, retry=Retry(NoBackoff(), 0), **options
        )
        # The timeout the connections really get (the URL's, if it sets one), and the block to go
        # with it (see BLOCK_FRACTION).
        timeout = self.client.connection_pool.connection_kwargs.get("socket_timeout")
        self.block_ms = block_for(timeout)
        #: How long a reader waits for the answer to its PING or SUBSCRIBE (seconds).
        self.answer_timeout = (
            float(timeout) if isinstance(timeout, (int, float)) and timeout > 0 else SOCKET_TIMEOUT
        )
        self._publish = self.client.register_script(_PUBLISH_LUA)

    def stream_key(self, name: str) -> str:
        return f"{self.prefix}:s:{name}"

    def meta_key(self, name: str) -> str:
        return f"{self.prefix}:m:{name}"

    def notify_key(self, name: str) -> str:
        return f"{self.prefix}:p:{name}"

    async def connect(self) -> None:
        if not running_asyncio():
            raise RuntimeError(
                "the Redis broadcast backend needs asyncio (redis-py's asyncio client)"
            )
        self._open_lock = asyncio.Lock()
        try:
            await self.client.ping()  # pyright: ignore[reportUnknownMemberType]
        except _CONNECTION_ERRORS as exc:
            await _aclose(self.client)
            raise BroadcastUnavailable(
                f"cannot connect to Redis at {_redact(self.url)}: {exc}"
            ) from exc

    async def disconnect(self) -> None:
        tasks = self._stopping
        for reader in self.readers.values():
            task = reader.stop()
            if task is not None:
                tasks.add(task)
        self.readers.clear()
        self._stopping = set()
        # Closing the pool first also ends reads whose cancellation redis-py is still sitting
        # on (see _Reader); the tasks then find themselves unlisted and return.
        await _aclose(self.client)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def publish(self, name: str, payload: bytes) -> str:
        try:
            result = await self._publish(
                keys=[self.stream_key(name), self.meta_key(name), self.notify_key(name)],
                args=[self.retention, payload],
            )
        except (RedisTimeoutError, TimeoutError) as exc:
            # The command may be sitting in the socket buffer of a Redis that is slow or
            # frozen: it runs when Redis wakes up, so the outcome is unknown, not a failure.
            raise BroadcastUnavailable(
                f"cannot publish to channel {name!r}: Redis at {_redact(self.url)} did not "
                f"answer in time ({exc}); the message may still be stored when Redis catches "
                "up, and then subscribers get it"
            ) from exc
        except _CONNECTION_ERRORS as exc:
            raise BroadcastUnavailable(
                f"cannot publish to channel {name!r}: Redis at {_redact(self.url)} is "
                f"unreachable ({exc}); the message was not stored"
            ) from exc
        except ResponseError as exc:
            raise BroadcastError(
                f"Redis refused the message for channel {name!r}: {exc} (the stream "
                f"{self.stream_key(name)!r} must be written by typedws only)"
            ) from exc
        return _str(result)

    async def _head(self, name: str) -> tuple[int, int] | None:
        """The channel's current epoch and count, or None if Redis has no history for it."""
        epoch, n = await self.client.hmget(self.meta_key(name), ["epoch", "n"])
        if epoch is None:
            return None
        return int(epoch), int(n or 0)

    async def _open(self, name: str) -> Hub:
        """The hub of ``name``, starting its reader at the stream's current end if needed."""
        assert self._open_lock is not None, "Broadcast not entered"
        async with self._open_lock:
            reader = self.readers.get(name)
            if reader is not None:
                return reader.hub
            try:
                head = await self._head(name)
            except _CONNECTION_ERRORS as exc:
                raise BroadcastUnavailable(
                    f"cannot subscribe to channel {name!r}: Redis at {_redact(self.url)} is "
                    f"unreachable ({exc})"
                ) from exc
            hub = Hub(name, 0, 0 if head is None else head[0])
            hub.cursor = "0-0" if head is None else f"{head[0]}-{head[1]}"
            reader = self.readers[name] = _Reader(hub)
            reader.task = asyncio.ensure_future(self._follow(reader))
            return hub

    async def attach(self, name: str, queue: SubQueue, last_id: str | None) -> Fetch | None:
        position = None if last_id is None else parse_id(last_id)
        hub = await self._open(name)
        hub.register(queue)
        cursor = hub.cursor
        if position is None:
            epoch, n = parse_id(cursor)
            queue.start_at(epoch, n, None if cursor == "0-0" else cursor)
            return None
        assert last_id is not None
        if position == (0, 0):
            queue.start_at(0, 0, None)
            return Fetch("0-0", cursor)
        head = await self._retry(lambda: self._head(name), name)
        if head is not None and position[0] == head[0] and position[1] <= head[1]:
            queue.start_at(position[0], position[1], last_id)
            return Fetch(last_id, cursor)
        queue.reset_from(last_id)
        return Fetch("0-0", cursor)

    def detach(self, name: str, queue: SubQueue) -> None:
        reader = self.readers.get(name)
        if reader is None:
            return
        reader.hub.unregister(queue)
        if not reader.hub.subscribers:
            del self.readers[name]
            task = reader.stop()
            if task is not None:
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)

    def refill(self, name: str, queue: SubQueue) -> Fetch | None:
        queue.overflowed = False
        reader = self.readers.get(name)
        if reader is None:
            return None
        after = queue.last_id if queue.last_epoch > 0 and queue.last_id else "0-0"
        return Fetch(after, reader.hub.cursor)

    async def fetch(self, name: str, queue: SubQueue, fetch: Fetch) -> bool:
        if fetch.after == fetch.upto:
            return False
        key = self.stream_key(name)
        rows = await self._retry(
            lambda: self.client.xrange(key, f"({fetch.after}", fetch.upto, count=BATCH), name
        )
        entries = _entries(rows)
        queue.add_backlog(entries)
        if len(rows or ()) < BATCH:
            return False
        fetch.after = _str(rows[-1][0])
        return True

    async def _retry(self, call: Any, name: str) -> Any:
        """Await ``call()``, retrying with backoff while Redis is unreachable."""
        delay = BACKOFF_FIRST
        while True:
            try:
                return await call()
            except _CONNECTION_ERRORS as exc:
                logger.warning(
                    "channel %r: Redis unreachable (%s); retrying in %.2fs", name, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def _follow(self, reader: _Reader) -> None:
        """The reader task: push the channel's notifications into the hub, in id order, each once.

        (Re)subscribes, catches up from the stream after ``hub.cursor``, then relays; on a lost
        connection it backs off, resubscribes and catches up again.
        """
        hub = reader.hub
        key = self.stream_key(hub.name)
        delay = BACKOFF_FIRST
        lost = False
        pubsub: Any = None
        try:
            while self.readers.get(hub.name) is reader:
                try:
                    if pubsub is None:
                        pubsub = await self._subscribe(hub.name)
                        if lost:
                            await self._recover(hub)
                            logger.warning(
                                "channel %r: Redis is back; resuming after %s", hub.name, hub.cursor
                            )
                            lost = False
                        await self._catch_up(hub, key)
                        delay = BACKOFF_FIRST
                    await self._relay(reader, pubsub, key)
                except _CONNECTION_ERRORS as exc:
                    await _close_pubsub(pubsub)
                    pubsub = None
                    if self.readers.get(hub.name) is not reader:
                        return
                    if not lost:
                        logger.warning("channel %r: lost Redis (%s); reconnecting", hub.name, exc)
                    lost = True
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, BACKOFF_MAX)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Anything else (a foreign entry, a Redis error reply) must not end the reader
                    # silently: the subscribers would wait forever. Log it and start over.
                    logger.exception("channel %r: reading the channel failed; retrying", hub.name)
                    await _close_pubsub(pubsub)
                    pubsub = None
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, BACKOFF_MAX)
        finally:
            await _close_pubsub(pubsub)

    async def _subscribe(self, name: str) -> Any:
        """A pub/sub connection subscribed to the channel's notifications (confirmed by Redis)."""
        pubsub: Any = self.client.pubsub()  # pyright: ignore[reportUnknownMemberType]
        try:
            await pubsub.subscribe(self.notify_key(name))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.answer_timeout
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise RedisTimeoutError("Redis did not confirm the SUBSCRIBE")
                message = await pubsub.get_message(timeout=remaining)
                if message is not None and message["type"] in (b"subscribe", "subscribe"):
                    return pubsub
        except BaseException:
            await _close_pubsub(pubsub)
            raise

    async def _catch_up(self, hub: Hub, key: str) -> None:
        """Push what the stream holds after ``hub.cursor`` (batch by batch)."""
        while True:
            rows = await self.client.xrange(key, f"({hub.cursor}", "+", count=BATCH)
            if rows:
                hub.push_all(_entries(rows))
                hub.cursor = _str(rows[-1][0])  # past skipped foreign entries too
            if len(rows or ()) < BATCH:
                return

    async def _relay(self, reader: _Reader, pubsub: Any, key: str) -> None:
        """Push each notification that follows the cursor; fill holes from the stream first.

        A quiet period of ``block_ms`` sends a ``PING``; no answer (nor anything else) within
        ``answer_timeout`` raises a timeout, which ``_follow`` handles as a lost Redis.
        """
        hub = reader.hub
        loop = asyncio.get_running_loop()
        quiet = self.block_ms / 1000
        pinged = -1.0  # when the unanswered PING was sent (-1: none is)
        while self.readers.get(hub.name) is reader:
            message = await pubsub.get_message(timeout=quiet)
            if message is None:
                now = loop.time()
                if pinged < 0:
                    await pubsub.ping()
                    pinged = now
                elif now - pinged >= self.answer_timeout:
                    raise RedisTimeoutError("Redis did not answer a PING")
                continue
            pinged = -1.0  # Redis answered: anything it sends proves it is alive
            data = message["data"]
            if message["type"] not in (b"message", "message") or not isinstance(data, bytes):
                continue
            raw_id, _, payload = data.partition(b" ")
            entry_id = raw_id.decode("ascii", "replace")
            epoch, n = parse_id(entry_id, "notification id")
            last_epoch, last_n = parse_id(hub.cursor)
            if epoch == last_epoch and n == last_n + 1:
                hub.push(Entry(epoch, n, payload, entry_id))  # the usual case
            elif epoch == last_epoch and n <= last_n:
                continue  # already read from the stream while catching up
            else:
                # Notifications were missed (while resubscribing) or a new history began: the
                # stream has whatever the hub lacks, this entry included.
                if epoch != last_epoch:
                    await self._recover(hub)
                await self._catch_up(hub, key)

    async def _recover(self, hub: Hub) -> None:
        """After reconnecting: if Redis lost the channel's history, read the new one from its start.

        Without this, a restarted Redis whose clock is behind the old epoch would write ids below
        our cursor, and reading the stream after the cursor would never return them. The
        subscribers see the new epoch as a reset gap either way.
        """
        head = await self._head(hub.name)
        cursor_epoch = parse_id(hub.cursor)[0]
        if cursor_epoch != 0 and (head is None or head[0] != cursor_epoch):
            hub.cursor = "0-0"
