"""The application tests/test_production_server.py runs behind real uvicorn and hypercorn.

One ASGI app routed by path, each route a typedws app with one production option
(docs/architecture.md), plus a chat Endpoint for draining:

* ``/echo``: no option (the well-behaved clients' echo);
* ``/origin``: ``allowed_origins=["https://good.example"]``; ``/size``: ``max_message_size=1024``;
  ``/idle``: ``idle_timeout=0.5``; ``/rate``: ``rate_limit=(100, 1.0)``;
* ``/chat``: an Endpoint echoing ``say`` as ``said``, whose ``on_shutdown`` sends ``bye`` with
  the count of what it sent; every handler prints ``FINALLY <n>`` in its ``finally`` (the test
  counts them in the server's output). The lifespan goes to this app (a drain on shutdown),
  with ``lifespan=``, which prints ``LIFESPAN START`` and ``LIFESPAN STOP open=<n>`` and puts
  ``started_by`` in the state.
* ``GET /stats``: the process's resident memory and the open connections; ``POST /drain``:
  ``await chat_app.drain(reason="deploying")``, answered once it is over.
* ``GET /lag`` (asyncio only; benchmarks/bench_hostile.py): the event loop's lag (how late a
  5 ms sleep wakes) since the previous ``/lag``, p50, p99 and max in ms; the first call starts
  the measuring task.

Started as ``production_app:app`` (the tests put this folder on PYTHONPATH).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import msgspec

from typedws import Endpoint, Response, TypedWebSocket, WebSocket, WebSocketApp, websocket_app
from typedws.types import Receive, Scope, Send


class Say(msgspec.Struct, tag="say"):
    text: str


class Said(msgspec.Struct, tag="said"):
    text: str


class Bye(msgspec.Struct, tag="bye"):
    sent: int


chat = Endpoint("/chat", receives=Say, sends=Said | Bye)
Conn = TypedWebSocket[Say, Said | Bye]
_sent: dict[int, int] = {}
_numbers = itertools.count()


@chat.on(Say)
async def say(conn: Conn, msg: Say) -> None:
    await conn.send(Said(text=msg.text))
    _sent[id(conn.ws)] = _sent.get(id(conn.ws), 0) + 1


@chat.on_connect
async def hello(conn: Conn) -> None:
    _sent[id(conn.ws)] = 0


@chat.on_shutdown
async def goodbye(conn: Conn) -> None:
    await conn.send(Bye(sent=_sent.get(id(conn.ws), 0)))


async def _chat_handler(ws: WebSocket) -> None:
    try:
        await chat.serve(ws)
    finally:
        _sent.pop(id(ws), None)
        print(f"FINALLY {next(_numbers)}", flush=True)


async def _echo(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


@asynccontextmanager
async def lifespan(app: WebSocketApp) -> AsyncGenerator[dict[str, str], None]:
    print("LIFESPAN START", flush=True)
    yield {"started_by": "lifespan"}  # the server copies it into every scope's state
    print(f"LIFESPAN STOP open={app.connections}", flush=True)


chat_app = chat.app(lifespan=lifespan)
# The chat's handler with a finally that prints: the same options and hook as chat.app().
chat_app.handler = _chat_handler

ROUTES = {
    "/echo": websocket_app(_echo),
    "/origin": websocket_app(_echo, allowed_origins=["https://good.example"]),
    "/size": websocket_app(_echo, max_message_size=1024),
    "/idle": websocket_app(_echo, idle_timeout=0.5),
    "/rate": websocket_app(_echo, rate_limit=(100, 1.0)),
    "/chat": chat_app,
}


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


_lags: list[float] = []
_lag_task: list[asyncio.Task[None]] = []


async def _measure_lag() -> None:
    while True:
        due = time.perf_counter() + 0.005
        await asyncio.sleep(0.005)
        _lags.append(time.perf_counter() - due)


def _lag_report() -> dict[str, float | None]:
    if not _lag_task:
        _lag_task.append(asyncio.get_running_loop().create_task(_measure_lag()))
    lags = sorted(_lags)
    _lags.clear()

    def ms(fraction: float) -> float | None:
        return lags[min(len(lags) - 1, int(fraction * len(lags)))] * 1000 if lags else None

    return {"p50": ms(0.5), "p99": ms(0.99), "max": ms(1.0)}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await chat_app(scope, receive, send)
    elif scope["type"] == "websocket":
        route = ROUTES.get(scope["path"])
        if route is None:
            await WebSocket(scope, receive, send).close()
        else:
            await route(scope, receive, send)
    elif scope["path"] == "/stats":
        open_connections = sum(route.connections for route in ROUTES.values())
        state = scope.get("state") or {}
        body = msgspec.json.encode(
            {
                "rss_kib": _rss_kib(),
                "connections": open_connections,
                "started_by": state.get("started_by"),
            }
        )
        await Response(body, 200, media_type="application/json")(scope, receive, send)
    elif scope["path"] == "/lag":
        body = msgspec.json.encode(_lag_report())
        await Response(body, 200, media_type="application/json")(scope, receive, send)
    elif scope["path"] == "/drain":
        await chat_app.drain(reason="deploying")
        await Response(b"drained\n", 200, media_type="text/plain")(scope, receive, send)
    else:
        await Response(b"not found\n", 404)(scope, receive, send)
