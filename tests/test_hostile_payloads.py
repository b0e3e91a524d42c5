"""Hostile payloads: each gets a clear error (or a documented value); the connection stays usable.

A WebSocket endpoint reads whatever a client chooses to send. For each input below the test checks
what the application sees (docs/behaviour.md keeps the same table for users) and then that the
connection still works: the next message is received and a reply goes out. Runs under asyncio and
trio, on an in-memory server (tests/fakes.py).
"""

from __future__ import annotations

import msgspec
import pytest

from fakes import FakeServer, accepted, binary, text
from typedws import PayloadError, WebSocket, WebSocketState
from typedws.types import Message

pytestmark = pytest.mark.anyio

DEPTH = 100_000
TEN_MB = 10 * 1024 * 1024


class Point(msgspec.Struct):
    x: int


async def open_connection(*frames: Message) -> tuple[FakeServer, WebSocket]:
    """An accepted connection whose client sends ``frames`` and then one good message."""
    server = FakeServer([*frames, text('{"ok": true}')])
    return server, await accepted(server)


async def assert_usable(server: FakeServer, ws: WebSocket) -> None:
    """The connection survived: the next message arrives and a reply goes out."""
    assert await ws.receive_json() == {"ok": True}
    await ws.send_text("still here")
    assert server.sent[-1] == {"type": "websocket.send", "text": "still here"}
    assert ws.client_state is WebSocketState.CONNECTED
    assert ws.application_state is WebSocketState.CONNECTED


# --- deep nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("[" * DEPTH + "]" * DEPTH, id="arrays"),
        pytest.param('{"a":' * DEPTH + "1" + "}" * DEPTH, id="objects"),
        pytest.param("[" * DEPTH, id="unterminated"),
    ],
)
async def test_json_nested_100000_levels_is_a_payload_error(document: str) -> None:
    server, ws = await open_connection(text(document), binary(document.encode()))
    with pytest.raises(PayloadError, match="nested too deeply") as info:
        await ws.receive_json()
    assert info.value.frame == document
    with pytest.raises(PayloadError, match="nested too deeply"):
        await ws.receive_json("binary", type=object)
    await assert_usable(server, ws)


async def test_msgpack_nested_100000_levels_is_a_payload_error() -> None:
    server, ws = await open_connection(binary(b"\x91" * DEPTH + b"\x90"))
    with pytest.raises(PayloadError, match="nested too deeply"):
        await ws.receive_msgpack()
    await assert_usable(server, ws)


async def test_nested_json_in_iter_json_raises_out_of_the_loop_and_iteration_can_resume() -> None:
    server, ws = await open_connection(text("[" * DEPTH + "]" * DEPTH))
    messages = ws.iter_json()
    with pytest.raises(PayloadError, match="nested too deeply"):
        await messages.__anext__()  # raised out of the loop, not skipped
    assert await messages.__anext__() == {"ok": True}
    await ws.send_text("still here")
    assert server.sent[-1] == {"type": "websocket.send", "text": "still here"}


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param("9" * 100_000, "Integer value out of range", id="100000-digit-int"),
        pytest.param("-" + "9" * 4301, "Integer value out of range", id="4301-digit-int"),
        pytest.param("1e400", "Number out of range", id="float-overflow"),
        pytest.param("-1e400", "Number out of range", id="negative-float-overflow"),
        pytest.param("1" * 400 + ".5", "Number out of range", id="400-digit-float"),
    ],
)
async def test_huge_numbers_are_payload_errors(document: str, message: str) -> None:
    server, ws = await open_connection(text(document), text(f'{{"x": {document}}}'))
    with pytest.raises(PayloadError, match=message):
        await ws.receive_json()
    with pytest.raises(PayloadError, match=message):
        await ws.receive_json(type=Point)
    await assert_usable(server, ws)


async def test_big_but_bounded_numbers_decode_exactly() -> None:
    """Integers up to Python's 4300-digit limit keep every digit; tiny floats underflow to 0."""
    big = "9" * 4300
    server, ws = await open_connection(text(big), text("1e-400"))
    assert await ws.receive_json() == int(big)
    assert await ws.receive_json() == 0.0
    await assert_usable(server, ws)


# --- text encoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(b'{"a": "\xff"}', id="invalid-start-byte"),
        pytest.param(b'"\xc0\xaf"', id="overlong-slash"),
        pytest.param(b'"\xed\xa0\x80"', id="encoded-surrogate"),
        pytest.param(b'"caf\xc3"', id="truncated-sequence"),
    ],
)
async def test_invalid_utf8_in_binary_json_is_a_payload_error(frame: bytes) -> None:
    server, ws = await open_connection(binary(frame))
    with pytest.raises(PayloadError, match="not valid UTF-8") as info:
        await ws.receive_json("binary")
    assert info.value.frame == frame
    await assert_usable(server, ws)


async def test_lone_surrogate_in_a_text_frame_is_a_payload_error_for_json() -> None:
    """Only a buggy server hands over such a str (RFC 6455 text is UTF-8); typedws copes."""
    server, ws = await open_connection(text('"\ud800"'), text("x\udfff"))
    with pytest.raises(PayloadError, match="not valid Unicode"):
        await ws.receive_json()
    # receive_text() hands the str over unchanged: typedws does not re-validate text frames.
    assert await ws.receive_text() == "x\udfff"
    await assert_usable(server, ws)


async def test_escaped_lone_surrogate_in_json_is_a_payload_error() -> None:
    server, ws = await open_connection(text('"\\ud800"'), text('"\\ud83d\\ude00"'))
    with pytest.raises(PayloadError, match="not valid JSON"):
        await ws.receive_json()
    assert await ws.receive_json() == "\U0001f600"  # a proper surrogate pair is one character
    await assert_usable(server, ws)


async def test_sending_a_lone_surrogate_as_json_fails_before_anything_is_sent() -> None:
    server = FakeServer()
    ws = await accepted(server)
    sent = len(server.sent)
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        await ws.send_json({"name": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        await ws.send_msgpack("\udfff")
    assert len(server.sent) == sent
    assert ws.application_state is WebSocketState.CONNECTED


# --- NUL bytes ---------------------------------------------------------------------------------


async def test_nul_bytes_pass_through_text_binary_and_escaped_json() -> None:
    server, ws = await open_connection(
        text("a\x00b"), binary(b"\x00" * 1000), text('{"k\\u0000": "v\\u0000"}')
    )
    assert await ws.receive_text() == "a\x00b"
    assert await ws.receive_bytes() == b"\x00" * 1000
    assert await ws.receive_json() == {"k\x00": "v\x00"}
    await ws.send_text("\x00")
    await ws.send_json({"k\x00": "\x00"})
    assert server.sent[-2:] == [
        {"type": "websocket.send", "text": "\x00"},
        {"type": "websocket.send", "text": '{"k\\u0000":"\\u0000"}'},
    ]
    await assert_usable(server, ws)


async def test_raw_nul_inside_a_json_string_is_a_payload_error() -> None:
    # JSON (RFC 8259 section 7) forbids unescaped control characters in strings.
    server, ws = await open_connection(text('"a\x00b"'), binary(b'"a\x00b"'))
    with pytest.raises(PayloadError, match="invalid character"):
        await ws.receive_json()
    with pytest.raises(PayloadError, match="invalid character"):
        await ws.receive_json("binary")
    await assert_usable(server, ws)


# --- size --------------------------------------------------------------------------------------


async def test_ten_megabyte_messages_decode_and_a_bad_one_gives_a_short_error() -> None:
    blob = "x" * TEN_MB
    good = '{"blob": "' + blob + '"}'
    bad = good[:-1]  # unterminated object
    server, ws = await open_connection(
        text(good), binary(good.encode()), text(bad), binary(b"\x01" * TEN_MB)
    )
    assert await ws.receive_json() == {"blob": blob}
    assert (await ws.receive_json("binary", type=dict[str, str]))["blob"] == blob
    with pytest.raises(PayloadError, match="truncated") as info:
        await ws.receive_json()
    assert len(str(info.value)) < 200  # the message names the problem, not the 10 MB
    assert info.value.frame == bad  # the frame itself stays available for logging
    assert await ws.receive_bytes() == b"\x01" * TEN_MB
    await ws.send_text(blob)
    assert server.sent[-1] == {"type": "websocket.send", "text": blob}
    await assert_usable(server, ws)


# --- the wrong kind of frame -------------------------------------------------------------------


async def test_a_text_frame_where_bytes_were_asked_is_a_payload_error_and_consumed() -> None:
    server, ws = await open_connection(
        text("t1"), text("t2"), text("t3"), binary(b"b1"), binary(b"b2")
    )
    with pytest.raises(PayloadError, match="expected a binary frame, got a text frame") as info:
        await ws.receive_bytes()
    assert info.value.frame == "t1"
    with pytest.raises(PayloadError, match="expected MessagePack in a binary frame, got a text"):
        await ws.receive_msgpack()
    with pytest.raises(PayloadError, match="use mode='text'"):
        await ws.receive_json("binary")
    with pytest.raises(PayloadError, match="expected a text frame, got a binary frame"):
        await ws.receive_text()
    with pytest.raises(PayloadError, match="use mode='binary'"):
        await ws.receive_json()
    await assert_usable(server, ws)


# --- duplicate keys ----------------------------------------------------------------------------


async def test_json_duplicate_keys_last_one_wins_untyped_and_typed() -> None:
    document = '{"x": 1, "x": 2}'
    server, ws = await open_connection(text(document), text(document))
    assert await ws.receive_json() == {"x": 2}
    assert await ws.receive_json(type=Point) == Point(x=2)
    await assert_usable(server, ws)


async def test_json_duplicate_key_with_a_bad_earlier_value_is_a_payload_error() -> None:
    """Every occurrence is validated, not only the one kept: a bad first value is refused."""
    server, ws = await open_connection(text('{"x": "one", "x": 1}'))
    with pytest.raises(PayloadError, match=r"Expected `int`, got `str` - at `\$\.x`"):
        await ws.receive_json(type=Point)
    await assert_usable(server, ws)


# --- MessagePack extension types ---------------------------------------------------------------


async def test_msgpack_unknown_extension_type() -> None:
    """Untyped: the app gets a msgspec.msgpack.Ext to inspect; typed: a PayloadError."""
    frame = msgspec.msgpack.encode(msgspec.msgpack.Ext(42, b"secret"))
    wrapped = msgspec.msgpack.encode({"x": msgspec.msgpack.Ext(42, b"secret")})
    server, ws = await open_connection(binary(frame), binary(frame), binary(wrapped))
    value = await ws.receive_msgpack()
    assert isinstance(value, msgspec.msgpack.Ext)
    assert (value.code, value.data) == (42, b"secret")
    with pytest.raises(PayloadError, match="got `ext`"):
        await ws.receive_msgpack(type=int)
    with pytest.raises(PayloadError, match=r"got `ext` - at `\$\.x`"):
        await ws.receive_msgpack(type=Point)
    await assert_usable(server, ws)


async def test_msgpack_malformed_timestamp_extension_is_a_payload_error() -> None:
    # Extension -1 is MessagePack's timestamp; 2 bytes is not one of its valid lengths.
    server, ws = await open_connection(binary(b"\xd5\xff\x00\x00"), binary(b"\xc1"))
    with pytest.raises(PayloadError, match="Invalid MessagePack timestamp"):
        await ws.receive_msgpack()
    with pytest.raises(PayloadError, match="not valid MessagePack"):
        await ws.receive_msgpack()
    await assert_usable(server, ws)
