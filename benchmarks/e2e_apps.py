"""The three echo apps the end-to-end benchmark serves with uvicorn (``e2e_apps:<name>``).

All three do the same work per message: decode the JSON text frame, encode it again, send it
back. ``raw`` is a bare ASGI app (msgspec, no layer at all), the floor.
"""

from __future__ import annotations

from typing import Any

import msgspec

_decode = msgspec.json.decode
_encode = msgspec.json.encode


async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        text = message.get("text")
        data = _decode(text if text is not None else message["bytes"])
        await send({"type": "websocket.send", "text": _encode(data).decode()})


async def starlette(scope: dict[str, Any], receive: Any, send: Any) -> None:
    from starlette.websockets import WebSocket, WebSocketDisconnect

    ws = WebSocket(scope, receive, send)
    await ws.accept()
    try:
        while True:
            await ws.send_json(await ws.receive_json())
    except WebSocketDisconnect:
        pass


async def typedws(scope: dict[str, Any], receive: Any, send: Any) -> None:
    from typedws import WebSocket, WebSocketDisconnect

    ws = WebSocket(scope, receive, send)
    await ws.accept()
    try:
        while True:
            await ws.send_json(await ws.receive_json())
    except WebSocketDisconnect:
        pass
