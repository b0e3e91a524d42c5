"""The synchronous core of typedws.broadcast: message ids, the per-channel hub, subscriber queues.

Theory of operation. Every message of a channel gets an id ``"<epoch>-<n>"``: ``epoch`` names one
incarnation of the channel's history (milliseconds since 1970 when that history began: when a
memory hub was created, or when Redis first saw the channel after a start without its data) and
``n`` counts the channel's messages from 1, with no holes. Both backends assign ids this way (the
Redis backend in a Lua script, atomically with ``XADD``), and ids have the shape of Redis stream
ids, so the Redis stream is ordered by them.

Because ``n`` has no holes, losing messages never needs a separate signal: a subscriber that last
saw ``e-5`` and is next handed ``e-9`` knows it missed exactly three, and one that is handed an id
of another epoch knows the history it was following is gone. :meth:`SubQueue.take` does this
arithmetic for every message it hands out, so every way of losing messages (trimmed out of the
retention window, a Redis restart without persistence, a stale id from a browser) surfaces as a
:class:`GapInfo` in the right place of the stream, and duplicates (an id not after the last one
handed out) are skipped, which is what makes delivery exactly-once and in order when a backlog
fetched from the store overlaps live traffic.

A :class:`Hub` exists per channel and process. It fans every message out to its subscribers'
queues; in the memory backend it also keeps the retention window (a ring of the last
``retention`` messages) and assigns the ids. A :class:`SubQueue` is bounded: when a subscriber
falls ``maxsize`` messages behind, its queue is emptied and marked ``overflowed``; the async layer
then refills it from the retention window (memory ring or Redis stream), so a slow subscriber
costs bounded memory and loses nothing that is still inside the window.

This module is compiled by mypyc: it is the per-message hot path (one ``push`` per message and
subscriber). It knows nothing of asyncio, trio, Redis or msgspec.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Final

__all__ = [
    "REASON_RESET",
    "REASON_RETENTION",
    "Entry",
    "GapInfo",
    "Hub",
    "SubQueue",
    "format_id",
    "now_ms",
    "parse_id",
    "wake",
]

#: Gap reasons (the public ``Gap.reason`` literals).
REASON_RETENTION: Final = "retention"
REASON_RESET: Final = "reset"

# Ids come from our own code or from a browser asking to resume: bound their size so a hostile id
# cannot cost much to parse. 20 digits hold any 64-bit number.
_MAX_DIGITS: Final = 20


def now_ms() -> int:
    """Milliseconds since 1970: the epoch of a history that starts now."""
    return time.time_ns() // 1_000_000


def format_id(epoch: int, n: int) -> str:
    return f"{epoch}-{n}"


def parse_id(value: object, what: str = "last_id") -> tuple[int, int]:
    """Split ``"<epoch>-<n>"`` into integers.

    Raises ``TypeError`` for a non-string and ``ValueError`` naming ``what`` for anything that is
    not an id as ``publish`` returns them (``"0-0"``, meaning "before everything", is accepted).
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str message id, not {type(value).__name__}")
    head, sep, tail = value.partition("-")
    if (
        not sep
        or not head.isdigit()
        or not tail.isdigit()
        or not head.isascii()
        or not tail.isascii()
        or len(head) > _MAX_DIGITS
        or len(tail) > _MAX_DIGITS
    ):
        raise ValueError(
            f"{what} {value[:60]!r} is not a message id: expected '<epoch>-<n>' "
            "as returned by publish() (for example '1700000000000-42')"
        )
    return int(head), int(tail)


class Entry:
    """One published message: its id and its encoded payload, shared by every subscriber.

    ``text`` and ``frame`` cache what ``forward`` sends (the payload as ``str`` for JSON channels,
    the ``{"id", "data"}`` envelope), so a message fanned out to many sockets is converted once.
    ``value`` caches the decoded message when the channel's type is immutable (``decoded`` says
    whether it is set): the subscribers of this process then share one decode per message.
    """

    id: str
    epoch: int
    n: int
    payload: bytes
    text: str | None
    frame: str | bytes | None
    decoded: bool
    value: object

    def __init__(self, epoch: int, n: int, payload: bytes, id: str | None = None) -> None:
        self.epoch = epoch
        self.n = n
        self.id = format_id(epoch, n) if id is None else id
        self.payload = payload
        self.text = None
        self.frame = None
        self.decoded = False
        self.value = None

    def decode_shared(self, decode: Any) -> Any:
        """The message decoded by ``decode(payload)``, once for every subscriber of the process.

        Only for immutable message types (see ``Channel.shared``): every subscriber gets the same
        object. A payload that does not decode raises each time, as a per-subscriber decode would.
        """
        if self.decoded:
            return self.value
        value: object = decode(self.payload)
        self.value = value
        self.decoded = True
        return value


def wake(waiter: Any) -> None:
    """Complete a subscriber's waiter (an asyncio future, or ``_aio``'s trio equivalent).

    A waiter may already be done: its task was cancelled after it started waiting.
    """
    if not waiter.done():
        waiter.set_result(None)


class GapInfo:
    """A hole before the next message: ``missed`` messages (-1: unknown) after id ``after``."""

    after: str | None
    missed: int
    reason: str

    def __init__(self, after: str | None, missed: int, reason: str) -> None:
        self.after = after
        self.missed = missed
        self.reason = reason


class SubQueue:
    """One subscriber's bounded queue, plus the ordering and gap arithmetic of what it yields.

    Two sources feed it, in this order: ``backlog`` (entries the async layer fetched from the
    retention window, on subscribe with a ``last_id`` or after an overflow) and ``live`` (entries
    the hub pushed, bounded by ``maxsize``). ``take`` returns the next entry that follows the
    last one it returned, or a :class:`GapInfo` first when the next entry does not follow it.
    """

    live: deque[Entry]
    backlog: deque[Entry]
    maxsize: int
    overflowed: bool
    # The last entry handed out (or the resume point). Epoch 0: nothing yet, the next entry must
    # be the first of its history (n == 1). Epoch -1: a reset was reported, take the next as is.
    last_epoch: int
    last_n: int
    last_id: str | None
    # Set by ``reset_from``: the resume id is unknown here; report that before anything else.
    pending_reset: bool
    held: Entry | None
    # True while the async layer is still copying a backlog: ``live`` must wait behind it.
    fetching: bool
    # What the subscriber waits on when ``take`` had nothing: a future-like object (``done()``,
    # ``set_result(None)``) that the next ``put`` completes. Completed here, in compiled code, and
    # not through a callback, because one publish wakes every subscriber.
    waiter: Any

    def __init__(self, maxsize: int) -> None:
        self.live = deque()
        self.backlog = deque()
        self.maxsize = maxsize
        self.overflowed = False
        self.last_epoch = 0
        self.last_n = 0
        self.last_id = None
        self.pending_reset = False
        self.held = None
        self.fetching = False
        self.waiter = None

    def start_at(self, epoch: int, n: int, id: str | None) -> None:
        """Position the queue just after message ``epoch-n`` (``0, 0``: before anything)."""
        self.last_epoch = epoch
        self.last_n = n
        self.last_id = id

    def reset_from(self, id: str | None) -> None:
        """The subscriber asked to resume from ``id``, which this history does not know.

        ``take`` first returns a reset gap after ``id``, then whatever comes next, as is.
        """
        self.last_epoch = -1
        self.last_n = 0
        self.last_id = id
        self.pending_reset = True

    def put(self, entry: Entry) -> None:
        """Called by the hub for each new message. Never blocks, never grows past ``maxsize``.

        When full, the queue drops everything it holds and marks itself ``overflowed``: the
        subscriber will catch up from the retention window, which still has those messages.
        Dropping everything (rather than one at a time) keeps that catch-up to one fetch.
        """
        if self.overflowed:
            return
        if len(self.live) >= self.maxsize:
            self.live.clear()
            self.overflowed = True
        else:
            self.live.append(entry)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():  # (its task may have been cancelled meanwhile)
                waiter.set_result(None)

    def put_all(self, entries: list[Entry]) -> None:
        """``put`` for a batch (a Redis read): the subscriber is woken once for all of them."""
        for entry in entries:
            if self.overflowed:
                break
            if len(self.live) >= self.maxsize:
                self.live.clear()
                self.overflowed = True
            else:
                self.live.append(entry)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def add_backlog(self, entries: list[Entry]) -> None:
        self.backlog.extend(entries)

    def take(self) -> Entry | GapInfo | None:
        """The next thing to yield, or ``None`` when nothing is ready (wait for ``wake``).

        Returns ``None`` as well when the backlog is empty but ``fetching`` (the async layer is
        copying more of it), and when the queue ``overflowed``: the async layer must then refill
        it from the retention window.
        """
        held = self.held
        if held is not None:
            self.held = None
            self._advance(held)
            return held
        if self.pending_reset:
            self.pending_reset = False
            return GapInfo(self.last_id, -1, REASON_RESET)
        while True:
            if self.backlog:
                entry = self.backlog.popleft()
            elif self.fetching or self.overflowed or not self.live:
                return None
            else:
                entry = self.live.popleft()
            last_epoch = self.last_epoch
            if last_epoch == -1:
                self._advance(entry)
                return entry
            if last_epoch == 0:
                # Nothing seen yet: the first message of any epoch is expected to be n == 1.
                if entry.n == 1:
                    self._advance(entry)
                    return entry
                self.held = entry
                return GapInfo(self.last_id, entry.n - 1, REASON_RETENTION)
            if entry.epoch == last_epoch:
                if entry.n <= self.last_n:
                    continue  # already handed out (backlog and live overlap): skip it
                if entry.n == self.last_n + 1:
                    self._advance(entry)
                    return entry
                self.held = entry
                return GapInfo(self.last_id, entry.n - self.last_n - 1, REASON_RETENTION)
            if entry.epoch < last_epoch:
                continue  # a message of an older history than the one we follow
            # A newer epoch: the history we followed is gone (Redis lost its data, or the id we
            # resumed from belongs to an earlier process). What we missed of it is unknowable.
            self.held = entry
            return GapInfo(self.last_id, -1, REASON_RESET)

    def _advance(self, entry: Entry) -> None:
        self.last_epoch = entry.epoch
        self.last_n = entry.n
        self.last_id = entry.id


class Hub:
    """One channel's fan-out point in this process (and, for the memory backend, its store).

    ``retention`` > 0 makes the hub keep the last ``retention`` entries (the memory backend's
    window) and assign ids; the Redis backend uses ``retention`` = 0 (Redis keeps the window) and
    pushes entries with the ids Redis assigned.
    """

    name: str
    retention: int
    epoch: int
    last_n: int
    ring: deque[Entry]
    subscribers: list[SubQueue]
    # The id of the last entry pushed ("0-0" before any): a subscriber registered now is
    # guaranteed every entry after it.
    cursor: str

    def __init__(self, name: str, retention: int, epoch: int) -> None:
        self.name = name
        self.retention = retention
        self.epoch = epoch
        self.last_n = 0
        self.ring = deque()
        self.subscribers = []
        self.cursor = "0-0"

    def append(self, payload: bytes) -> Entry:
        """Memory backend: give ``payload`` the next id, keep it in the window, fan it out."""
        self.last_n += 1
        entry = Entry(self.epoch, self.last_n, payload)
        self.push(entry)
        return entry

    def push(self, entry: Entry) -> None:
        """Fan ``entry`` out to every subscriber (and keep it, if this hub keeps a window)."""
        if self.retention > 0:
            ring = self.ring
            ring.append(entry)
            if len(ring) > self.retention:
                ring.popleft()
        self.cursor = entry.id
        for queue in self.subscribers:
            queue.put(entry)

    def push_all(self, entries: list[Entry]) -> None:
        """``push`` for a batch read from the store: each subscriber gets all of it at once."""
        if not entries:
            return
        if self.retention > 0:
            for entry in entries:
                self.ring.append(entry)
            while len(self.ring) > self.retention:
                self.ring.popleft()
        self.cursor = entries[-1].id
        for queue in self.subscribers:
            queue.put_all(entries)

    def register(self, queue: SubQueue) -> None:
        self.subscribers.append(queue)

    def unregister(self, queue: SubQueue) -> None:
        if queue in self.subscribers:
            self.subscribers.remove(queue)

    def window_after(self, epoch: int, n: int) -> list[Entry]:
        """Memory backend: the retained entries after ``epoch-n``, oldest first.

        An id of another epoch gets the whole window (its history is gone; the queue reports the
        reset). Scans from the newest entry back, so the cost is the size of the answer.
        """
        ring = self.ring
        if epoch != self.epoch:
            return list(ring)
        out: list[Entry] = []
        i = len(ring) - 1
        while i >= 0:
            entry = ring[i]
            if entry.n <= n:
                break
            out.append(entry)
            i -= 1
        out.reverse()
        return out
