"""The server side of the load and fault tests: a small app on typedws.WebSocket, run by uvicorn.

Run as ``python load_app.py FD WS_IMPL``: serves on the already-listening socket FD (the test
bound it to a free port on 127.0.0.1, so there is no race for the port), with uvicorn's
websocket implementation WS_IMPL. It does not use ``typedws.websocket_app`` on purpose: these tests
exercise the connection object alone.

WebSocket endpoints:

* ``/echo``: accept, then echo every JSON message back (``receive_json`` / ``send_json``) until the
  client goes; the loop ends with the WebSocketDisconnect that typedws raises;
* ``/flood``: accept, then send 64 KiB JSON messages as fast as the server takes them, without ever
  receiving; when the client vanishes the send must raise WebSocketDisconnect(1006), and a
  second send must raise it again instead of hanging or raising something else;
* ``/inspect``: accept and send back, as JSON, what the application sees of the handshake.

HTTP ``GET /stats`` answers with the counters below (after a garbage collection, so the resident
memory it reports is comparable between calls).
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import sys
from collections import Counter
from typing import Any

import msgspec

from typedws import WebSocket, WebSocketDisconnect
from typedws.types import Receive, Scope, Send

#: How each websocket handler ended: "WebSocketDisconnect:1000", "returned", "KeyError"...
EXITS: Counter[str] = Counter()
#: Handlers running now, and handlers started since the process began.
ACTIVE = 0
STARTED = 0
#: What /flood saw when the client vanished: "first=1006 second=1006".
FLOOD: Counter[str] = Counter()
#: The first few unexpected exceptions, as "Type: message", for the test's failure message.
ERRORS: list[str] = []

_FLOOD_PAYLOAD = "x" * 65536


def _resident_kib() -> int:
    """Resident set size of this process (Linux /proc; psutil is not a dependency)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS line in /proc/self/status")


def stats() -> dict[str, Any]:
    gc.collect()
    return {
        "exits": dict(EXITS),
        "flood": dict(FLOOD),
        "errors": ERRORS,
        "active": ACTIVE,
        "started": STARTED,
        "tasks": len(asyncio.all_tasks()),
        "rss_kib": _resident_kib(),
    }


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        message = await ws.receive_json()
        await ws.send_json(message)


async def flood(ws: WebSocket) -> None:
    await ws.accept()
    count = 0
    try:
        while True:
            await ws.send_json({"i": count, "pad": _FLOOD_PAYLOAD})
            count += 1
    except WebSocketDisconnect as first:
        try:
            await ws.send_json({"after": "the client vanished"})
        except WebSocketDisconnect as second:
            FLOOD[f"first={first.code} second={second.code}"] += 1
        else:
            FLOOD[f"first={first.code} second=sent"] += 1
        raise


async def inspect(ws: WebSocket) -> None:
    await ws.accept()
    seen: dict[str, Any] = {
        "path": ws["path"],
        "raw_path": ws.get("raw_path", b"").decode("latin-1"),
        "query_string": ws["query_string"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in ws["headers"]],
        "url": str(ws.url),
        "cookies": ws.cookies,
    }
    await ws.send_json(seen)
    await ws.close()


ROUTES = {"/echo": echo, "/flood": flood, "/inspect": inspect}


async def websocket(scope: Scope, receive: Receive, send: Send) -> None:
    global ACTIVE, STARTED
    ws = WebSocket(scope, receive, send)
    handler = ROUTES.get(scope["path"], inspect)
    ACTIVE += 1
    STARTED += 1
    try:
        await handler(ws)
    except WebSocketDisconnect as exc:
        EXITS[f"WebSocketDisconnect:{exc.code}"] += 1
    except BaseException as exc:
        EXITS[type(exc).__name__] += 1
        if len(ERRORS) < 10:
            ERRORS.append(f"{type(exc).__name__}: {exc}")
        raise
    else:
        EXITS["returned"] += 1
    finally:
        ACTIVE -= 1


async def http(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"] == "/stats":
        status, body = 200, msgspec.json.encode(stats())
    else:
        status, body = 404, b"not found"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await websocket(scope, receive, send)
    elif scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    import uvicorn

    fd, ws_impl = int(sys.argv[1]), sys.argv[2]
    sock = socket.socket(fileno=fd)  # family and type are read from the descriptor
    config = uvicorn.Config(
        app,
        ws=ws_impl,  # one of uvicorn's names, checked by uvicorn
        log_level=os.environ.get("LOAD_LOG_LEVEL", "warning"),
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
