"""The layer benchmark: one echo handler, run over the in-memory server by every layer.

The handler is the same everywhere: accept; ``n`` times ``receive_json`` then ``send_json``;
close. Two floors frame the layers:

* ``bare``: an ASGI loop doing only what any layer must (await receive, msgspec decode, msgspec
  encode, await send);
* ``thin``: the least an async-method layer can cost: an object whose ``receive_json`` and
  ``send_json`` only await, decode, encode and await, with no checks at all.

Each handler returns the nanoseconds its message loop took.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from _common import Message, Mode, Receive, Send, Server, connection, data_event, encoded, now

Handler = Callable[[dict[str, Any], Receive, Send, int, Mode], Coroutine[Any, Any, int]]

_decode = msgspec.json.decode
_encode = msgspec.json.encode


async def bare(scope: dict[str, Any], receive: Receive, send: Send, n: int, mode: Mode) -> int:
    await receive()
    await send({"type": "websocket.accept"})
    key = "text" if mode == "text" else "bytes"
    start = now()
    if mode == "text":
        for _ in range(n):
            message = await receive()
            data = _decode(message[key])
            await send({"type": "websocket.send", "text": _encode(data).decode()})
    else:
        for _ in range(n):
            message = await receive()
            data = _decode(message[key])
            await send({"type": "websocket.send", "bytes": _encode(data)})
    elapsed = now() - start
    await send({"type": "websocket.close", "code": 1000})
    return elapsed


class Thin:
    """The thinnest async-method layer: no state, no checks."""

    def __init__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send

    async def accept(self) -> None:
        await self._receive()
        await self._send({"type": "websocket.accept"})

    async def receive_json(self, mode: Mode = "text") -> Any:
        message = await self._receive()
        return _decode(message["text"] if mode == "text" else message["bytes"])

    async def send_json(self, data: Any, mode: Mode = "text") -> None:
        if mode == "text":
            await self._send({"type": "websocket.send", "text": _encode(data).decode()})
        else:
            await self._send({"type": "websocket.send", "bytes": _encode(data)})

    async def close(self, code: int = 1000) -> None:
        await self._send({"type": "websocket.close", "code": code})


async def _echo(ws: Any, n: int, mode: Mode) -> int:
    """The handler every layer runs (the ``ws`` object differs, the code does not)."""
    await ws.accept()
    receive_json = ws.receive_json
    send_json = ws.send_json
    start = now()
    for _ in range(n):
        data = await receive_json(mode)
        await send_json(data, mode)
    elapsed = now() - start
    await ws.close()
    return elapsed


async def thin(scope: dict[str, Any], receive: Receive, send: Send, n: int, mode: Mode) -> int:
    return await _echo(Thin(scope, receive, send), n, mode)


async def typedws(scope: dict[str, Any], receive: Receive, send: Send, n: int, mode: Mode) -> int:
    from typedws import WebSocket

    return await _echo(WebSocket(scope, receive, send), n, mode)


async def starlette(scope: dict[str, Any], receive: Receive, send: Send, n: int, mode: Mode) -> int:
    from starlette.websockets import WebSocket

    return await _echo(WebSocket(scope, receive, send), n, mode)


async def lilya(scope: dict[str, Any], receive: Receive, send: Send, n: int, mode: Mode) -> int:
    from lilya.websockets import WebSocket

    return await _echo(WebSocket(scope, receive, send), n, mode)


_litestar_handler: Any = None


def litestar_route_handler() -> Any:
    """A route handler registered on a real Litestar app, as Litestar puts it in the scope
    (its WebSocket reads the handler's type decoders on every receive_json)."""
    global _litestar_handler
    if _litestar_handler is None:
        from litestar import Litestar, websocket
        from litestar import WebSocket as LitestarWebSocket

        @websocket("/ws", signature_namespace={"LitestarWebSocket": LitestarWebSocket, "Any": Any})
        async def endpoint(socket: LitestarWebSocket[Any, Any, Any]) -> None:
            return None

        app = Litestar([endpoint])
        _litestar_handler = app.route_handler_method_map["/ws"]["websocket"]
    return _litestar_handler


async def litestar(scope: dict[str, Any], receive: Receive, send: Send, n: int, mode: Mode) -> int:
    from litestar import WebSocket

    scope = {**scope, "route_handler": litestar_route_handler()}
    return await _echo(WebSocket(scope, receive, send), n, mode)


#: Layers this process can run; "typedws" is whichever build is importable here.
HANDLERS: dict[str, Handler] = {
    "bare": bare,
    "thin": thin,
    "typedws": typedws,
    "starlette": starlette,
    "lilya": lilya,
    "litestar": litestar,
}


#: The cases: payload size and frame kind, with messages per run (about 1 ms for ``bare``).
CASES: dict[str, tuple[str, Mode, int]] = {
    "small text": ("small", "text", 1000),
    "small binary": ("small", "binary", 1000),
    "large text": ("large", "text", 40),
    "large binary": ("large", "binary", 40),
}


def events(size: str, mode: Mode, n: int) -> list[Message]:
    return connection([data_event(encoded(size), mode)] * n)


def check(impl: str, size: str, mode: Mode) -> None:
    """Before timing: the layer really echoes, in the right frame kind, and closes."""
    from _common import drive

    server = Server(events(size, mode, 3), record=True)
    drive(HANDLERS[impl](_scope(), server.receive, server.send, 3, mode))
    frames = [m for m in server.sent if m["type"] == "websocket.send"]
    assert len(frames) == 3, (impl, server.sent)
    expected = msgspec.json.decode(encoded(size))
    for frame in frames:
        payload = frame.get("text") if mode == "text" else frame.get("bytes")
        assert isinstance(payload, str if mode == "text" else bytes), (impl, mode, frame)
        assert msgspec.json.decode(payload) == expected, impl
    assert server.sent[0]["type"] == "websocket.accept", impl
    assert server.sent[-1]["type"] == "websocket.close", impl


def _scope() -> dict[str, Any]:
    from _common import make_scope

    return make_scope()


def run(impl: str, size: str, mode: Mode, n: int) -> int:
    """One trial: a fresh connection echoing ``n`` messages; returns ns for the loop."""
    from _common import drive

    server = Server(events(size, mode, n))
    return drive(HANDLERS[impl](_scope(), server.receive, server.send, n, mode))


def prepare(impl: str, case: str) -> None:
    size, mode, _ = CASES[case]
    check(impl, size, mode)
    run(impl, size, mode, 50)  # warm up


def trial(impl: str, case: str) -> float:
    """ns per message (one receive_json + one send_json) for one fresh connection."""
    from _common import timed

    size, mode, n = CASES[case]
    return timed(lambda: run(impl, size, mode, n)) / n
