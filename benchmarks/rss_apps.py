"""The idle apps the RSS benchmark serves with uvicorn (``rss_apps:<name>``, see bench_rss.py).

Each app accepts, reads the connection data once (headers, query parameters, cookies, URL: the
layers cache them on the socket object, which the handler's frame keeps alive), tells the client
it is ready with ``ready <user> <number of cookies>`` (so that the client knows the handler ran
to its idle point and read the same data), then waits for messages and drops them until the
client leaves. ``raw`` is a bare ASGI app, the floor: it holds the scope, uvicorn's queue and
task and nothing else; it parses the query string and cookie header only to build the same
ready message and keeps nothing of them.

Each library is imported inside its app, so a server process loads only the one it serves (the
benchmark's warm-up connections import it before the baseline is read).
"""

from __future__ import annotations

import importlib
from typing import Any


def _ready(user: str, cookies: int) -> str:
    return f"ready {user} {cookies}"


async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    query = dict(p.split("=", 1) for p in scope["query_string"].decode("latin-1").split("&"))
    cookie = next(v for k, v in scope["headers"] if k == b"cookie").decode("latin-1")
    await send({"type": "websocket.send", "text": _ready(query["user"], len(cookie.split(";")))})
    del query, cookie
    while (await receive())["type"] == "websocket.receive":
        pass


def _library_app(module: str) -> Any:
    """The same idle app for each library: ``module`` has ``WebSocket`` and
    ``WebSocketDisconnect`` (Starlette's, Lilya's and typedws's all do)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        library = importlib.import_module(module)
        ws = library.WebSocket(scope, receive, send)
        await ws.accept()
        ws.headers, ws.url  # noqa: B018 - read once, cached on ws
        await ws.send_text(_ready(ws.query_params["user"], len(ws.cookies)))
        try:
            while True:
                await ws.receive_text()
        except library.WebSocketDisconnect:
            pass

    return app


starlette = _library_app("starlette.websockets")
lilya = _library_app("lilya.websockets")
typedws = _library_app("typedws")
