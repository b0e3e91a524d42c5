"""Typed payloads end to end through a WebSocket: JSON in text and binary frames, MessagePack,
user types (a tagged-union chat protocol), bad input of every kind, hooks, and the decoder cache.

The scripted in-memory server (fakes.py) stands in for the ASGI server; what the application
sends is read back from ``server.sent``.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import re
import sys
import types
import uuid
from pathlib import Path
from typing import Any, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import FakeServer, accepted, binary, disconnect, text
from typedws import Codec, PayloadError, WebSocket, WebSocketDisconnect
from typedws._codecs import DEFAULT_CODEC

pytestmark = pytest.mark.anyio


# --- a small chat protocol: a union tagged on "type" -------------------------------------------


class User(msgspec.Struct, frozen=True):
    id: int
    name: str


class Chat(msgspec.Struct, tag="chat", tag_field="type", frozen=True):
    user: User
    text: str
    sent_at: datetime.datetime | None = None


class Join(msgspec.Struct, tag="join", tag_field="type", frozen=True):
    user: User
    room: str


class Leave(msgspec.Struct, tag="leave", tag_field="type", frozen=True):
    user: User


ClientMessage = Chat | Join | Leave

ANN = User(1, "ann")


@dataclasses.dataclass
class Order:
    id: uuid.UUID
    amount: decimal.Decimal
    tags: set[str]


class Temperature:
    """Unknown to msgspec: carried by the codec's hooks."""

    def __init__(self, kelvin: float) -> None:
        self.kelvin = kelvin

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Temperature) and other.kelvin == self.kelvin

    def __hash__(self) -> int:
        return hash(self.kelvin)


class Reading(msgspec.Struct):
    sensor: str
    value: Temperature


def enc_hook(obj: Any) -> Any:
    if isinstance(obj, Temperature):
        return {"K": obj.kelvin}
    raise NotImplementedError(f"{type(obj).__name__} is not supported")


def dec_hook(target: type, obj: Any) -> Any:
    if target is Temperature and isinstance(obj, dict) and isinstance(obj.get("K"), float):
        return Temperature(obj["K"])
    raise ValueError(f"not a temperature: {obj!r}")


def sent_frames(server: FakeServer) -> list[str | bytes]:
    """The payloads of the data frames the application sent (the accept left out)."""
    return [m.get("text", m.get("bytes")) for m in server.sent if m["type"] == "websocket.send"]


def echo(server: FakeServer) -> None:
    """Queue what the application sent as frames the client sends back."""
    for frame in sent_frames(server):
        server.queue(text(frame) if isinstance(frame, str) else binary(frame))


# --- the tagged union ------------------------------------------------------------------------


async def test_a_tagged_union_decodes_each_message_to_its_class() -> None:
    server = FakeServer(
        [
            text('{"type":"join","user":{"id":1,"name":"ann"},"room":"lobby"}'),
            text('{"type":"chat","user":{"id":1,"name":"ann"},"text":"hé"}'),
            text('{"type":"leave","user":{"id":1,"name":"ann"}}'),
        ]
    )
    ws = await accepted(server)
    received = [await ws.receive_json(type=ClientMessage) for _ in range(3)]
    assert received == [Join(ANN, "lobby"), Chat(ANN, "hé"), Leave(ANN)]
    assert [type(m) for m in received] == [Join, Chat, Leave]


async def test_a_chat_server_loop_over_iter_json() -> None:
    server = FakeServer(
        [
            text('{"type":"join","user":{"id":2,"name":"bo"},"room":"r"}'),
            binary(b"ignored: iter_json in text mode never sees this"),
        ]
    )
    ws = await accepted(server)

    async def serve() -> None:
        async for message in ws.iter_json(type=ClientMessage):
            assert isinstance(message, Join)
            await ws.send_json(Chat(message.user, f"welcome to {message.room}"))

    # A binary frame where text JSON was expected is an error, not skipped.
    with pytest.raises(PayloadError, match="got a binary frame"):
        await serve()
    server.queue(text('{"type":"leave","user":{"id":2,"name":"bo"}}'), disconnect(1001))
    leaves = [m async for m in ws.iter_json(type=ClientMessage)]
    assert leaves == [Leave(User(2, "bo"))]
    assert ws.close_code == 1001
    assert sent_frames(server) == [
        '{"type":"chat","user":{"id":2,"name":"bo"},"text":"welcome to r","sent_at":null}'
    ]


async def test_an_unknown_tag_names_the_tag_field() -> None:
    server = FakeServer([text('{"type":"kick","user":{"id":1,"name":"ann"}}')])
    ws = await accepted(server)
    with pytest.raises(PayloadError, match=r"Invalid value 'kick' - at `\$\.type`"):
        await ws.receive_json(type=ClientMessage)


async def test_struct_round_trips_in_both_modes_and_msgpack() -> None:
    server = FakeServer()
    ws = await accepted(server)
    stamp = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    messages: list[ClientMessage] = [Chat(ANN, "1", stamp), Join(ANN, "r"), Leave(ANN)]
    for message in messages:
        await ws.send_json(message)
        await ws.send_json(message, mode="binary")
        await ws.send_msgpack(message)
    frames = sent_frames(server)
    assert [type(f) for f in frames[:3]] == [str, bytes, bytes]
    echo(server)
    for message in messages:
        assert await ws.receive_json(type=ClientMessage) == message
        assert await ws.receive_json("binary", type=ClientMessage) == message
        assert await ws.receive_msgpack(type=ClientMessage) == message


# --- what send_json and send_msgpack encode ----------------------------------------------------


async def test_send_json_is_compact_utf8_in_a_text_frame_by_default() -> None:
    server = FakeServer()
    ws = await accepted(server)
    await ws.send_json({"a": [1, 2], "é": None})
    await ws.send_json({"a": "é"}, mode="binary")
    assert sent_frames(server) == ['{"a":[1,2],"é":null}', '{"a":"é"}'.encode()]


async def test_dataclasses_uuids_decimals_and_sets_round_trip() -> None:
    server = FakeServer()
    ws = await accepted(server)
    order = Order(uuid.UUID(int=5), decimal.Decimal("9.99"), {"gift"})
    await ws.send_json(order)
    await ws.send_msgpack(order)
    assert sent_frames(server)[0] == (
        '{"id":"00000000-0000-0000-0000-000000000005","amount":"9.99","tags":["gift"]}'
    )
    echo(server)
    assert await ws.receive_json(type=Order) == order
    assert await ws.receive_msgpack(type=Order) == order


@pytest.mark.parametrize("method", ["send_json", "send_msgpack"])
async def test_an_unencodable_object_is_a_type_error_and_nothing_is_sent(method: str) -> None:
    server = FakeServer()
    ws = await accepted(server)
    with pytest.raises(TypeError, match=r"cannot encode Temperature .*type Temperature"):
        await getattr(ws, method)(Temperature(1.0))
    with pytest.raises(TypeError, match=r"cannot encode list .*type Temperature"):
        await getattr(ws, method)([1, Temperature(1.0)])
    assert sent_frames(server) == []
    await getattr(ws, method)([1])  # the connection is still usable
    assert len(sent_frames(server)) == 1


async def test_send_json_binary_mode_unencodable_sends_nothing() -> None:
    server = FakeServer()
    ws = await accepted(server)
    with pytest.raises(TypeError, match="cannot encode object as JSON"):
        await ws.send_json(object(), mode="binary")
    with pytest.raises(UnicodeEncodeError):
        await ws.send_json("\ud800")  # a lone surrogate is not UTF-8
    assert sent_frames(server) == []


# --- bad input: every kind is a PayloadError that keeps the frame ----------------------------


@pytest.mark.parametrize(
    ("frame", "mode", "match"),
    [
        (text('{"type":"chat","user":{"id":"1","name":"a"},"text":""}'), "text",
         r"does not match the expected type: Expected `int`, got `str` - at `\$\.user\.id`"),
        (text('{"type":"join","user":{"id":1,"name":"a"}}'), "text",
         r"Object missing required field `room`$"),
        (text('{"type":"chat","user":{"id":1},"text":""}'), "text",
         r"missing required field `name` - at `\$\.user`"),
        (text('{"type":"chat"'), "text", r"not valid JSON"),
        (text('{"type":"leave",}'), "text", r"not valid JSON: .*malformed"),
        (binary(b'{"type":"leave","user":{"id":1,"name":"\xe9"}}'), "binary", r"not valid UTF-8"),
        (binary(b"\xff\xfe"), "binary", r"not valid JSON"),
        (binary(b"{}"), "text", r"expected JSON in a text frame, got a binary frame"),
        (text("{}"), "binary", r"expected JSON in a binary frame, got a text frame"),
    ],
)  # fmt: skip
async def test_bad_json_is_a_payload_error_and_the_connection_stays_usable(
    frame: dict[str, Any], mode: Literal["text", "binary"], match: str
) -> None:
    good = text('{"type":"leave","user":{"id":1,"name":"ann"}}')
    server = FakeServer([frame, good])
    ws = await accepted(server)
    with pytest.raises(PayloadError, match=match) as info:
        await ws.receive_json(mode, type=ClientMessage)
    assert info.value.frame == frame.get("text", frame.get("bytes"))
    # The bad frame was consumed; the next one decodes normally.
    assert await ws.receive_json(type=ClientMessage) == Leave(ANN)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (binary(msgspec.msgpack.encode({"type": "leave", "user": {"id": 1.5, "name": "a"}})),
         r"MessagePack message does not match the expected type: .* - at `\$\.user\.id`"),
        (binary(b"\xc1"), r"not valid MessagePack"),
        (binary(b"\x81\xa4type"), r"not valid MessagePack: .*truncated"),
        (binary(b"\x81\xa4type\xa2\xff\xfe"), r"MessagePack string is not valid UTF-8"),
        (text("\x01"), r"expected MessagePack in a binary frame, got a text frame"),
    ],
)  # fmt: skip
async def test_bad_msgpack_is_a_payload_error_and_the_connection_stays_usable(
    frame: dict[str, Any], match: str
) -> None:
    server = FakeServer([frame, binary(msgspec.msgpack.encode(Leave(ANN)))])
    ws = await accepted(server)
    with pytest.raises(PayloadError, match=match) as info:
        await ws.receive_msgpack(type=ClientMessage)
    assert info.value.frame == frame.get("text", frame.get("bytes"))
    assert await ws.receive_msgpack(type=ClientMessage) == Leave(ANN)


async def test_untyped_receive_reports_bad_input_too() -> None:
    server = FakeServer([text("nope"), binary(b"\xc1"), text("[1]"), binary(b"\x93\x01\x02\x03")])
    ws = await accepted(server)
    with pytest.raises(PayloadError, match="not valid JSON"):
        await ws.receive_json()
    with pytest.raises(PayloadError, match="not valid MessagePack"):
        await ws.receive_msgpack()
    assert await ws.receive_json() == [1]
    assert await ws.receive_msgpack() == [1, 2, 3]


@pytest.mark.parametrize("method", ["iter_json", "iter_msgpack"])
async def test_iterators_reraise_payload_errors_then_continue(method: str) -> None:
    good = msgspec.json.encode(Leave(ANN)) if method == "iter_json" else None
    frames = (
        [text('{"type":"leave","user":{"id":"x"}}'), text(good.decode())]
        if good is not None
        else [binary(b"\x81\xa4type\xa4kick"), binary(msgspec.msgpack.encode(Leave(ANN)))]
    )
    server = FakeServer([*frames, disconnect(1000, "bye")])
    ws = await accepted(server)
    iterator = getattr(ws, method)(type=ClientMessage)
    with pytest.raises(PayloadError, match=r"\$\.(user\.id|type)"):
        await iterator.__anext__()
    assert [m async for m in iterator] == [Leave(ANN)]
    assert (ws.close_code, ws.close_reason) == (1000, "bye")


async def test_receive_json_raises_disconnect_and_iter_ends_quietly() -> None:
    server = FakeServer([disconnect(1001, "away")])
    ws = await accepted(server)
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.receive_json(type=Chat)
    assert (info.value.code, info.value.reason) == (1001, "away")
    assert [m async for m in ws.iter_json(type=Chat)] == []
    assert [m async for m in ws.iter_msgpack(type=Chat)] == []


# --- the requested type --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "target", "expected"),
    [
        ("[1,2]", list[int], [1, 2]),
        ('{"a":null}', dict[str, User | None], {"a": None}),
        ('"b"', Literal["a", "b"], "b"),
        ("null", Chat | None, None),
        ('"2024-01-02"', datetime.date, datetime.date(2024, 1, 2)),
        ('[1,"x"]', tuple[int, str], (1, "x")),
    ],
)
async def test_any_type_msgspec_knows_works(payload: str, target: Any, expected: object) -> None:
    server = FakeServer([text(payload), binary(payload.encode())])
    ws = await accepted(server)
    assert await ws.receive_json(type=target) == expected
    assert await ws.receive_json("binary", type=target) == expected


async def test_a_type_msgspec_cannot_use_raises_before_receiving() -> None:
    server = FakeServer([text("1"), binary(b"\x01")])
    ws = await accepted(server)
    with pytest.raises(TypeError, match=r"cannot decode JSON into .*'Chat'"):
        await ws.receive_json(type="Chat")  # a string forward reference is not a runtime type
    with pytest.raises(TypeError, match=r"cannot decode MessagePack into 42"):
        await ws.receive_msgpack(type=42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="cannot decode JSON into"):
        ws.iter_json(type=object())  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="cannot decode MessagePack into"):
        ws.iter_msgpack(type=object())  # type: ignore[call-overload]
    # Nothing was consumed.
    assert await ws.receive_json() == 1
    assert await ws.receive_msgpack() == 1


class FrameKind(str, enum.Enum):
    TEXT = "text"
    BINARY = "binary"


async def test_a_str_enum_mode_is_taken_for_its_value() -> None:
    # Not the typed API (mode is a Literal), but a str subclass equal to a mode has always worked
    # at run time; the compiled fast paths compare exact strs only and must not refuse it.
    server = FakeServer([binary(b"[1]"), text("2")])
    ws = await accepted(server)
    await ws.send_json({"a": 1}, mode=FrameKind.BINARY)  # type: ignore[arg-type]
    await ws.send_json({"a": 2}, mode=FrameKind.TEXT)  # type: ignore[arg-type]
    assert sent_frames(server) == [b'{"a":1}', '{"a":2}']
    assert await ws.receive_json(FrameKind.BINARY) == [1]  # type: ignore[call-overload]
    assert await ws.receive_json(FrameKind.TEXT, type=int) == 2  # type: ignore[call-overload]


async def test_receive_json_unknown_mode_consumes_nothing() -> None:
    server = FakeServer([text("1")])
    ws = await accepted(server)
    with pytest.raises(ValueError, match="mode must be 'text' or 'binary', got 'hex'"):
        await ws.receive_json("hex", type=int)  # type: ignore[call-overload]
    assert await ws.receive_json(type=int) == 1


# --- the decoder cache, as seen from a connection ---------------------------------------------


async def test_decoders_are_built_once_per_type_across_messages_and_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[object] = []
    for module in (msgspec.json, msgspec.msgpack):
        real = module.Decoder

        def counting(target: Any = Any, *, _real: Any = real, **kwargs: Any) -> Any:
            built.append(target)
            return _real(target, **kwargs)

        monkeypatch.setattr(module, "Decoder", counting)
    codec = Codec()  # two untyped decoders, made up front
    assert built == [Any, Any]
    leave = text('{"type":"leave","user":{"id":1,"name":"ann"}}')
    packed = binary(msgspec.msgpack.encode(Leave(ANN)))
    for _ in range(2):  # two connections sharing the codec
        server = FakeServer([leave, leave, packed, packed, text("[1]"), leave, disconnect()])
        server.script.insert(0, {"type": "websocket.connect"})
        ws = WebSocket(server.scope, server.receive, server.send, codec=codec)
        await ws.accept()
        assert await ws.receive_json(type=ClientMessage) == Leave(ANN)
        assert await ws.receive_json(type=Chat | Join | Leave) == Leave(ANN)  # an equal union
        assert await ws.receive_msgpack(type=ClientMessage) == Leave(ANN)
        assert await ws.receive_msgpack(type=ClientMessage) == Leave(ANN)
        assert await ws.receive_json(type=list[int]) == [1]
        assert [m async for m in ws.iter_json(type=ClientMessage)] == [Leave(ANN)]
    assert built == [Any, Any, ClientMessage, ClientMessage, list[int]]


# --- user hooks ------------------------------------------------------------------------------


async def test_codec_hooks_apply_to_json_and_msgpack() -> None:
    codec = Codec(enc_hook=enc_hook, dec_hook=dec_hook)
    server = FakeServer()
    server.script.insert(0, {"type": "websocket.connect"})
    ws = WebSocket(server.scope, server.receive, server.send, codec=codec)
    assert ws.codec is codec
    await ws.accept()
    reading = Reading("t1", Temperature(300.5))
    await ws.send_json(reading)
    await ws.send_json(reading, mode="binary")
    await ws.send_msgpack(reading)
    assert sent_frames(server)[0] == '{"sensor":"t1","value":{"K":300.5}}'
    echo(server)
    server.queue(text('{"sensor":"t2","value":{"K":"hot"}}'))
    assert await ws.receive_json(type=Reading) == reading
    assert await ws.receive_json("binary", type=Reading) == reading
    assert await ws.receive_msgpack(type=Reading) == reading
    with pytest.raises(PayloadError, match=r"not a temperature: \{'K': 'hot'\} - at `\$\.value`"):
        await ws.receive_json(type=Reading)


async def test_without_a_codec_the_shared_default_is_used_and_hooks_are_missing() -> None:
    server = FakeServer()
    ws = await accepted(server)
    assert ws.codec is DEFAULT_CODEC
    with pytest.raises(TypeError, match="Temperature"):
        await ws.send_json(Reading("t", Temperature(1.0)))
    # msgspec accepts the type (a dec_hook could handle it) but cannot build one from JSON.
    server.queue(text('{"sensor":"t","value":{"K":1.0}}'))
    with pytest.raises(PayloadError, match=r"Expected `Temperature`, got `dict` - at `\$\.value`"):
        await ws.receive_json(type=Reading)


def test_codec_must_be_a_codec() -> None:
    server = FakeServer()
    with pytest.raises(TypeError, match="Codec"):
        WebSocket(server.scope, server.receive, server.send, codec="json")  # type: ignore[arg-type]


# --- property: whatever send_json/send_msgpack sends, receive_* gives back ---------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(value=json_values)
async def test_round_trip_property(value: object) -> None:
    server = FakeServer()
    ws = await accepted(server)
    await ws.send_json(value)
    await ws.send_json(value, mode="binary")
    await ws.send_msgpack(value)
    echo(server)
    assert await ws.receive_json() == value
    assert await ws.receive_json(mode="binary") == value
    assert await ws.receive_msgpack() == value


# --- the README's Codec example runs as written ----------------------------------------------


async def test_the_readme_codec_example(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    (block,) = [b for b in blocks if "async def shares_app(" in b]
    # A real module: msgspec resolves the Struct's annotations in its module's namespace.
    module = types.ModuleType("readme_codec_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(block, str(readme), "exec"), module.__dict__)
    namespace = module.__dict__
    server = FakeServer(
        [
            {"type": "websocket.connect"},
            text('{"item":"cake","part":"3/4"}'),
            text('{"item":"pie","part":"one half"}'),
        ]
    )
    with pytest.raises(
        PayloadError, match=r"Invalid literal for Fraction: 'one half' - at `\$\.part`"
    ):
        await namespace["shares_app"](server.scope, server.receive, server.send)
    assert sent_frames(server) == ['{"item":"cake","part":"3/8"}']
