"""Endpoint: dispatch, the completeness check, hooks, close codes for invalid messages, typed
sends, ``wrap``, and PayloadError.kind/.path; driven through typedws.testing (asyncio and trio).
"""

from __future__ import annotations

import contextlib
import sys
import types
from typing import Any, Literal

import msgspec
import pytest
import uvicorn
from typing_extensions import assert_never

from endpoint_app import Join, Joined, Problem, Said, Say, app, chat, lenient_app
from typedws import (
    Endpoint,
    PayloadError,
    TypedWebSocket,
    WebSocket,
    WebSocketApp,
    WebSocketDisconnect,
    websocket_app,
)
from typedws._typed import close_code_for
from typedws.testing import Closed, Rejected, TypedSession, connect

pytestmark = pytest.mark.anyio

Conn = TypedWebSocket[Join | Say, Joined | Said]


# --- the declaration ---------------------------------------------------------------------------


def test_declaration_is_read_only_and_kept() -> None:
    endpoint = Endpoint(
        "/x", receives=Join | Say, sends=Said, format="json", mode="binary", description="d"
    )
    assert endpoint.path == "/x"
    assert endpoint.receives == Join | Say
    assert endpoint.sends is Said
    assert (endpoint.format, endpoint.mode) == ("json", "binary")
    assert (endpoint.title, endpoint.description) == (None, "d")
    with pytest.raises(AttributeError):
        endpoint.path = "/y"  # type: ignore[misc]
    assert chat.title == "Chat room"


def test_msgpack_travels_in_binary_frames() -> None:
    assert Endpoint("/m", receives=Join, sends=Said, format="msgpack").mode == "binary"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"path": "chat"}, ValueError, "starting with '/'"),
        ({"format": "xml"}, ValueError, "format must be"),
        ({"mode": "frames"}, ValueError, "mode must be"),
        ({"receives": list[int] | set[str]}, TypeError, "more than one array-like"),
    ],
)
def test_constructor_refuses(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    arguments: dict[str, Any] = {"path": "/p", "receives": Join, "sends": Said, **kwargs}
    path = arguments.pop("path")
    with pytest.raises(error, match=match):
        Endpoint(path, **arguments)


def test_untagged_structs_from_a_compiled_module_are_explained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """mypyc drops ``tag=...``: a union of such Structs fails with a message that says why."""
    module = types.ModuleType("user_models")
    module.__file__ = "/site-packages/user_models.cpython-311-x86_64-linux-gnu.so"
    monkeypatch.setitem(sys.modules, "user_models", module)

    class Chat(msgspec.Struct):
        text: str

    class Leave(msgspec.Struct):
        room: str

    for cls in (Chat, Leave):
        cls.__module__ = "user_models"
    with pytest.raises(TypeError, match="compiled with mypyc") as caught:
        Endpoint("/c", receives=Chat | Leave, sends=Said)
    message = str(caught.value)
    assert "Endpoint receives=" in message
    assert "excluded from mypyc compilation" in message
    # The same explanation when a plain WebSocket builds the decoder.
    from typedws._codecs import Codec

    with pytest.raises(TypeError, match="mypyc silently drops class keywords"):
        Codec().json_decoder(Chat | Leave)
    with pytest.raises(TypeError, match="mypyc silently drops class keywords"):
        Codec().msgpack_decoder(Chat | Leave)


def test_untagged_structs_of_an_interpreted_module_keep_msgspecs_message() -> None:
    class Chat(msgspec.Struct):
        text: str

    class Leave(msgspec.Struct):
        room: str

    with pytest.raises(TypeError, match="must be tagged") as caught:
        Endpoint("/c", receives=Chat | Leave, sends=Said)
    assert "mypyc" not in str(caught.value)


# --- registration and the completeness check ---------------------------------------------------


def test_app_names_every_member_without_a_handler() -> None:
    class Leave(msgspec.Struct, tag="leave"):
        pass

    endpoint = Endpoint("/p", receives=Join | Say | Leave, sends=Said)

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Join | Say | Leave, Said], msg: Say) -> None:
        pass

    with pytest.raises(TypeError, match=r"no handler for Join, Leave") as caught:
        endpoint.app()
    assert "Say" not in str(caught.value).split("no handler for")[1]
    assert endpoint.missing() == [Join, Leave]


def test_on_refuses_a_non_member_and_a_second_handler() -> None:
    endpoint = Endpoint("/p", receives=Join | Say, sends=Said)
    with pytest.raises(TypeError, match="Said is not a member of"):
        endpoint.on(Said)

    @endpoint.on(Join)
    async def first(conn: TypedWebSocket[Join | Say, Said], msg: Join) -> None:
        pass

    with pytest.raises(TypeError, match="already has a handler for Join"):
        endpoint.on(Join)


def test_app_is_a_websocket_app_detected_as_asgi3_by_uvicorn() -> None:
    assert isinstance(app, WebSocketApp)
    config = uvicorn.Config(app)
    config.load()
    assert config.interface == "asgi3"


# --- dispatch ----------------------------------------------------------------------------------


async def test_dispatch_by_member_and_returned_replies() -> None:
    async with connect(app, "/chat", endpoint=chat) as client:
        assert isinstance(client, TypedSession)
        await client.send(Join(room="lobby"))
        assert await client.receive() == Joined(room="lobby")
        await client.send(Say(text="hi"))
        assert await client.receive() == Said(text="hi")
        await client.send(Join(room="whoami"))
        assert await client.receive() == Joined(room="")


async def test_on_connect_accepts_with_a_subprotocol() -> None:
    async with connect(app, "/chat", subprotocols=["chat.v1"], endpoint=chat) as client:
        assert client.session.subprotocol == "chat.v1"
        await client.send(Say(text="x"))
        assert await client.receive() == Said(text="x")


async def test_a_handler_that_closes_ends_the_loop_and_the_client_sees_the_code() -> None:
    async with connect(app, "/chat", endpoint=chat) as client:
        await client.send(Say(text="close:4000"))
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
        assert (caught.value.code, caught.value.reason) == (4000, "closed on request")
        assert isinstance(caught.value, Closed)


async def test_async_for_over_the_client_ends_when_the_server_closes() -> None:
    async with connect(app, "/chat", endpoint=chat) as client:
        await client.send(Say(text="one"))
        await client.send(Say(text="close:1000"))
        received = [message async for message in client]
    assert received == [Said(text="one")]


async def test_the_client_refuses_to_send_a_message_the_endpoint_does_not_receive() -> None:
    async with connect(app, "/chat", endpoint=chat) as client:
        with pytest.raises(TypeError, match="Said is not a member of"):
            await client.send(Said(text="x"))  # type: ignore[arg-type]
        await client.send(Say(text="still open"))
        assert await client.receive() == Said(text="still open")


async def test_the_client_raises_payload_error_for_an_invalid_server_message() -> None:
    async with connect(app, "/chat", endpoint=chat) as client:
        await client.send(Say(text='raw:{"type":"said","text":5}'))
        with pytest.raises(PayloadError) as caught:
            await client.receive()
        assert (caught.value.kind, caught.value.path) == ("schema", "$.text")
        await client.send(Say(text="raw:not json"))
        with pytest.raises(PayloadError) as syntax:
            await client.receive()
        assert syntax.value.kind == "syntax"


async def test_a_handler_error_reaches_the_test() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)

    @endpoint.on(Say)
    async def fail(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        raise LookupError(msg.text)

    async def talk() -> None:
        async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
            await client.send(Say(text="boom"))
            await client.receive()

    with pytest.raises(LookupError, match="boom"):
        await talk()


# --- invalid messages: close codes, reasons, on_invalid ------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b'{"type":"say","text":"x"}', 1003),  # wrong frame kind
        ("not json", 1007),  # syntax
        ('{"type":"say"}', 1008),  # schema: a missing field
        ('{"type":"shout","text":"x"}', 1008),  # schema: not a member of receives
    ],
)
async def test_invalid_messages_close_with_the_rfc_code(frame: str | bytes, code: int) -> None:
    disconnects: list[int] = []
    endpoint = Endpoint("/p", receives=Join | Say, sends=Said)

    @endpoint.on(Join)
    async def join(conn: TypedWebSocket[Join | Say, Said], msg: Join) -> None:
        pass

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Join | Say, Said], msg: Say) -> None:
        pass

    @endpoint.on_disconnect
    async def gone(conn: TypedWebSocket[Join | Say, Said], close_code: int) -> None:
        disconnects.append(close_code)

    async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
        if isinstance(frame, bytes):
            await client.session.send_bytes(frame)
        else:
            await client.session.send_text(frame)
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
    assert caught.value.code == code
    assert 0 < len(caught.value.reason.encode("utf-8")) <= 123
    assert disconnects == [code]


async def test_invalid_utf8_in_binary_json_closes_with_1007() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said, mode="binary")

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Say, Said], msg: Say) -> Said:
        return Said(text=msg.text)

    async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
        await client.send(Say(text="ok"))
        assert await client.receive() == Said(text="ok")
        await client.session.send_bytes(b'{"type":"say","text":"\xff"}')
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
    assert caught.value.code == 1007
    assert "UTF-8" in caught.value.reason


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("frame", 1003),
        ("encoding", 1007),
        ("syntax", 1007),
        ("depth", 1007),
        ("schema", 1008),
        ("size", 1009),
    ],
)
def test_close_code_for(kind: Literal["frame"], code: int) -> None:
    assert close_code_for(PayloadError("bad", kind=kind)) == (code, "bad")


def test_close_reason_is_cut_to_123_bytes_on_a_character_boundary() -> None:
    code, reason = close_code_for(PayloadError("é" * 200, kind="schema"))
    assert code == 1008
    assert len(reason.encode("utf-8")) <= 123
    assert reason.endswith("...")
    assert reason.startswith("é" * 50)


async def test_on_invalid_answers_and_the_connection_goes_on() -> None:
    from endpoint_app import lenient

    async with connect(lenient_app, "/lenient", endpoint=lenient) as client:
        await client.session.send_text('{"type":"say","text":1}')
        assert await client.receive() == Problem(kind="schema", path="$.text")
        await client.session.send_bytes(b"{}")
        assert await client.receive() == Problem(kind="frame", path=None)
        await client.session.send_text("{")
        assert await client.receive() == Problem(kind="syntax", path=None)
        await client.send(Join(room="r"))
        assert await client.receive() == Said(text="joined r")


# --- hooks -------------------------------------------------------------------------------------


async def test_on_connect_may_reject_and_handlers_never_run() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)
    ran: list[str] = []

    @endpoint.on_connect
    async def gate(conn: TypedWebSocket[Say, Said]) -> None:
        if conn.ws.query_params.get("token") != "t":
            await conn.ws.close()

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        ran.append(msg.text)

    with pytest.raises(Rejected) as caught:
        async with connect(endpoint.app(), "/p", endpoint=endpoint):
            pass
    assert caught.value.status == 403
    async with connect(endpoint.app(), "/p?token=t", endpoint=endpoint) as client:
        await client.send(Say(text="in"))
    assert ran == ["in"]


async def test_on_disconnect_gets_the_clients_code() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)
    codes: list[int] = []

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        pass

    @endpoint.on_disconnect
    async def gone(conn: TypedWebSocket[Say, Said], code: int) -> None:
        codes.append(code)

    async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
        await client.send(Say(text="x"))
        await client.close(4001)
    assert codes == [4001]


async def test_shutdown_runs_the_hook_then_closes_with_1001() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)
    said: list[str] = []

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        # Stands in for the application's draining, which calls shutdown() per connection.
        await endpoint.shutdown(conn, reason="maintenance")
        await endpoint.shutdown(conn)  # already closed: nothing happens

    @endpoint.on_shutdown
    async def goodbye(conn: TypedWebSocket[Say, Said]) -> None:
        said.append("goodbye")
        await conn.send(Said(text="goodbye"))

    async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
        await client.send(Say(text="x"))
        assert await client.receive() == Said(text="goodbye")
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
    assert (caught.value.code, caught.value.reason) == (1001, "maintenance")
    assert said == ["goodbye"]


# --- TypedWebSocket ------------------------------------------------------------------------------


async def test_typed_send_refuses_a_non_member_before_sending() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)
    errors: list[str] = []

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        try:
            await conn.send(Joined(room="x"))  # type: ignore[arg-type]
        except TypeError as exc:
            errors.append(str(exc))
        await conn.send(Said(text="after"))

    async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
        await client.send(Say(text="x"))
        assert await client.receive() == Said(text="after")
    assert errors == ["cannot send: Joined is not a member of Said"]


async def test_send_of_a_type_form_that_is_not_a_class_validates_by_round_trip() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=list[int])

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Say, list[int]], msg: Say) -> list[int] | None:
        if msg.text == "bad":
            with pytest.raises(TypeError, match="not a member of list"):
                await conn.send(["x"])  # type: ignore[list-item]
            return None
        return [1, 2]

    async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
        await client.send(Say(text="bad"))
        await client.send(Say(text="good"))
        assert await client.receive() == [1, 2]


async def test_wrap_a_plain_handler_with_an_exhaustive_match() -> None:
    @websocket_app
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        conn = chat.wrap(ws)
        assert conn.ws is ws
        assert conn.endpoint is chat
        async for msg in conn:
            match msg:
                case Join(room=room):
                    await conn.send(Joined(room=room))
                case Say(text=text):
                    await conn.send(Said(text=text.upper()))
                case _:
                    assert_never(msg)

    async with connect(handler, "/chat", endpoint=chat) as client:
        await client.send(Say(text="hey"))
        assert await client.receive() == Said(text="HEY")
        await client.send(Join(room="r"))
        assert await client.receive() == Joined(room="r")
        await client.session.send_text("{}")
        with pytest.raises(PayloadError):
            await client.receive()  # the handler raised PayloadError: re-raised in the test


async def test_typed_receive_and_close() -> None:
    @websocket_app
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        conn = chat.wrap(ws)
        message = await conn.receive()
        assert message == Join(room="a")
        await conn.close(4002, "done")

    async with connect(handler, "/chat", endpoint=chat) as client:
        await client.send(Join(room="a"))
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
    assert (caught.value.code, caught.value.reason) == (4002, "done")


async def test_msgpack_endpoint_round_trip() -> None:
    endpoint = Endpoint("/m", receives=Join | Say, sends=Joined | Said, format="msgpack")

    @endpoint.on(Join)
    async def join(conn: TypedWebSocket[Join | Say, Joined | Said], msg: Join) -> Joined:
        return Joined(room=msg.room)

    @endpoint.on(Say)
    async def say(conn: TypedWebSocket[Join | Say, Joined | Said], msg: Say) -> Said:
        return Said(text=msg.text)

    async with connect(endpoint.app(), "/m", endpoint=endpoint) as client:
        await client.send(Join(room="m"))
        assert await client.receive() == Joined(room="m")
        await client.session.send_text("{}")
        with pytest.raises(WebSocketDisconnect) as caught:
            await client.receive()
    assert caught.value.code == 1003


# --- PayloadError.kind and .path on plain WebSocket methods --------------------------------------


class User(msgspec.Struct):
    id: int


class Envelope(msgspec.Struct):
    user: User


async def test_payload_error_kind_and_path_on_websocket_methods() -> None:
    seen: list[tuple[str, str | None]] = []

    @websocket_app
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        for receive in (
            lambda: ws.receive_json(type=Envelope),
            lambda: ws.receive_json(type=Envelope),
            lambda: ws.receive_json(type=Envelope),
            lambda: ws.receive_json(mode="binary"),
            lambda: ws.receive_text(),
            lambda: ws.receive_bytes(),
            lambda: ws.receive_msgpack(type=Envelope),
            lambda: ws.receive_msgpack(type=Envelope),
        ):
            try:
                await receive()
            except PayloadError as exc:
                seen.append((exc.kind, exc.path))
        await ws.send_text("done")

    async with connect(handler) as session:
        await session.send_text('{"user":{"id":"x"}}')
        await session.send_text("{")
        await session.send_bytes(b"{}")
        await session.send_bytes(b'["\xff"]')
        await session.send_bytes(b"x")
        await session.send_text("x")
        await session.send_bytes(msgspec.msgpack.encode({"user": {}}))
        await session.send_bytes(b"\xc1")
        assert await session.receive_text() == "done"
    assert seen == [
        ("schema", "$.user.id"),
        ("syntax", None),
        ("frame", None),
        ("encoding", None),
        ("frame", None),
        ("frame", None),
        ("schema", "$.user"),
        ("syntax", None),
    ]


async def test_payload_error_defaults_keep_old_call_sites_working() -> None:
    error = PayloadError("message", b"frame")
    assert (error.kind, error.path, error.frame) == ("schema", None, b"frame")


async def test_testing_session_receive_errors_have_a_kind() -> None:
    @websocket_app
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_bytes(b"x")
        await ws.send_text("x")
        await ws.receive_text()

    async with connect(handler) as session:
        with pytest.raises(PayloadError) as text:
            await session.receive_text()
        with pytest.raises(PayloadError) as data:
            await session.receive_bytes()
        assert (text.value.kind, data.value.kind) == ("frame", "frame")
        await session.send_text("bye")


async def test_members_that_are_generic_aliases_dispatch_by_their_origin() -> None:
    endpoint = Endpoint("/g", receives=list[int] | dict[str, int], sends=int)

    @endpoint.on(list[int])
    async def total(conn: TypedWebSocket[list[int] | dict[str, int], int], msg: list[int]) -> int:
        return sum(msg)

    @endpoint.on(dict[str, int])
    async def count(
        conn: TypedWebSocket[list[int] | dict[str, int], int], msg: dict[str, int]
    ) -> int:
        return len(msg)

    async with connect(endpoint.app(), "/g", endpoint=endpoint) as client:
        await client.send([1, 2, 3])
        assert await client.receive() == 6
        await client.send({"a": 1, "b": 2})
        assert await client.receive() == 2


async def test_a_value_whose_class_is_not_a_key_finds_the_handler_it_is_an_instance_for() -> None:
    endpoint = Endpoint("/o", receives=object, sends=str)

    @endpoint.on(object)
    async def show(conn: TypedWebSocket[object, str], msg: object) -> str:
        return type(msg).__name__

    async with connect(endpoint.app(), "/o", endpoint=endpoint) as client:
        await client.send({"a": 1})
        assert await client.receive() == "dict"
        await client.send([1])
        assert await client.receive() == "list"


# --- on_disconnect after a handler error -------------------------------------------------------


async def test_on_disconnect_runs_with_1011_when_a_handler_raises() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)
    seen: list[tuple[int, str]] = []

    @endpoint.on(Say)
    async def fail(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        raise LookupError(msg.text)

    @endpoint.on_disconnect
    async def gone(conn: TypedWebSocket[Say, Said], code: int) -> None:
        seen.append((code, conn.ws.application_state.name))

    codes: list[int] = []

    async def talk() -> None:
        async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
            await client.send(Say(text="boom"))
            try:
                await client.receive()
            except WebSocketDisconnect as closed:
                codes.append(closed.code)

    # The test client re-raises the handler's error in the test; the client saw 1011 first.
    with pytest.raises(LookupError, match="boom"):
        await talk()
    assert codes == [1011]
    assert seen == [(1011, "DISCONNECTED")]


async def test_a_failing_on_disconnect_after_a_handler_error_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)

    @endpoint.on(Say)
    async def fail(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        raise LookupError(msg.text)

    @endpoint.on_disconnect
    async def gone(conn: TypedWebSocket[Say, Said], code: int) -> None:
        raise RuntimeError("cleanup failed")

    async def talk() -> None:
        async with connect(endpoint.app(), "/p", endpoint=endpoint) as client:
            await client.send(Say(text="boom"))
            with contextlib.suppress(WebSocketDisconnect):  # 1011
                await client.receive()

    with pytest.raises(LookupError, match="boom"):  # the handler's error, not the hook's
        await talk()
    logged = [r for r in caplog.records if "on_disconnect of /p raised" in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "cleanup failed" in str(logged[0].exc_info[1])


async def test_on_disconnect_after_a_handler_error_behind_websocket_app() -> None:
    endpoint = Endpoint("/p", receives=Say, sends=Said)
    seen: list[int] = []

    @endpoint.on(Say)
    async def fail(conn: TypedWebSocket[Say, Said], msg: Say) -> None:
        await conn.close(4000)  # the handler closed, then failed
        raise LookupError(msg.text)

    @endpoint.on_disconnect
    async def gone(conn: TypedWebSocket[Say, Said], code: int) -> None:
        seen.append(code)

    async def handler(ws: WebSocket) -> None:
        await endpoint.serve(ws)

    codes: list[int] = []

    async def talk() -> None:
        async with connect(websocket_app(handler), "/p", endpoint=endpoint) as client:
            await client.send(Say(text="x"))
            try:
                await client.receive()
            except WebSocketDisconnect as closed:
                codes.append(closed.code)

    with pytest.raises(LookupError):
        await talk()
    assert codes == [4000]
    assert seen == [4000]
