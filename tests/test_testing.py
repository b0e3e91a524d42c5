"""typedws.testing: the in-memory client, against typedws apps and raw ASGI apps."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from starlette.websockets import WebSocket as StarletteWebSocket

from typedws import (
    PayloadError,
    ProtocolError,
    WebSocket,
    WebSocketDisconnect,
    WebSocketStateError,
    websocket_app,
)
from typedws.events import Disconnect
from typedws.testing import ClientDisconnected, Closed, Rejected, Session, connect
from typedws.types import Message, Scope, Send
from typedws.types import Receive as ReceiveCallable

pytestmark = pytest.mark.anyio


class Point(msgspec.Struct):
    x: int
    y: int


@websocket_app
async def echo(ws: WebSocket) -> None:
    """Echoes each frame back as it came; the first text decides the kind of what follows."""
    await ws.accept()
    while True:
        # Written as for Starlette's or Lilya's raw receive(): the ASGI dict, narrowed on "type".
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        assert message["type"] == "websocket.receive"
        text = message.get("text")
        if text is not None:
            await ws.send_text(text)
        else:
            data = message.get("bytes")
            if data is not None:
                await ws.send_bytes(data)


async def test_echo_text_and_bytes() -> None:
    async with connect(echo) as session:
        assert isinstance(session, Session)
        await session.send_text("héllo")
        assert await session.receive_text() == "héllo"
        await session.send_bytes(b"\x00\xff")
        assert await session.receive_bytes() == b"\x00\xff"
        await session.send_bytes(bytearray(b"ab"))
        assert await session.receive_bytes() == b"ab"


async def test_echo_json_both_modes_and_typed() -> None:
    async with connect(echo) as session:
        await session.send_json(Point(1, 2))
        assert await session.receive_json(type=Point) == Point(1, 2)
        await session.send_json({"x": 3, "y": 4}, mode="binary")
        assert await session.receive_json(mode="binary") == {"x": 3, "y": 4}


async def test_echo_msgpack() -> None:
    async with connect(echo) as session:
        await session.send_msgpack(Point(5, 6))
        assert await session.receive_msgpack(type=Point) == Point(5, 6)
        await session.send_msgpack([1, "a"])
        assert await session.receive_msgpack() == [1, "a"]


async def test_wrong_frame_kind_and_bad_payload() -> None:
    async with connect(echo) as session:
        await session.send_text("text")
        with pytest.raises(PayloadError, match="expected a binary frame, got a text frame"):
            await session.receive_bytes()
        await session.send_bytes(b"raw")
        with pytest.raises(PayloadError, match="expected a text frame"):
            await session.receive_text()
        await session.send_json({"x": "one", "y": 2})
        with pytest.raises(PayloadError, match=r"\$\.x"):
            await session.receive_json(type=Point)


async def test_client_refuses_bad_arguments() -> None:
    async with connect(echo) as session:
        with pytest.raises(TypeError, match="send_text\\(\\) takes str, got bytes"):
            await session.send_text(b"x")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="send_bytes\\(\\) takes bytes"):
            await session.send_bytes("x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="mode must be 'text' or 'binary'"):
            await session.send_json(1, mode="yaml")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="1005"):
            await session.close(1005)


async def test_scope_from_arguments() -> None:
    seen: list[Scope] = []

    @websocket_app
    async def app(ws: WebSocket) -> None:
        seen.append(ws.scope)
        await ws.accept(subprotocol="v2", headers={"x-server": "typedws"})

    async with connect(
        app,
        "/rooms/1?lang=en",
        headers={"Authorization": "Bearer abc", "Cookie": "a=b"},
        subprotocols=["v1", "v2"],
    ) as session:
        assert session.subprotocol == "v2"
        assert session.accept_headers["X-Server"] == "typedws"
    scope = seen[0]
    assert scope["path"] == "/rooms/1"
    assert scope["query_string"] == b"lang=en"
    assert scope["subprotocols"] == ["v1", "v2"]
    headers = dict(scope["headers"])
    assert headers[b"authorization"] == b"Bearer abc"
    assert headers[b"sec-websocket-protocol"] == b"v1, v2"
    assert headers[b"host"] == b"testserver"
    assert scope["asgi"]["spec_version"] == "2.4"
    assert "websocket.http.response" in scope["extensions"]


async def test_query_string_argument() -> None:
    seen: list[bytes] = []

    @websocket_app
    async def app(ws: WebSocket) -> None:
        seen.append(ws["query_string"])
        await ws.accept()

    async with connect(app, query_string="a=1&a=2"):
        pass
    assert seen == [b"a=1&a=2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "rooms"}, "path must be a str starting with '/'"),
        ({"path": "/x?a=1", "query_string": b"b=2"}, "either in path"),
        ({"subprotocols": ["a,b"]}, "without commas"),
        ({"headers": {"x": "a\nb"}}, "CR, LF or NUL"),
    ],
)
async def test_connect_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        async with connect(echo, **kwargs):
            pass


async def test_connect_refuses_non_app() -> None:
    with pytest.raises(TypeError, match="needs an ASGI application, got str"):
        async with connect("app"):  # type: ignore[call-overload]
            pass


# --- rejection -----------------------------------------------------------------------------


async def test_close_before_accept_is_rejected_403() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.close()

    with pytest.raises(Rejected, match="HTTP 403") as caught:
        async with connect(app):
            pytest.fail("the handshake should have been rejected")
    assert caught.value.status == caught.value.status_code == 403
    assert caught.value.body == b""
    assert len(caught.value.headers) == 0


async def test_returning_without_accept_is_rejected() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        return None

    with pytest.raises(Rejected):
        async with connect(app):
            pass


async def test_denial_response_in_chunks() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        await send({"type": "websocket.http.response.start", "status": 409, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"con", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"flict"})

    with pytest.raises(Rejected) as caught:
        async with connect(app):
            pass
    assert (caught.value.status, caught.value.body) == (409, b"conflict")


# --- closing -------------------------------------------------------------------------------


async def test_app_close_with_code_and_reason() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("bye soon")
        await ws.close(4001, "room closed")
        # After its close the application is told the connection ended (ASGI spec).
        assert isinstance(await ws.receive_event(), Disconnect)

    async with connect(app) as session:
        assert await session.receive_text() == "bye soon"
        with pytest.raises(Closed) as caught:
            await session.receive_text()
        assert (caught.value.code, caught.value.reason) == (4001, "room closed")
        assert isinstance(caught.value, WebSocketDisconnect)
        assert "4001" in str(caught.value)
        assert (session.close_code, session.close_reason) == (4001, "room closed")
        with pytest.raises(Closed):
            await session.send_text("anyone?")


async def test_app_returning_closes_with_1000() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.accept()

    async with connect(app) as session:
        with pytest.raises(Closed) as caught:
            await session.receive()
        assert caught.value.code == 1000


async def test_client_close_reaches_app() -> None:
    seen: list[tuple[int | None, str | None]] = []

    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.accept()
        async for _ in ws.iter_text():
            pass
        seen.append((ws.close_code, ws.close_reason))

    async with connect(app) as session:
        await session.close(4100, "done here")
        await session.close(4100)  # a second close does nothing
        with pytest.raises(WebSocketStateError, match="already closed"):
            await session.send_text("late")
        with pytest.raises(WebSocketStateError, match="already closed"):
            await session.receive()
    assert seen == [(4100, "done here")]


async def test_leaving_the_block_disconnects_with_1000() -> None:
    seen: list[int | None] = []

    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.accept()
        async for _ in ws.iter_bytes():
            pass
        seen.append(ws.close_code)

    async with connect(app):
        pass
    assert seen == [1000]


# --- exceptions and timeouts ---------------------------------------------------------------


async def test_raw_app_exception_at_handshake_is_reraised() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        raise KeyError("missing setting")

    with pytest.raises(KeyError, match="missing setting"):
        async with connect(app):
            pass


async def test_app_exception_after_client_left_is_reraised_on_exit() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.accept()
        async for _ in ws.iter_text():
            pass
        raise ArithmeticError("cleanup failed")

    with pytest.raises(ArithmeticError, match="cleanup failed"):
        async with connect(app):
            pass


async def test_exception_in_test_body_is_not_wrapped() -> None:
    with pytest.raises(LookupError, match="from the test"):
        async with connect(echo):
            raise LookupError("from the test")


async def test_timeout_waiting_for_handshake() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        await receive()
        await receive()  # never accepts: waits for an event that will not come

    with pytest.raises(TimeoutError, match=r"accept or reject.*within 0\.05 s"):
        async with connect(app, timeout=0.05):
            pass


async def test_timeout_waiting_for_message() -> None:
    @websocket_app
    async def app(ws: WebSocket) -> None:
        await ws.accept()
        async for _ in ws.iter_text():
            pass

    async with connect(app, timeout=0.05) as session:
        with pytest.raises(TimeoutError, match="waiting for a message"):
            await session.receive_text()


async def test_timeout_when_app_ignores_disconnect() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await receive()  # the disconnect
        await receive()  # and then waits for ever

    with pytest.raises(TimeoutError, match=r"did not return within 0\.05 s"):
        async with connect(app, timeout=0.05):
            pass


async def test_malformed_event_from_raw_app() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        await send({"type": "websocket.accept", "subprotocol": 1})

    with pytest.raises(ProtocolError, match="subprotocol"):
        async with connect(app):
            pass


async def test_out_of_order_event_from_raw_app() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        await send({"type": "websocket.send", "text": "too early"})

    with pytest.raises(ProtocolError, match=r"'websocket\.send' before the handshake completed"):
        async with connect(app):
            pass


async def test_http_event_names_are_refused_like_a_server_would() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        await send({"type": "http.response.start", "status": 403, "headers": []})

    with pytest.raises(ProtocolError, match=r"http\.response\.start"):
        async with connect(app):
            pass


async def test_send_after_client_left_raises_oserror_in_app() -> None:
    errors: list[BaseException] = []

    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        message: Message = await receive()
        assert message["type"] == "websocket.disconnect"
        try:
            await send({"type": "websocket.send", "text": "anyone?"})
        except OSError as exc:
            errors.append(exc)

    async with connect(app):
        pass
    assert isinstance(errors[0], ClientDisconnected)


# --- other frameworks' apps ----------------------------------------------------------------


async def test_starlette_websocket_app() -> None:
    async def app(scope: Scope, receive: ReceiveCallable, send: Send) -> None:
        websocket = StarletteWebSocket(scope, receive, send)
        await websocket.accept(subprotocol="chat")
        name = await websocket.receive_text()
        await websocket.send_json({"hello": name})
        await websocket.close(4002)

    async with connect(app, subprotocols=["chat"]) as session:
        assert session.subprotocol == "chat"
        await session.send_text("ada")
        assert await session.receive_json() == {"hello": "ada"}
        with pytest.raises(Closed) as caught:
            await session.receive_json()
        assert caught.value.code == 4002


# --- the README's example ------------------------------------------------------------------


async def test_readme_testing_example_runs() -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    (block,) = [block for block in blocks if "async def shout(" in block]
    namespace: dict[str, Any] = {}
    exec(compile(block, str(readme), "exec"), namespace)
    await namespace["test_shout"]()
