"""The applications the interop tests run behind real servers: one typedws app, routed by path.

Started by each server as ``interop_apps:app`` (the tests put this folder on PYTHONPATH). Every
route is a small handler exercising one feature; the client side is in test_interop.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from typedws import Response, WebSocket, websocket_app


class Point(msgspec.Struct):
    x: int
    y: int
    label: str = ""


async def echo_text(ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws.iter_text():
        await ws.send_text(message)


async def echo_bytes(ws: WebSocket) -> None:
    await ws.accept()
    async for data in ws.iter_bytes():
        await ws.send_bytes(data)


async def echo_json_text(ws: WebSocket) -> None:
    await ws.accept()
    async for point in ws.iter_json(type=Point):
        await ws.send_json(Point(point.y, point.x, point.label.upper()))


async def echo_json_binary(ws: WebSocket) -> None:
    await ws.accept()
    async for point in ws.iter_json("binary", type=Point):
        await ws.send_json(Point(point.y, point.x, point.label.upper()), mode="binary")


async def echo_msgpack(ws: WebSocket) -> None:
    await ws.accept()
    async for point in ws.iter_msgpack(type=Point):
        await ws.send_msgpack(Point(point.y, point.x, point.label.upper()))


async def subprotocol(ws: WebSocket) -> None:
    # Pick the newest version the client offers.
    chosen = max((p for p in ws.subprotocols if p.startswith("typedws.v")), default=None)
    await ws.accept(subprotocol=chosen)
    await ws.send_text(f"chose {chosen}")
    await ws.receive_text()


async def accept_headers(ws: WebSocket) -> None:
    await ws.accept(headers={"X-Typedws": "accepted", "Set-Cookie": "session=abc"})
    await ws.send_text("hello")
    await ws.receive_text()


async def close_custom(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive_text()
    await ws.close(4001, "custom reason")


async def reject(ws: WebSocket) -> None:
    await ws.close()


async def deny(ws: WebSocket) -> None:
    await ws.send_denial_response(
        Response(
            "denied by typedws",
            status_code=401,
            headers={"x-denied": "yes"},
            media_type="text/plain",
        )
    )


async def handler_error(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive_text()
    raise RuntimeError("the handler failed on purpose")


async def scope_info(ws: WebSocket) -> None:
    await ws.accept()
    asgi = ws.scope.get("asgi") or {}
    await ws.send_json(
        {
            "spec_version": asgi.get("spec_version", "2.0 (not given)"),
            "extensions": sorted(ws.scope.get("extensions") or {}),
            "path": ws.url.path,
            "query_string": ws.url.query,
        }
    )
    await ws.receive_text()


ROUTES: dict[str, Callable[[WebSocket], Awaitable[None]]] = {
    "/echo/text": echo_text,
    "/echo/bytes": echo_bytes,
    "/echo/json-text": echo_json_text,
    "/echo/json-binary": echo_json_binary,
    "/echo/msgpack": echo_msgpack,
    "/subprotocol": subprotocol,
    "/accept-headers": accept_headers,
    "/close": close_custom,
    "/reject": reject,
    "/deny": deny,
    "/error": handler_error,
    "/info": scope_info,
}


@websocket_app
async def app(ws: WebSocket) -> None:
    route = ROUTES.get(ws["path"])
    if route is None:
        await ws.close()
        return
    await route(ws)
