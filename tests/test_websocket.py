"""The WebSocket against a scripted in-memory server: every method, state and error."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

import pytest

import typedws
from fakes import CONNECT, FakeServer, accepted, binary, disconnect, make_scope, text
from typedws import (
    ProtocolError,
    WebSocket,
    WebSocketDisconnect,
    WebSocketState,
    WebSocketStateError,
)
from typedws.events import Close, Connect, Disconnect, Receive, ResponseBody, ResponseStart, Send

pytestmark = pytest.mark.anyio


def test_build_flavour_is_the_expected_one() -> None:
    expected = os.environ.get("TYPEDWS_EXPECT_COMPILED")
    if expected is None:
        pytest.skip("TYPEDWS_EXPECT_COMPILED is not set (set by the nox test sessions)")
    assert typedws.COMPILED is (expected == "1")


# --- construction and the mapping view --------------------------------------------------------


def test_scope_must_be_a_websocket_scope() -> None:
    server = FakeServer()
    with pytest.raises(ValueError, match="got scope type 'http'"):
        WebSocket({"type": "http"}, server.receive, server.send)


def test_read_only_mapping_over_the_scope() -> None:
    ws = FakeServer().websocket()
    assert isinstance(ws, Mapping)
    assert ws["path"] == "/"
    assert "path" in ws
    assert len(ws) == len(ws.scope)
    assert set(ws) == set(ws.scope)
    assert ws.get("missing") is None
    assert not hasattr(ws, "__setitem__")
    # A connection is equal only to itself and stays hashable (usable in sets of connections).
    other = FakeServer().websocket()
    assert ws != other
    assert len({ws, other}) == 2
    assert "WebSocket path='/'" in repr(ws)


def test_initial_states() -> None:
    ws = FakeServer().websocket()
    assert ws.client_state is WebSocketState.CONNECTING
    assert ws.application_state is WebSocketState.CONNECTING
    assert ws.close_code is None
    assert ws.close_reason is None


# --- accept ------------------------------------------------------------------------------------


async def test_accept_waits_for_connect_then_accepts() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    await ws.accept()
    assert server.sent == [{"type": "websocket.accept", "subprotocol": None}]
    assert ws.client_state is WebSocketState.CONNECTED
    assert ws.application_state is WebSocketState.CONNECTED


async def test_accept_after_a_raw_connect_does_not_wait_again() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    assert await ws.receive_event() == Connect()
    await ws.accept()
    assert server.sent[0]["type"] == "websocket.accept"


async def test_accept_with_subprotocol_and_headers() -> None:
    server = FakeServer([CONNECT], make_scope(subprotocols=["chat", "json"]))
    ws = server.websocket()
    await ws.accept(subprotocol="json", headers={"X-Server": "typedws"})
    assert server.sent == [
        {
            "type": "websocket.accept",
            "subprotocol": "json",
            "headers": [(b"x-server", b"typedws")],
        }
    ]


async def test_accept_refuses_an_unoffered_subprotocol_before_anything() -> None:
    server = FakeServer([CONNECT], make_scope(subprotocols=["chat"]))
    ws = server.websocket()
    with pytest.raises(ValueError, match="'json' was not offered by the client"):
        await ws.accept(subprotocol="json")
    assert server.sent == []
    assert ws.application_state is WebSocketState.CONNECTING


@pytest.mark.parametrize(
    "headers",
    [
        [("x-a", "1\r\nSet-Cookie: x=1")],
        [(b"x-a", b"\x00")],
        {"sec-websocket-protocol": "chat"},
        [("bad name", "1")],
    ],
)
async def test_accept_refuses_bad_headers(headers: Any) -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    with pytest.raises(ValueError, match=r"header|subprotocol="):
        await ws.accept(headers=headers)
    assert server.sent == []


async def test_accept_twice_is_a_state_error() -> None:
    ws = await accepted(FakeServer())
    with pytest.raises(WebSocketStateError, match="application side is CONNECTED"):
        await ws.accept()


async def test_accept_when_the_client_left_before_the_handshake() -> None:
    server = FakeServer([disconnect(1001)])
    ws = server.websocket()
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.accept()
    assert info.value.code == 1001
    assert server.sent == []
    assert ws.client_state is WebSocketState.DISCONNECTED


async def test_accept_when_the_server_sends_data_before_connect() -> None:
    server = FakeServer([text("early")])
    with pytest.raises(ProtocolError, match=r"'websocket\.receive'"):
        await server.websocket().accept()
    assert server.sent == []


async def test_accept_headers_left_out_for_a_spec_2_0_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from typedws import _connection

    _connection._downgrade_logged.clear()
    server = FakeServer([CONNECT], make_scope(spec_version="2.0"))
    ws = server.websocket()
    with caplog.at_level(logging.WARNING, logger="typedws"):
        await ws.accept(headers=[("x-a", "1")])
    assert server.sent == [{"type": "websocket.accept", "subprotocol": None}]
    assert "accept headers needs 2.1" in caplog.text


@pytest.mark.parametrize("asgi", [None, {"version": "3.0"}, {"version": "3.0", "spec_version": 5}])
async def test_every_field_goes_to_a_server_that_declares_no_spec_version(
    asgi: dict[str, object] | None, caplog: pytest.LogCaptureFixture
) -> None:
    """Starlette's TestClient builds its scope with no "asgi" key at all; daphne gives no
    spec_version. Nothing is left out for them (Starlette and Lilya send everything too)."""
    from typedws import _connection

    _connection._downgrade_logged.clear()
    scope = dict(make_scope())
    if asgi is None:
        del scope["asgi"]
    else:
        scope["asgi"] = asgi
    server = FakeServer([CONNECT], scope)
    ws = server.websocket()
    with caplog.at_level(logging.WARNING, logger="typedws"):
        await ws.accept(headers=[("x-a", "1")])
        await ws.close(4000, "bye")
    assert server.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": [(b"x-a", b"1")]},
        {"type": "websocket.close", "code": 4000, "reason": "bye"},
    ]
    assert ws.spec_version == (2, 0)  # the ASGI default, reported as such
    assert caplog.text == ""
    raw_server = FakeServer([CONNECT], scope)
    raw = raw_server.websocket()
    await raw.receive()
    await raw.send({"type": "websocket.accept", "headers": [(b"x-b", b"2")]})
    await raw.send({"type": "websocket.close", "code": 4001, "reason": "raw"})
    assert raw_server.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": [(b"x-b", b"2")]},
        {"type": "websocket.close", "code": 4001, "reason": "raw"},
    ]


# --- sending -------------------------------------------------------------------------------------


async def test_send_text_bytes_json_and_msgpack() -> None:
    server = FakeServer()
    ws = await accepted(server)
    await ws.send_text("héllo")
    await ws.send_bytes(b"\x00\x01")
    await ws.send_bytes(bytearray(b"ba"))
    await ws.send_bytes(memoryview(b"mv"))
    await ws.send_json({"a": [1, "é"]})
    await ws.send_json({"a": 1}, mode="binary")
    await ws.send_msgpack({"a": 1})
    assert server.sent[1:] == [
        {"type": "websocket.send", "text": "héllo"},
        {"type": "websocket.send", "bytes": b"\x00\x01"},
        {"type": "websocket.send", "bytes": b"ba"},
        {"type": "websocket.send", "bytes": b"mv"},
        {"type": "websocket.send", "text": '{"a":[1,"é"]}'},
        {"type": "websocket.send", "bytes": b'{"a":1}'},
        {"type": "websocket.send", "bytes": b"\x81\xa1a\x01"},
    ]


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [
        ("send_text", b"x", "send_text() takes str, got bytes"),
        ("send_text", 5, "send_text() takes str, got int"),
        ("send_bytes", "x", "send_bytes() takes bytes, bytearray or memoryview, got str"),
        ("send_bytes", None, "got NoneType"),
    ],
)
async def test_send_of_the_wrong_type_names_method_and_type(
    method: str, value: object, expected: str
) -> None:
    server = FakeServer()
    ws = await accepted(server)
    with pytest.raises(TypeError) as info:
        await getattr(ws, method)(value)
    assert expected in str(info.value)
    assert len(server.sent) == 1  # only the accept


async def test_send_json_unknown_mode_and_unencodable_object() -> None:
    server = FakeServer()
    ws = await accepted(server)
    with pytest.raises(ValueError, match="mode must be 'text' or 'binary', got 'hex'"):
        await ws.send_json({}, mode="hex")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="object"):
        await ws.send_json(object())
    assert len(server.sent) == 1


@pytest.mark.parametrize("method", ["send_text", "send_bytes", "send_json", "send_msgpack"])
async def test_send_before_accept_is_a_state_error(method: str) -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    value: object = "x" if method != "send_bytes" else b"x"
    with pytest.raises(WebSocketStateError, match=r"call accept\(\) first"):
        await getattr(ws, method)(value)
    assert server.sent == []


async def test_send_after_close_is_a_state_error() -> None:
    server = FakeServer()
    ws = await accepted(server)
    await ws.close()
    with pytest.raises(WebSocketStateError, match="already closed"):
        await ws.send_text("late")


async def test_send_after_the_client_disconnected_raises_its_disconnect() -> None:
    server = FakeServer([disconnect(4001, "gone")])
    ws = await accepted(server)
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_text()
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.send_text("late")
    assert (info.value.code, info.value.reason) == (4001, "gone")


async def test_oserror_from_the_server_becomes_disconnect_1006() -> None:
    server = FakeServer()
    ws = await accepted(server)
    server.send_error = ConnectionResetError("peer reset")
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.send_text("x")
    assert info.value.code == 1006
    assert ws.client_state is WebSocketState.DISCONNECTED
    assert ws.application_state is WebSocketState.DISCONNECTED
    assert ws.close_code == 1006
    await ws.close()  # a no-op now


async def test_oserror_during_accept_becomes_disconnect_1006() -> None:
    server = FakeServer([CONNECT])
    server.send_error = BrokenPipeError()
    with pytest.raises(WebSocketDisconnect) as info:
        await server.websocket().accept()
    assert info.value.code == 1006


# --- receiving -----------------------------------------------------------------------------------


async def test_receive_text_bytes_json() -> None:
    server = FakeServer(
        [text("a"), binary(b"b"), text('{"x": 1}'), binary(b"[1,2]"), text("after")]
    )
    ws = await accepted(server)
    assert await ws.receive_text() == "a"
    assert await ws.receive_bytes() == b"b"
    assert await ws.receive_json() == {"x": 1}
    assert await ws.receive_json(mode="binary") == [1, 2]
    assert await ws.receive_text() == "after"


async def test_receive_the_wrong_frame_kind_is_a_payload_error_and_consumed() -> None:
    server = FakeServer([binary(b"b"), text("t"), binary(b"{}"), text("{}"), text("ok")])
    ws = await accepted(server)
    with pytest.raises(typedws.PayloadError, match="expected a text frame") as info:
        await ws.receive_text()
    assert info.value.frame == b"b"
    with pytest.raises(typedws.PayloadError, match="expected a binary frame"):
        await ws.receive_bytes()
    with pytest.raises(typedws.PayloadError, match="use mode='binary'"):
        await ws.receive_json()
    with pytest.raises(typedws.PayloadError, match="use mode='text'"):
        await ws.receive_json(mode="binary")
    assert await ws.receive_text() == "ok"
    assert ws.client_state is WebSocketState.CONNECTED


async def test_receive_bad_json() -> None:
    server = FakeServer([text("{nope"), binary(b'"\xff"'), text("1")])
    ws = await accepted(server)
    with pytest.raises(typedws.PayloadError, match="not valid JSON"):
        await ws.receive_json()
    with pytest.raises(typedws.PayloadError, match="not valid UTF-8"):
        await ws.receive_json(mode="binary")
    assert await ws.receive_json() == 1


async def test_receive_before_accept_is_a_state_error() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    with pytest.raises(WebSocketStateError, match=r"call accept\(\) first"):
        await ws.receive_text()
    with pytest.raises(ValueError, match="mode must be"):
        await ws.receive_json(mode="hex")  # type: ignore[call-overload]


async def test_disconnect_while_receiving() -> None:
    server = FakeServer([disconnect(1001, "going away")])
    ws = await accepted(server)
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.receive_json()
    assert (info.value.code, info.value.reason) == (1001, "going away")
    assert "1001" in str(info.value)
    assert ws.client_state is WebSocketState.DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (1001, "going away")
    with pytest.raises(WebSocketStateError, match="client already disconnected"):
        await ws.receive_text()
    with pytest.raises(WebSocketStateError, match="client already disconnected"):
        await ws.receive()


async def test_disconnect_without_code_or_reason_uses_spec_defaults() -> None:
    server = FakeServer([{"type": "websocket.disconnect"}])
    ws = await accepted(server)
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.receive_bytes()
    assert (info.value.code, info.value.reason) == (1005, "")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"type": "websocket.receive", "text": 3}, "field 'text' must be str"),
        ({"type": "websocket.receive"}, "neither 'bytes' nor 'text'"),
        ({"type": "websocket.connect"}, "'websocket.connect' while the client side is CONNECTED"),
        ({"type": "websocket.disconnect", "code": None}, "field 'code' must be int"),
        ({"type": "lifespan.startup"}, "not a websocket event"),
        ("text", "where an ASGI event dict"),
    ],
)
async def test_malformed_or_out_of_order_server_events(event: object, expected: str) -> None:
    server = FakeServer([event, text("still fine")])
    ws = await accepted(server)
    with pytest.raises(ProtocolError) as info:
        await ws.receive_text()
    assert expected in str(info.value)
    # The bad event is rejected as a whole; the connection carries on.
    assert ws.client_state is WebSocketState.CONNECTED
    assert await ws.receive_text() == "still fine"


# --- iterators -----------------------------------------------------------------------------------


async def test_iterators_end_cleanly_on_disconnect_and_keep_the_code() -> None:
    server = FakeServer([text("a"), text("b"), disconnect(1000, "done")])
    ws = await accepted(server)
    assert [m async for m in ws.iter_text()] == ["a", "b"]
    assert (ws.close_code, ws.close_reason) == (1000, "done")
    # Iterating again after the end yields nothing rather than raising.
    assert [m async for m in ws.iter_text()] == []

    server = FakeServer([binary(b"a"), disconnect(1001)])
    ws = await accepted(server)
    assert [m async for m in ws.iter_bytes()] == [b"a"]
    assert ws.close_code == 1001

    server = FakeServer([text("1"), text('"x"'), disconnect()])
    ws = await accepted(server)
    assert [m async for m in ws.iter_json()] == [1, "x"]

    server = FakeServer([binary(b"[1]"), disconnect()])
    ws = await accepted(server)
    assert [m async for m in ws.iter_json(mode="binary")] == [[1]]

    server = FakeServer([binary(b"\x01"), disconnect()])
    ws = await accepted(server)
    assert [m async for m in ws.iter_msgpack()] == [1]


async def test_iterators_reraise_payload_errors() -> None:
    server = FakeServer([text("{bad"), text("2"), disconnect()])
    ws = await accepted(server)
    iterator = ws.iter_json()
    with pytest.raises(typedws.PayloadError):
        await iterator.__anext__()
    assert [m async for m in iterator] == [2]


def test_iter_json_refuses_an_unknown_mode() -> None:
    ws = FakeServer().websocket()
    with pytest.raises(ValueError, match="mode must be"):
        ws.iter_json(mode="hex")  # type: ignore[call-overload]


# --- close ----------------------------------------------------------------------------------------


async def test_close_after_accept() -> None:
    server = FakeServer()
    ws = await accepted(server)
    await ws.close(4000, "bye")
    assert server.sent[-1] == {"type": "websocket.close", "code": 4000, "reason": "bye"}
    assert ws.application_state is WebSocketState.DISCONNECTED
    assert (ws.close_code, ws.close_reason) == (4000, "bye")
    await ws.close()  # second close: no-op
    assert len(server.sent) == 2


async def test_close_before_accept_rejects_the_handshake() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    await ws.close()
    assert server.sent == [{"type": "websocket.close", "code": 1000}]
    assert ws.application_state is WebSocketState.DISCONNECTED
    with pytest.raises(WebSocketStateError):
        await ws.accept()


async def test_close_after_the_client_disconnected_is_a_no_op() -> None:
    server = FakeServer([disconnect(1001)])
    ws = await accepted(server)
    assert [m async for m in ws.iter_text()] == []
    await ws.close(4000)
    assert len(server.sent) == 1
    assert ws.close_code == 1001


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (1005, None, "close code 1005 may not be sent"),
        (1006, None, "close code 1006"),
        (999, None, "RFC 6455 section 7.4"),
        (5000, None, "RFC 6455 section 7.4"),
        (1000, "x" * 124, "at most 123"),
        (1000, "€" * 42, "126 bytes"),
    ],
)
async def test_close_refuses_bad_codes_and_reasons(
    code: int, reason: str | None, expected: str
) -> None:
    server = FakeServer()
    ws = await accepted(server)
    with pytest.raises(ValueError, match=re.escape(expected)):
        await ws.close(code, reason)
    assert len(server.sent) == 1
    assert ws.application_state is WebSocketState.CONNECTED


async def test_close_reason_left_out_for_a_spec_2_2_server() -> None:
    server = FakeServer([], make_scope(spec_version="2.2"))
    ws = await accepted(server)
    await ws.close(1000, "bye")
    assert server.sent[-1] == {"type": "websocket.close", "code": 1000}


async def test_close_when_the_transport_is_gone_is_quiet() -> None:
    server = FakeServer()
    ws = await accepted(server)
    server.send_error = ConnectionResetError()
    await ws.close()
    assert ws.client_state is WebSocketState.DISCONNECTED


async def test_receive_after_own_close_still_gets_the_disconnect() -> None:
    server = FakeServer([text("in flight"), disconnect(1000)])
    ws = await accepted(server)
    await ws.close()
    assert await ws.receive_text() == "in flight"
    with pytest.raises(WebSocketDisconnect):
        await ws.receive_text()


# --- raw send / receive ---------------------------------------------------------------------------


async def test_raw_receive_returns_typed_events() -> None:
    server = FakeServer([CONNECT, text("t"), binary(b"b"), disconnect(1000, "r")])
    ws = server.websocket()
    assert await ws.receive_event() == Connect()
    await ws.send({"type": "websocket.accept"})
    assert await ws.receive_event() == Receive(text="t")
    assert await ws.receive() == {"type": "websocket.receive", "bytes": b"b", "text": None}
    assert await ws.receive_event() == Disconnect(code=1000, reason="r")
    assert ws.client_state is WebSocketState.DISCONNECTED


async def test_raw_receive_data_before_accept_is_a_protocol_error() -> None:
    server = FakeServer([CONNECT, text("early")])
    ws = server.websocket()
    await ws.receive()
    with pytest.raises(ProtocolError, match="before the application accepted"):
        await ws.receive()


async def test_raw_send_structs_and_dicts() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    await ws.receive()
    await ws.send({"type": "websocket.accept", "headers": [(b"x-a", b"1")]})
    await ws.send(Send(text="hi"))
    await ws.send({"type": "websocket.send", "bytes": b"b"})
    await ws.send(Close(code=4001, reason="r"))
    assert server.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": [(b"x-a", b"1")]},
        {"type": "websocket.send", "text": "hi"},
        {"type": "websocket.send", "bytes": b"b"},
        {"type": "websocket.close", "code": 4001, "reason": "r"},
    ]
    assert ws.close_code == 4001
    await ws.send(Close())  # close after close: no-op
    assert len(server.sent) == 4


@pytest.mark.parametrize(
    ("events", "bad", "expected"),
    [
        ([], {"type": "websocket.send", "text": "x"}, "application side is CONNECTING"),
        ([], {"type": "websocket.accept"}, "has not delivered websocket.connect"),
        ([CONNECT], {"type": "websocket.http.response.body"}, "application side is CONNECTING"),
        ([CONNECT], {"type": "websocket.send", "text": None}, "neither 'bytes' nor 'text'"),
    ],
)
async def test_raw_send_refuses_malformed_or_out_of_order_events(
    events: list[Any], bad: Any, expected: str
) -> None:
    server = FakeServer(events)
    ws = server.websocket()
    if events:
        await ws.receive()
    with pytest.raises(ProtocolError) as info:
        await ws.send(bad)
    assert expected in str(info.value)
    assert server.sent == []


async def test_raw_send_after_client_disconnect() -> None:
    server = FakeServer([disconnect(1001)])
    ws = await accepted(server)
    await ws.receive()
    with pytest.raises(WebSocketDisconnect):
        await ws.send(Send(text="late"))
    await ws.send(Close())  # no-op
    assert len(server.sent) == 1


async def test_raw_accept_after_close_is_a_protocol_error() -> None:
    server = FakeServer([CONNECT])
    ws = server.websocket()
    await ws.receive()
    await ws.close()
    with pytest.raises(ProtocolError, match="application side is DISCONNECTED"):
        await ws.send({"type": "websocket.accept"})


# --- denial responses -----------------------------------------------------------------------------


DENIAL: dict[str, Any] = {"websocket.http.response": {}}


async def test_denial_response_runs_any_asgi_response() -> None:
    server = FakeServer([CONNECT], make_scope(extensions=DENIAL))
    ws = server.websocket()

    async def response(scope: Any, receive: Any, send: Any) -> None:
        # Written as a plain HTTP response would be: typedws maps the event names.
        await send({"type": "http.response.start", "status": 401, "headers": [(b"a", b"b")]})
        await send({"type": "http.response.body", "body": b"no", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b"!"})

    await ws.send_denial_response(response)
    assert server.sent == [
        {"type": "websocket.http.response.start", "status": 401, "headers": [(b"a", b"b")]},
        {"type": "websocket.http.response.body", "body": b"no", "more_body": True},
        {"type": "websocket.http.response.body", "body": b"!", "more_body": False},
    ]
    assert ws.application_state is WebSocketState.DISCONNECTED
    await ws.close()  # no-op after the response
    assert len(server.sent) == 3


async def test_denial_response_needs_the_extension() -> None:
    ws = FakeServer([CONNECT]).websocket()

    async def response(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("must not run")

    # A ProtocolError (a RuntimeError), as for a raw websocket.http.response.start.
    with pytest.raises(ProtocolError, match=r"websocket\.http\.response"):
        await ws.send_denial_response(response)
    with pytest.raises(ProtocolError, match=r"websocket\.http\.response"):
        await ws.send({"type": "websocket.http.response.start", "status": 403})


async def test_denial_response_after_accept_is_a_state_error() -> None:
    server = FakeServer([], make_scope(extensions=DENIAL))
    ws = await accepted(server)

    async def response(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("must not run")

    with pytest.raises(WebSocketStateError, match="application side is CONNECTED"):
        await ws.send_denial_response(response)


async def test_an_unfinished_denial_response_is_reported() -> None:
    server = FakeServer([CONNECT], make_scope(extensions=DENIAL))
    ws = server.websocket()

    async def response(scope: Any, receive: Any, send: Any) -> None:
        await send(ResponseStart(status=403))
        await send(ResponseBody(body=b"x", more_body=True))

    with pytest.raises(ProtocolError, match="ended without a final"):
        await ws.send_denial_response(response)
    with pytest.raises(WebSocketStateError, match="RESPONSE"):
        await ws.close()


# --- subclassing --------------------------------------------------------------------------------


async def test_subclasses_are_honoured_by_iterators() -> None:
    class Shouting(WebSocket):
        async def receive_text(self) -> str:
            return (await super().receive_text()).upper()

    server = FakeServer([CONNECT, text("hi"), disconnect()])
    ws = Shouting(server.scope, server.receive, server.send)
    await ws.accept()
    assert [m async for m in ws.iter_text()] == ["HI"]


async def test_every_send_after_a_broken_transport_is_a_disconnect() -> None:
    server = FakeServer()
    ws = await accepted(server)
    server.send_error = ConnectionResetError()
    with pytest.raises(WebSocketDisconnect):
        await ws.send_text("first")
    server.send_error = None
    for attempt in (ws.send_text("again"), ws.send_bytes(b"x"), ws.send(Send(text="raw"))):
        with pytest.raises(WebSocketDisconnect) as info:
            await attempt
        assert info.value.code == 1006
    assert len(server.sent) == 1
