"""What every in-process benchmark shares: payloads, the scope, an in-memory ASGI server, timing.

The in-memory server hands out pre-built events and drops what it is sent, so that a trial
measures the layer under test and nothing else. Its ``receive``/``send`` never suspend, so a
handler is driven by ``coroutine.send(None)`` with no event loop at all: the event loop's own
per-step cost would otherwise be part of every number and blur the differences between layers.
Each handler times its own message loop (after the handshake, before the close), so the
per-connection setup of each layer is not spread over the messages.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal

import msgspec

Mode = Literal["text", "binary"]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

now = time.perf_counter_ns


class Chat(msgspec.Struct):
    """The small message: one chat line, about 200 bytes of JSON."""

    type: str
    room: str
    user: str
    id: int
    ts: str
    reply_to: int | None
    text: str


def _chat(i: int) -> dict[str, Any]:
    return {
        "type": "chat",
        "room": "general",
        "user": f"user-{i % 50:03d}",
        "id": 100000 + i,
        "ts": "2026-11-01T12:34:56.789Z",
        "reply_to": None if i % 3 else 99990 + i,
        "text": "Hello everyone! Has anyone tried the new typed websocket layer? It is fast.",
    }


SMALL: dict[str, Any] = _chat(7)
#: The large message: a page of chat history, about 15 KB of JSON.
LARGE: dict[str, Any] = {
    "type": "history",
    "room": "general",
    "cursor": "c-000123",
    "messages": [_chat(i) for i in range(72)],
}

PAYLOADS: dict[str, dict[str, Any]] = {"small": SMALL, "large": LARGE}


def encoded(size: str) -> bytes:
    return msgspec.json.encode(PAYLOADS[size])


def make_scope(extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    """A websocket scope as uvicorn builds it (ASGI websocket spec 2.4)."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 51000),
        "root_path": "",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"upgrade", b"websocket")],
        "subprotocols": [],
        "extensions": extensions if extensions is not None else {},
        "state": {},
    }


def data_event(payload: bytes, mode: Mode) -> Message:
    """A ``websocket.receive`` event as uvicorn builds it (only the field that is set)."""
    if mode == "text":
        return {"type": "websocket.receive", "text": payload.decode()}
    return {"type": "websocket.receive", "bytes": payload}


class Server:
    """An in-memory ASGI server: connect, ``n`` data events, disconnect; sends are dropped.

    ``record=True`` keeps what was sent, for the correctness check run before timing.
    """

    def __init__(self, events: list[Message], *, record: bool = False) -> None:
        self.events = events
        self.sent: list[Message] = []
        next_event = iter(events).__next__

        async def receive() -> Message:
            return next_event()

        if record:
            sent = self.sent

            async def send(message: Message) -> None:
                sent.append(message)

        else:

            async def send(message: Message) -> None:
                return None

        self.receive: Receive = receive
        self.send: Send = send


def connection(body: list[Message]) -> list[Message]:
    return [{"type": "websocket.connect"}, *body, {"type": "websocket.disconnect", "code": 1000}]


def drive(coro: Coroutine[Any, Any, int]) -> int:
    """Run a coroutine that never suspends; return its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        result: int = stop.value
        return result
    coro.close()
    raise RuntimeError("the benchmark handler suspended; the in-memory server never should")


#: Runs per sample: a sample is the best of these back-to-back runs (see ``timed``).
REPEAT = 5


def timed(run: Callable[[], int], repeat: int = REPEAT) -> int:
    """The best of ``repeat`` calls of ``run`` (which returns elapsed ns), the garbage collector
    off, as timeit does.

    On a shared machine another process regularly takes the core for a while, doubling a run's
    time; the best of a few short back-to-back runs is the uncontended cost, and the runner
    then takes the median of these samples over the rounds.
    """
    gc.collect()
    gc.disable()
    try:
        return min(run() for _ in range(repeat))
    finally:
        gc.enable()
