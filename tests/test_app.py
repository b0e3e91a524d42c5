"""websocket_app and Response: scope types, handler failures, denial responses, routers."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
import uvicorn
from lilya.apps import Lilya
from lilya.routing import Include, WebSocketPath
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, WebSocketRoute

from fakes import CONNECT, FakeServer, make_scope, text
from typedws import (
    Codec,
    Response,
    WebSocket,
    WebSocketApp,
    WebSocketDisconnect,
    WebSocketState,
    websocket_app,
)
from typedws.events import Disconnect
from typedws.testing import Rejected, connect
from typedws.types import Message

pytestmark = pytest.mark.anyio


@websocket_app
async def echo_params(ws: WebSocket) -> None:
    """Reports what a router passed in the scope."""
    await ws.accept()
    await ws.send_json(
        {"path": ws["path"], "root_path": ws["root_path"], "path_params": ws.path_params}
    )


async def _call(app: Any, scope: dict[str, Any], inbox: list[Message]) -> list[Message]:
    """Run ``app`` on a non-websocket scope with a scripted receive; return what it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        assert inbox, "the application waited for more events than the test scripted"
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


# --- ASGI 3 detection ------------------------------------------------------------------------


def test_uvicorn_detects_asgi3() -> None:
    """uvicorn's own auto-detection (no --interface) must pick ASGI 3 in both builds."""

    async def handler(ws: WebSocket) -> None:
        await ws.accept()

    config = uvicorn.Config(websocket_app(handler))
    config.load()
    assert config.interface == "asgi3"


def test_websocket_app_keeps_handler_name() -> None:
    async def my_handler(ws: WebSocket) -> None:
        await ws.accept()

    app = websocket_app(my_handler)
    assert isinstance(app, WebSocketApp)
    assert app.handler is my_handler
    assert app.__name__ == "my_handler"
    assert "my_handler" in repr(app)


def test_websocket_app_refuses_non_callable() -> None:
    with pytest.raises(TypeError, match="async function taking a WebSocket, got int"):
        websocket_app(42)  # type: ignore[arg-type]


# --- other scope types -----------------------------------------------------------------------


async def test_http_request_gets_426() -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    sent = await _call(echo_params, scope, [{"type": "http.request", "body": b""}])
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 426
    headers = dict(sent[0]["headers"])
    assert headers[b"upgrade"] == b"websocket"
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert sent[1]["type"] == "http.response.body"
    assert b"WebSocket" in sent[1]["body"]
    assert int(headers[b"content-length"]) == len(sent[1]["body"])


async def test_lifespan_is_acknowledged() -> None:
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    events: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await _call(echo_params, scope, events)
    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


async def test_unknown_scope_type_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot handle scope type 'webtransport'"):
        await _call(echo_params, {"type": "webtransport"}, [])


# --- handler failures (against the scripted fake server, as a real server sees them) --------


async def test_handler_error_after_accept_closes_1011_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        raise LookupError("no such room")

    server = FakeServer([CONNECT, text("hello")])
    with caplog.at_level(logging.ERROR, logger="typedws"):
        await websocket_app(handler)(server.scope, server.receive, server.send)
    assert server.sent[-1] == {"type": "websocket.close", "code": 1011}
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], LookupError)
    assert "handler" in record.getMessage()


async def test_handler_error_before_accept_rejects(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(ws: WebSocket) -> None:
        raise PermissionError("not logged in")

    server = FakeServer([CONNECT])
    with caplog.at_level(logging.ERROR, logger="typedws"):
        await websocket_app(handler)(server.scope, server.receive, server.send)
    # A close before accept rejects the handshake: the server answers 403.
    assert server.sent == [{"type": "websocket.close", "code": 1000}]
    assert any(
        r.exc_info is not None and isinstance(r.exc_info[1], PermissionError)
        for r in caplog.records
    )


async def test_handler_error_during_denial_response_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.send({"type": "websocket.http.response.start", "status": 401, "headers": []})
        raise RuntimeError("half a response")

    scope = make_scope(extensions={"websocket.http.response": {}})
    server = FakeServer([CONNECT], scope=scope)
    app = websocket_app(handler)
    with caplog.at_level(logging.ERROR, logger="typedws"):
        await app(server.scope, server.receive, server.send)
    # Nothing can repair a response cut short; typedws sends nothing more, the server ends it.
    assert [m["type"] for m in server.sent] == ["websocket.http.response.start"]
    assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_client_disconnect_escaping_handler_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        while True:
            await ws.receive_text()

    server = FakeServer([CONNECT, {"type": "websocket.disconnect", "code": 1001}])
    with caplog.at_level(logging.DEBUG, logger="typedws"):
        await websocket_app(handler)(server.scope, server.receive, server.send)
    assert [m["type"] for m in server.sent] == ["websocket.accept"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_handler_error_reraised_by_test_client(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        if await ws.receive_text() == "crash":
            raise ZeroDivisionError("crash requested")

    async def crash() -> None:
        async with connect(websocket_app(handler)) as session:
            await session.send_text("crash")
            await session.receive_text()

    with (
        caplog.at_level(logging.ERROR, logger="typedws"),
        pytest.raises(ZeroDivisionError, match="crash requested"),
    ):
        await crash()
    assert any(r.levelno == logging.ERROR for r in caplog.records)


# --- Response ------------------------------------------------------------------------------


def test_response_defaults() -> None:
    response = Response()
    assert response.status_code == 403
    assert response.body == b""
    assert response.headers == [(b"content-length", b"0")]


def test_response_text_body_and_media_type() -> None:
    response = Response("héllo", status_code=401, media_type="text/plain")
    assert response.body == "héllo".encode()
    assert (b"content-type", b"text/plain; charset=utf-8") in response.headers
    assert (b"content-length", b"6") in response.headers


def test_response_explicit_headers_win() -> None:
    response = Response(
        b"{}",
        headers={"Content-Type": "application/problem+json", "X-Reason": "banned"},
        media_type="application/json",
    )
    assert response.headers == [
        (b"content-type", b"application/problem+json"),
        (b"x-reason", b"banned"),
        (b"content-length", b"2"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"status_code": 99}, ValueError, "status_code must be an int in 100-599, got 99"),
        ({"status_code": "403"}, ValueError, "status_code must be an int"),
        ({"body": 3}, TypeError, "body must be bytes or str, got int"),
        ({"headers": {"x-a": "1\r\nx-b: 2"}}, ValueError, "CR, LF or NUL"),
        ({"headers": {"bad name": "1"}}, ValueError, "not a valid HTTP token"),
    ],
)
def test_response_refuses_bad_input(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Response(**kwargs)


async def test_response_answers_plain_http() -> None:
    sent = await _call(Response(b"hi", 200), {"type": "http"}, [])
    assert sent == [
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]},
        {"type": "http.response.body", "body": b"hi", "more_body": False},
    ]


# --- denial responses ----------------------------------------------------------------------


async def test_denial_response_with_typedws_response() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.send_denial_response(
            Response("invalid token", 401, headers={"www-authenticate": "Bearer"})
        )
        assert ws.application_state is WebSocketState.DISCONNECTED

    with pytest.raises(Rejected) as caught:
        async with connect(app):
            pass
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"] == "Bearer"
    assert caught.value.body == b"invalid token"


async def test_denial_response_with_starlette_response() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.send_denial_response(PlainTextResponse("teapot", status_code=418))

    with pytest.raises(Rejected) as caught:
        async with connect(app):
            pass
    assert caught.value.status_code == 418
    assert caught.value.headers["content-type"].startswith("text/plain")
    assert caught.value.body == b"teapot"


async def test_denial_response_needs_server_extension() -> None:
    seen: list[BaseException] = []

    @websocket_app
    async def app(ws: WebSocket) -> None:
        try:
            await ws.send_denial_response(Response())
        except RuntimeError as exc:
            seen.append(exc)
            await ws.close()

    with pytest.raises(Rejected):
        async with connect(app, denial_response=False):
            pass
    assert "websocket.http.response" in str(seen[0])


# --- routers -------------------------------------------------------------------------------


async def test_starlette_websocket_route_passes_path_params() -> None:
    router = Starlette(routes=[WebSocketRoute("/rooms/{room}", endpoint=echo_params)])
    async with connect(router, "/rooms/lobby") as session:
        seen = await session.receive_json()
    assert seen["path_params"] == {"room": "lobby"}
    assert seen["path"] == "/rooms/lobby"


async def test_starlette_mount_passes_path_params() -> None:
    router = Starlette(routes=[Mount("/teams/{team}", app=echo_params)])
    async with connect(router, "/teams/blue/chat") as session:
        seen = await session.receive_json()
    assert seen["path_params"] == {"team": "blue"}
    assert seen["root_path"].endswith("/teams/blue")


async def test_lilya_routes_pass_path_params() -> None:
    router = Lilya(
        routes=[
            WebSocketPath("/rooms/{room}", handler=echo_params),
            Include("/teams/{team}", app=echo_params),
        ]
    )
    async with connect(router, "/rooms/lobby") as session:
        seen = await session.receive_json()
    assert seen["path_params"] == {"room": "lobby"}
    async with connect(router, "/teams/red/x") as session:
        seen = await session.receive_json()
    assert seen["path_params"] == {"team": "red"}


async def test_handler_sees_disconnect_code_after_router() -> None:
    codes: list[int | None] = []

    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.receive_text()
        except WebSocketDisconnect:
            codes.append(ws.close_code)

    router = Starlette(routes=[WebSocketRoute("/x", endpoint=app)])
    async with connect(router, "/x") as session:
        await session.close(4000, "bye")
    assert codes == [4000]


# --- a broadcast: another task's send finds the peer gone ------------------------------------


@pytest.mark.parametrize("raw", [False, True])
async def test_waiting_receive_takes_disconnect_after_another_tasks_send_failed(
    raw: bool,
) -> None:
    """A hub sends to this connection from another task and the server's send raises OSError
    (the peer is gone); the server's own websocket.disconnect then reaches the receive that was
    already waiting. It must end the loop like any disconnect, not be a ProtocolError."""
    release = anyio.Event()
    script: list[Message] = [CONNECT]

    async def receive() -> Message:
        if script:
            return script.pop(0)
        await release.wait()
        return {"type": "websocket.disconnect", "code": 1012}

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            raise ConnectionResetError("peer gone")

    ws = WebSocket(make_scope(), receive, send)
    await ws.accept()
    seen: list[object] = []

    async def reader() -> None:
        if raw:
            seen.append(await ws.receive_event())
            return
        try:
            await ws.receive_text()
        except WebSocketDisconnect as exc:
            seen.append(exc.code)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(WebSocketDisconnect) as lost:
            await ws.send_text("broadcast")
        assert lost.value.code == 1006
        release.set()
    assert seen == [Disconnect(code=1012, reason="")] if raw else [1012]
    assert ws.client_state is WebSocketState.DISCONNECTED


async def test_websocket_app_gives_every_connection_its_codec() -> None:
    from decimal import Decimal

    def enc_hook(obj: Any) -> Any:
        if isinstance(obj, complex):
            return [obj.real, obj.imag]
        raise NotImplementedError

    codec = Codec(enc_hook=enc_hook)
    seen: list[Codec] = []

    @websocket_app
    async def plain(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json(Decimal("1.5"))

    async def with_hooks(ws: WebSocket) -> None:
        seen.append(ws.codec)
        await ws.accept()
        await ws.send_json(1 + 2j)

    async with connect(websocket_app(with_hooks, codec=codec)) as session:
        assert await session.receive_json() == [1.0, 2.0]
    assert seen == [codec]
    async with connect(plain) as session:
        assert await session.receive_json() == "1.5"
