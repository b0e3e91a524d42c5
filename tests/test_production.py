"""The production options of websocket_app / Endpoint.app, in memory (docs/architecture.md).

``lifespan=``, ``allowed_origins=``, ``max_message_size=``, ``idle_timeout=``, ``rate_limit=``
through ``typedws.testing.connect``, under asyncio and trio (conftest's anyio_backend), plus
``typedws.race``. The same options behind a real uvicorn: tests/test_production_server.py.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from broadcast_loopback import Loopback
from typedws import (
    Endpoint,
    TypedWebSocket,
    WebSocket,
    WebSocketApp,
    WebSocketDisconnect,
    race,
    websocket_app,
)
from typedws._limits import RefusalLog
from typedws.testing import Closed, Rejected, connect
from typedws.types import Message

pytestmark = pytest.mark.anyio


class Say(msgspec.Struct, tag="say"):
    text: str


class Said(msgspec.Struct, tag="said"):
    text: str


class Bye(msgspec.Struct, tag="bye"):
    why: str


class Outcome:
    """What a handler saw: the code its receive loop ended with, whether its finally ran."""

    def __init__(self) -> None:
        self.code: int | None = None
        self.decoded: list[str] = []
        self.finally_ran = False


def echo(outcome: Outcome, **options: Any) -> WebSocketApp:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                text = await ws.receive_text()
                outcome.decoded.append(text)
                await ws.send_text(text)
        except WebSocketDisconnect as exc:
            outcome.code = exc.code
        finally:
            outcome.finally_ran = True

    return websocket_app(handler, **options)


# --- allowed_origins ---------------------------------------------------------------------------


async def test_a_foreign_origin_is_refused_before_the_handler_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome = Outcome()
    app = echo(outcome, allowed_origins=["https://chat.example"])
    with caplog.at_level(logging.WARNING, logger="typedws"), pytest.raises(Rejected) as caught:
        async with connect(app, "/room", headers={"origin": "https://evil.example"}):
            pass
    assert caught.value.status == 403
    assert not outcome.finally_ran  # the handler never ran
    assert "/room" in caplog.text
    assert "testclient:50000" in caplog.text
    assert "https://evil.example" in caplog.text


async def test_a_stream_of_refusals_logs_one_warning_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A hostile client chooses how often it is refused: the log must not follow its rate.
    app = echo(Outcome(), allowed_origins=["https://chat.example"])
    with caplog.at_level(logging.DEBUG, logger="typedws"):
        for _ in range(20):
            with pytest.raises(Rejected):
                async with connect(app, "/room", headers={"origin": "https://evil.example"}):
                    pass
    refusals = [r for r in caplog.records if r.getMessage().startswith("refusing /room")]
    assert len(refusals) == 20  # each one still logged, with path and client...
    levels = [r.levelno for r in refusals]
    assert levels == [logging.WARNING] + [logging.DEBUG] * 19  # ...one of them as a warning


def test_refusal_log_counts_what_it_kept_at_debug_level(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    log = RefusalLog(interval=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, logger="typedws"):
        for i in range(5):
            log.refused("rate_limit", "closing /x from c:%d with 1008", i)
        log.refused("idle_timeout", "closing /x from c:9 with 1001")  # its own interval
        now[0] += 9.9
        log.refused("rate_limit", "closing /x from c:5 with 1008")
        now[0] += 0.2  # 10.1 s after the first
        log.refused("rate_limit", "closing /x from c:6 with 1008")
        log.refused("idle_timeout", "closing /x from c:10 with 1001")  # nothing to count
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "closing /x from c:0 with 1008",
        "closing /x from c:9 with 1001",
        "5 more refusal(s) by rate_limit in the 10 s before the next one (logged at debug level)",
        "closing /x from c:6 with 1008",
        "closing /x from c:10 with 1001",
    ]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug == [f"closing /x from c:{i} with 1008" for i in (1, 2, 3, 4, 5)]


@pytest.mark.parametrize(
    "origin", ["https://chat.example", "HTTPS://Chat.Example", "https://chat.example:443"]
)
async def test_an_allowed_origin_and_its_spellings_connect(origin: str) -> None:
    outcome = Outcome()
    app = echo(outcome, allowed_origins=["https://chat.example"])
    async with connect(app, "/", headers={"origin": origin}) as session:
        await session.send_text("hi")
        assert await session.receive_text() == "hi"


async def test_no_origin_header_is_allowed() -> None:
    outcome = Outcome()
    app = echo(outcome, allowed_origins=["https://chat.example"])
    async with connect(app, "/") as session:
        await session.send_text("hi")
        assert await session.receive_text() == "hi"


@pytest.mark.parametrize("origin", ["null", "https://chat.example.evil", "http://chat.example"])
async def test_near_misses_are_foreign(origin: str) -> None:
    app = echo(Outcome(), allowed_origins=["https://chat.example"])
    with pytest.raises(Rejected):
        async with connect(app, "/", headers={"origin": origin}):
            pass


# --- max_message_size --------------------------------------------------------------------------


async def test_a_message_over_max_message_size_closes_with_1009_undecoded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome = Outcome()
    app = echo(outcome, max_message_size=100)
    with caplog.at_level(logging.WARNING, logger="typedws"):
        async with connect(app, "/chat") as session:
            await session.send_text("x" * 100)  # at the limit: fine
            assert await session.receive_text() == "x" * 100
            await session.send_text("é" * 51)  # 51 characters, 102 bytes of UTF-8
            with pytest.raises(Closed) as caught:
                await session.receive_text()
    assert caught.value.code == 1009
    assert outcome.code == 1009  # the pending receive raised WebSocketDisconnect(1009)
    assert outcome.decoded == ["x" * 100]  # the big one never reached the handler
    assert outcome.finally_ran
    assert "closing /chat from testclient:50000 with 1009" in caplog.text


async def test_max_message_size_counts_binary_frames_too() -> None:
    received: list[bytes] = []

    @websocket_app
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        async for data in ws.iter_bytes():
            received.append(data)

    app = websocket_app(handler.handler, max_message_size=10)
    async with connect(app, "/") as session:
        await session.send_bytes(b"0123456789")
        await session.send_bytes(b"0123456789A")
        with pytest.raises(Closed) as caught:
            await session.receive()
    assert caught.value.code == 1009
    assert received == [b"0123456789"]


async def test_an_endpoint_refuses_a_big_message_before_decoding_it() -> None:
    endpoint = Endpoint("/e", receives=Say, sends=Said)
    decoded: list[str] = []

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Say, Said], msg: Say) -> Said:
        decoded.append(msg.text)
        return Said(text=msg.text)

    app = endpoint.app(max_message_size=64)
    async with connect(app, "/e", endpoint=endpoint) as client:
        await client.send(Say(text="short"))
        assert await client.receive() == Said(text="short")
        # Not valid JSON either: had it been decoded, the close would be 1007.
        await client.session.send_text("{" * 200)
        with pytest.raises(Closed) as caught:
            await client.receive()
    assert caught.value.code == 1009
    assert decoded == ["short"]


# --- idle_timeout ------------------------------------------------------------------------------


async def test_a_silent_client_is_closed_with_1001_after_idle_timeout() -> None:
    outcome = Outcome()
    app = echo(outcome, idle_timeout=0.2)
    async with connect(app, "/") as session:
        await session.send_text("one")
        assert await session.receive_text() == "one"
        with pytest.raises(Closed) as caught:
            await session.receive_text()  # says nothing more
    assert caught.value.code == 1001
    assert outcome.code == 1001
    assert outcome.finally_ran


async def test_a_talking_client_is_not_idle() -> None:
    outcome = Outcome()
    app = echo(outcome, idle_timeout=0.3)
    async with connect(app, "/") as session:
        for i in range(6):  # 6 x 0.1 s: longer than the timeout in all, never silent for it
            await anyio.sleep(0.1)
            await session.send_text(str(i))
            assert await session.receive_text() == str(i)
    assert outcome.code == 1000  # the client's own close


async def test_idle_time_counts_only_while_the_handler_waits() -> None:
    # A handler busy for longer than the timeout between receives is not the client's silence.
    @websocket_app
    async def slow(ws: WebSocket) -> None:
        await ws.accept()
        async for text in ws.iter_text():
            await anyio.sleep(0.4)
            await ws.send_text(text)

    app = websocket_app(slow.handler, idle_timeout=0.25)
    async with connect(app, "/") as session:
        await session.send_text("a")
        await session.send_text("b")
        assert await session.receive_text() == "a"
        assert await session.receive_text() == "b"


# --- rate_limit --------------------------------------------------------------------------------


async def test_more_than_n_messages_in_s_seconds_closes_with_1008(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome = Outcome()
    app = echo(outcome, rate_limit=(5, 60.0))
    with caplog.at_level(logging.WARNING, logger="typedws"):
        async with connect(app, "/fast") as session:
            for i in range(6):
                await session.send_text(str(i))
            echoed = [await session.receive_text() for _ in range(5)]
            with pytest.raises(Closed) as caught:
                await session.receive_text()
    assert caught.value.code == 1008
    assert echoed == ["0", "1", "2", "3", "4"]
    assert outcome.decoded == echoed
    assert outcome.code == 1008
    assert "closing /fast from testclient:50000 with 1008" in caplog.text
    assert "rate_limit" in caplog.text


async def test_the_rate_window_slides() -> None:
    outcome = Outcome()
    app = echo(outcome, rate_limit=(3, 0.2))
    async with connect(app, "/") as session:
        for burst in range(3):
            for i in range(3):
                await session.send_text(f"{burst}.{i}")
                assert await session.receive_text() == f"{burst}.{i}"
            await anyio.sleep(0.25)
    assert len(outcome.decoded) == 9
    assert outcome.code == 1000


async def test_a_send_after_a_limit_closed_raises_disconnect() -> None:
    errors: list[int] = []

    @websocket_app
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        with suppress(WebSocketDisconnect):
            await ws.receive_text()
        try:
            await ws.send_text("too late")
        except WebSocketDisconnect as exc:
            errors.append(exc.code)

    app = websocket_app(handler.handler, max_message_size=1)
    async with connect(app, "/") as session:
        await session.send_text("ab")
        with pytest.raises(Closed):
            await session.receive()
    assert errors == [1009]


# --- bad options -------------------------------------------------------------------------------


async def _nothing(ws: WebSocket) -> None:
    await ws.close()


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"allowed_origins": "https://a.example"}, TypeError, "allowed_origins must be a list"),
        ({"allowed_origins": ["a.example"]}, ValueError, "'a.example' is not an origin"),
        ({"allowed_origins": ["https://a.example/x"]}, ValueError, "without a path"),
        ({"max_message_size": 0}, ValueError, "max_message_size must be positive"),
        ({"max_message_size": 1.5}, TypeError, "max_message_size must be an int"),
        ({"idle_timeout": -1}, ValueError, "idle_timeout must be positive"),
        ({"idle_timeout": math.inf}, ValueError, "idle_timeout must be positive and finite"),
        ({"idle_timeout": "5"}, TypeError, "idle_timeout must be a number of seconds"),
        ({"rate_limit": 10}, TypeError, "rate_limit must be a tuple (messages, seconds)"),
        ({"rate_limit": (0, 1.0)}, ValueError, "rate_limit's message count must be positive"),
        ({"rate_limit": (10, 0)}, ValueError, "rate_limit's seconds must be positive"),
        ({"lifespan": "nope"}, TypeError, "lifespan must be a function"),
    ],
)
def test_a_bad_option_is_refused_with_its_name(
    options: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        websocket_app(_nothing, **options)
    assert words in str(caught.value)
    endpoint = Endpoint("/e", receives=Say, sends=Said)
    endpoint.on(Say)(_say)
    with pytest.raises(error):
        endpoint.app(**options)


async def _say(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
    return None


# --- lifespan ----------------------------------------------------------------------------------


async def run_lifespan(app: WebSocketApp, state: dict[str, Any]) -> list[Message]:
    """Drive the ASGI lifespan protocol as a server does: startup, then shutdown."""
    to_app, app_inbox = anyio.create_memory_object_stream[Message](10)
    from_app, replies = anyio.create_memory_object_stream[Message](10)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        await from_app.send(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(app, scope, app_inbox.receive, send)
        await to_app.send({"type": "lifespan.startup"})
        sent.append(await replies.receive())
        if sent[-1]["type"] == "lifespan.startup.complete":
            await to_app.send({"type": "lifespan.shutdown"})
            sent.append(await replies.receive())
    return sent


async def test_lifespan_runs_around_the_app_and_fills_the_state() -> None:
    steps: list[str] = []

    @asynccontextmanager
    async def lifespan(app: WebSocketApp) -> AsyncGenerator[dict[str, str], None]:
        steps.append(f"start {app!r}")
        yield {"db": "connected"}
        steps.append("stop")

    app = echo(Outcome(), lifespan=lifespan)
    state: dict[str, Any] = {}
    sent = await run_lifespan(app, state)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert steps == ["start websocket_app(echo.<locals>.handler)", "stop"]
    assert state == {"db": "connected"}


async def test_a_failing_lifespan_fails_the_startup(caplog: pytest.LogCaptureFixture) -> None:
    @asynccontextmanager
    async def lifespan(app: WebSocketApp) -> AsyncGenerator[None, None]:
        if app.connections == 0:  # always: the startup fails
            raise ConnectionError("no database")
        yield

    with caplog.at_level(logging.ERROR, logger="typedws"):
        sent = await run_lifespan(echo(Outcome(), lifespan=lifespan), {})
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "no database" in sent[0]["message"]
    assert "no database" in caplog.text


async def test_without_a_lifespan_the_events_are_acknowledged() -> None:
    sent = await run_lifespan(echo(Outcome()), {})
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# --- race --------------------------------------------------------------------------------------


async def test_race_stops_the_others_when_one_ends() -> None:
    stopped: list[str] = []

    async def forever() -> None:
        try:
            await anyio.sleep(math.inf)
        finally:
            stopped.append("forever")

    async def quick() -> None:
        await anyio.sleep(0.01)

    await race(forever, quick)
    assert stopped == ["forever"]


async def test_race_reraises_the_error_itself() -> None:
    async def forever() -> None:
        await anyio.sleep(math.inf)

    async def fails() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await race(forever, fails)


async def test_race_refuses_what_is_not_a_function() -> None:
    with pytest.raises(TypeError, match="race\\(\\) takes coroutine functions"):
        await race(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one"):
        await race()


async def test_the_readme_broadcast_example_runs_under_this_backend() -> None:
    # The README's chat runs its feed beside its receive loop with typedws.race: under trio as
    # under asyncio (tests/test_broadcast_memory.py runs it under asyncio only).
    readme = Path(__file__).resolve().parent.parent / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    (block,) = [b for b in blocks if "broadcast.forward(" in b]
    assert "race(feed, talk)" in block
    namespace: dict[str, Any] = {}
    exec(compile(block, str(readme), "exec"), namespace)
    bc = namespace["broadcast"]
    client = Loopback()
    await bc.connect()
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(namespace["chat"], await client.connecting())
            assert (await client.next_event())["type"] == "websocket.accept"
            await anyio.wait_all_tasks_blocked()
            await client.client_sends('{"user": "ann", "text": "hi"}')
            frame = msgspec.json.decode(await client.next_frame())
            assert frame["data"] == {"user": "ann", "text": "hi"}
            await client.client_disconnects()  # talk ends, race cancels the feed, chat returns
    finally:
        await bc.disconnect()
