"""typedws._codecs: the Codec (hooks, per-type decoder cache, encoding errors) and the decode
functions that turn msgspec's errors into PayloadError."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import pytest

import typedws
from typedws import Codec, PayloadError
from typedws._codecs import DEFAULT_CODEC, decode_json, decode_msgpack


class User(msgspec.Struct):
    id: int
    name: str


class Message(msgspec.Struct):
    user: User
    text: str


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Celsius:
    """A type msgspec does not know: it needs the hooks."""

    def __init__(self, degrees: float) -> None:
        self.degrees = degrees

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Celsius) and other.degrees == self.degrees

    def __hash__(self) -> int:
        return hash(self.degrees)


class Reading(msgspec.Struct):
    where: str
    temperature: Celsius


def celsius_enc_hook(obj: Any) -> Any:
    if isinstance(obj, Celsius):
        return f"{obj.degrees}C"
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def celsius_dec_hook(target: type, obj: Any) -> Any:
    if target is Celsius and isinstance(obj, str) and obj.endswith("C"):
        return Celsius(float(obj[:-1]))
    # msgspec turns a ValueError or TypeError from dec_hook into a ValidationError.
    raise ValueError(f"not a temperature: {obj!r}")


HOOKED = Codec(enc_hook=celsius_enc_hook, dec_hook=celsius_dec_hook)


# --- the public object -----------------------------------------------------------------------


def test_codec_is_exported_and_the_default_has_no_hooks() -> None:
    assert typedws.Codec is Codec
    assert DEFAULT_CODEC.enc_hook is None
    assert DEFAULT_CODEC.dec_hook is None
    assert repr(DEFAULT_CODEC) == "Codec(enc_hook=None, dec_hook=None)"


def test_codec_keeps_its_hooks() -> None:
    assert HOOKED.enc_hook is celsius_enc_hook
    assert HOOKED.dec_hook is celsius_dec_hook
    assert "celsius_enc_hook" in repr(HOOKED)


@pytest.mark.parametrize("name", ["enc_hook", "dec_hook"])
def test_codec_refuses_a_hook_that_is_not_callable(name: str) -> None:
    kwargs: dict[str, Any] = {name: "nope"}
    with pytest.raises(TypeError, match=f"{name} must be callable or None, got str"):
        Codec(**kwargs)


def test_codec_hooks_are_read_only() -> None:
    with pytest.raises(AttributeError):
        HOOKED.enc_hook = None  # type: ignore[misc]


# --- the decoder cache -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        None,
        User,
        User | None,
        list[int],
        dict[str, User | None],
        Literal["a", "b"],
        Annotated[int, msgspec.Meta(ge=0)],
    ],
)
def test_decoders_are_made_once_per_type(target: Any) -> None:
    codec = Codec()
    assert codec.json_decoder(target) is codec.json_decoder(target)
    assert codec.msgpack_decoder(target) is codec.msgpack_decoder(target)


def test_type_forms_built_separately_share_one_decoder() -> None:
    # `A | B` and `list[int]` make a new object at each evaluation; they hash by value.
    codec = Codec()
    first = codec.json_decoder(User | None)
    assert codec.json_decoder(User | None) is first
    assert codec.json_decoder(list[int]) is codec.json_decoder(list[int])
    assert codec.json_decoder(list[str]) is not codec.json_decoder(list[int])


def test_alternating_types_each_get_their_own_decoder() -> None:
    # The identity check on the last type asked for must never hand out another type's decoder.
    codec = Codec()
    union = User | None
    targets: list[object] = [User, union, None, list[int]]
    decoders = {target: codec.json_decoder(target) for target in targets}
    for target in [User, union, User, None, union, list[int], None, User] * 2:
        assert codec.json_decoder(target) is decoders[target]
    assert decode_json(codec.json_decoder(union), "null") is None
    assert decode_json(codec.json_decoder(User), '{"id":1,"name":"a"}') == User(1, "a")
    with pytest.raises(PayloadError):
        decode_json(codec.json_decoder(User), "null")


def test_alternating_types_for_msgpack() -> None:
    codec = Codec()
    targets: list[object] = [User, None, list[int]]
    decoders = {target: codec.msgpack_decoder(target) for target in targets}
    for target in [User, None, User, list[int], list[int], None] * 2:
        assert codec.msgpack_decoder(target) is decoders[target]


def test_each_codec_has_its_own_decoders() -> None:
    # The cache is per (hooks, type): a decoder made with one codec's dec_hook is never handed
    # out by another codec.
    assert HOOKED.json_decoder(Reading) is not DEFAULT_CODEC.json_decoder(Reading)
    assert HOOKED.json_decoder(Reading).dec_hook is celsius_dec_hook
    assert DEFAULT_CODEC.json_decoder(Reading).dec_hook is None
    assert HOOKED.msgpack_decoder(Reading).dec_hook is celsius_dec_hook


def test_decoder_construction_is_counted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = msgspec.json.Decoder

    def counting(target: Any = Any, **kwargs: Any) -> Any:
        made.append(target)
        return real(target, **kwargs)

    monkeypatch.setattr(msgspec.json, "Decoder", counting)
    codec = Codec()
    for _ in range(5):
        assert decode_json(codec.json_decoder(User), '{"id":1,"name":"a"}') == User(1, "a")
    # One for the untyped decoder (made with the codec), one for User.
    assert made == [Any, User]


def test_an_unhashable_type_form_still_decodes() -> None:
    target = Annotated[int, {"doc": "metadata msgspec ignores"}]
    decoder = Codec().json_decoder(target)
    assert decode_json(decoder, "5") == 5


@pytest.mark.parametrize("target", [3, "User", object()])
def test_a_type_msgspec_cannot_decode_into_is_a_type_error(target: object) -> None:
    codec = Codec()
    with pytest.raises(TypeError, match=r"cannot decode JSON into .*is not supported"):
        codec.json_decoder(target)
    with pytest.raises(TypeError, match=r"cannot decode MessagePack into .*is not supported"):
        codec.msgpack_decoder(target)


# --- encoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
        (User(1, "ann"), '{"id":1,"name":"ann"}'),
        (Point(1, 2), '{"x":1,"y":2}'),
        (Movie(title="Alien", year=1979), '{"title":"Alien","year":1979}'),
        (
            datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
            '"2024-05-06T07:08:09Z"',
        ),
        (uuid.UUID(int=1), '"00000000-0000-0000-0000-000000000001"'),
        (decimal.Decimal("1.50"), '"1.50"'),
        (Color.RED, '"red"'),
        (Level.HIGH, "3"),
        ({3}, "[3]"),
        (frozenset(), "[]"),
    ],
    ids=lambda value: type(value).__name__,
)
def test_encode_json_handles_what_msgspec_handles(value: object, expected: str) -> None:
    assert DEFAULT_CODEC.encode_json(value) == expected.encode()


def test_encode_msgpack_round_trips() -> None:
    message = Message(User(7, "bo"), "hi")
    encoded = DEFAULT_CODEC.encode_msgpack(message)
    assert decode_msgpack(DEFAULT_CODEC.msgpack_decoder(Message), encoded) == message


@pytest.mark.parametrize("encode", ["encode_json", "encode_msgpack"])
def test_an_unencodable_object_is_a_type_error_naming_its_type(encode: str) -> None:
    with pytest.raises(TypeError, match=r"cannot encode Celsius as .*type Celsius is unsupported"):
        getattr(DEFAULT_CODEC, encode)(Celsius(1.0))
    # Nested: both the outer type and msgspec's name of the culprit are given.
    with pytest.raises(TypeError, match=r"cannot encode dict as .*type Celsius is unsupported"):
        getattr(DEFAULT_CODEC, encode)({"t": Celsius(1.0)})


def test_hooks_encode_and_decode_unknown_types() -> None:
    reading = Reading("lab", Celsius(21.5))
    encoded = HOOKED.encode_json(reading)
    assert encoded == b'{"where":"lab","temperature":"21.5C"}'
    assert decode_json(HOOKED.json_decoder(Reading), encoded) == reading
    packed = HOOKED.encode_msgpack(reading)
    assert decode_msgpack(HOOKED.msgpack_decoder(Reading), packed) == reading


def test_a_failing_dec_hook_is_a_payload_error_with_the_path() -> None:
    with pytest.raises(
        PayloadError, match=r"not a temperature: 'warm' - at `\$\.temperature`"
    ) as info:
        decode_json(HOOKED.json_decoder(Reading), '{"where":"x","temperature":"warm"}')
    assert info.value.frame == '{"where":"x","temperature":"warm"}'


# --- decoding errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (
            '{"user":{"id":"7","name":"a"},"text":"hi"}',
            r"Expected `int`, got `str` - at `\$\.user\.id`",
        ),
        ('{"user":{"id":7},"text":"hi"}', r"missing required field `name` - at `\$\.user`"),
        ("[1]", r"Expected `object`, got `array`"),
        ("{]", r"not valid JSON: .*malformed"),
        ('{"user":{"id":7,"name":"a"},"text":"hi"} x', r"not valid JSON: .*trailing characters"),
        ('{"user":', r"not valid JSON: .*truncated"),
        (b'{"user":{"id":7,"name":"\xff"},"text":""}', r"not valid UTF-8"),
    ],
)
def test_decode_json_errors_are_payload_errors_keeping_the_frame(
    frame: str | bytes, match: str
) -> None:
    with pytest.raises(PayloadError, match=match) as info:
        decode_json(DEFAULT_CODEC.json_decoder(Message), frame)
    assert info.value.frame == frame
    # msgspec's own error (a ValueError from msgspec 0.21 on; UnicodeDecodeError before 0.23).
    assert isinstance(info.value.__cause__, (msgspec.MsgspecError, UnicodeDecodeError))


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (msgspec.msgpack.encode({"user": {"id": "7", "name": "a"}, "text": ""}), r"\$\.user\.id"),
        (b"\xc1", r"not valid MessagePack: .*malformed"),
        (
            msgspec.msgpack.encode(Message(User(1, "a"), "")) + b"\x02",
            r"not valid MessagePack: .*trailing characters",
        ),
        (b"\x81\xa4text\xa1\xff", r"MessagePack string is not valid UTF-8"),
    ],
)
def test_decode_msgpack_errors_are_payload_errors_keeping_the_frame(
    frame: bytes, match: str
) -> None:
    with pytest.raises(PayloadError, match=match) as info:
        decode_msgpack(DEFAULT_CODEC.msgpack_decoder(Message), frame)
    assert info.value.frame == frame


def test_invalid_utf8_in_binary_json_names_the_offset_in_the_frame() -> None:
    # The same words on every msgspec that pyproject.toml allows: 0.22 and older raised
    # UnicodeDecodeError (offset within the string), 0.23 raises DecodeError (no offset).
    frame = b'{"user":{"id":7,"name":"\xff"},"text":""}'
    with pytest.raises(PayloadError) as info:
        decode_json(DEFAULT_CODEC.json_decoder(Message), frame)
    assert str(info.value) == (
        "binary JSON message is not valid UTF-8: 'utf-8' codec can't decode byte 0xff"
        " in position 24: invalid start byte"
    )
