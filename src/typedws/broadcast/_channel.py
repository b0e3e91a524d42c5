"""``Channel``: a named, typed stream of messages, and its codec.

A channel is a value (name + message type + wire format), not a connection: declare it once at
module level and use it from any number of ``Broadcast`` instances. Encoding happens once per
``publish``; decoding once per subscriber, or once per process when the message type is
immutable (``Channel.shared``); ``forward`` sends the encoded bytes as they are.

Not compiled: the work here is done inside msgspec, so mypyc would only add a layer.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import msgspec
import msgspec.inspect

from .._errors import PayloadError

if TYPE_CHECKING:
    # PEP 747: lets ``Channel("room", Chat | Join)`` bind T to the union (type checkers only).
    from typing_extensions import TypeForm

__all__ = ["Channel", "Codec"]

T = TypeVar("T")

#: How a channel's messages are encoded on the wire and in the backend.
Codec = Literal["json", "msgpack"]

# Channel names become Redis keys and show up in logs: keep them printable and short.
_MAX_NAME = 200

# msgspec.inspect types whose values cannot change once decoded (by class name: some, such as
# FrozenDictType, exist only in recent msgspec releases).
_IMMUTABLE_LEAVES = frozenset(
    {
        "NoneType",
        "BoolType",
        "IntType",
        "FloatType",
        "StrType",
        "BytesType",
        "RawType",
        "DateTimeType",
        "DateType",
        "TimeType",
        "TimeDeltaType",
        "UUIDType",
        "DecimalType",
        "LiteralType",
        "EnumType",
    }
)


def _immutable(info: msgspec.inspect.Type, seen: set[int]) -> bool:
    """Whether every value of ``info`` is immutable, all the way down.

    Frozen Structs and frozen dataclasses (of immutable fields), tuples, frozensets and unions of
    immutable types, and scalars. Anything else (lists, dicts, sets, bytearrays, ``Any``,
    mutable classes, custom types) may be changed by whoever holds it.
    """
    kind = info.__class__.__name__
    if kind in _IMMUTABLE_LEAVES:
        return True
    if isinstance(info, msgspec.inspect.UnionType):
        return all(_immutable(t, seen) for t in info.types)
    if isinstance(info, (msgspec.inspect.VarTupleType, msgspec.inspect.FrozenSetType)):
        return _immutable(info.item_type, seen)
    if isinstance(info, msgspec.inspect.TupleType):
        return all(_immutable(t, seen) for t in info.item_types)
    if isinstance(info, (msgspec.inspect.StructType, msgspec.inspect.DataclassType)):
        cls: Any = info.cls
        if isinstance(info, msgspec.inspect.StructType):
            frozen = bool(cls.__struct_config__.frozen)
        else:
            frozen = bool(getattr(getattr(cls, "__dataclass_params__", None), "frozen", False))
        if not frozen:
            return False
        if id(cls) in seen:  # a recursive type: its other fields decide
            return True
        seen.add(id(cls))
        return all(_immutable(f.type, seen) for f in info.fields)
    return False


def immutable(type: Any) -> bool:
    """Whether decoded values of ``type`` can be shared by every subscriber of a process.

    False (a decode per subscriber, the safe choice) when msgspec cannot describe the type.
    """
    try:
        info = msgspec.inspect.type_info(type)
    except Exception:
        return False
    return _immutable(info, set())


class Channel(Generic[T]):
    """A named channel whose messages are of type ``T``, encoded as JSON or MessagePack.

    ``T`` is anything msgspec can encode and decode: Structs, dataclasses, TypedDicts, tagged
    unions of Structs, builtins. ``T`` is inferred from the type given, a union or other type
    form included (PEP 747 ``TypeForm``): ``Channel("room", Chat | Join)`` is a
    ``Channel[Chat | Join]`` under mypy and pyright; spelling it, ``Channel[Chat | Join](...)``,
    works too.

    Args:
        name: The channel's name, shared by every publisher and subscriber (a Redis key part).
        type: The type of its messages: any type msgspec encodes and decodes.
        codec: ``"json"`` (the default; ``forward`` sends text frames) or ``"msgpack"``
            (binary frames).

    Raises:
        TypeError: ``name`` is not a ``str``, or msgspec cannot handle ``type``.
        ValueError: ``name`` is empty, too long or has control characters, or ``codec`` is
            unknown.
    """

    __slots__ = ("_decoder", "_encoder", "codec", "name", "shared", "type")

    # (``type`` shadows the builtin inside this class: annotations spell ``builtins.type``.)
    #: The channel's name.
    name: str
    #: The type of its messages, as given.
    type: Any
    #: How its messages are encoded: ``"json"`` or ``"msgpack"``.
    codec: Codec
    #: True when ``T`` is immutable all the way down (frozen Structs or dataclasses of immutable
    #: fields, tuples, scalars, unions of those): a message is then decoded once per process and
    #: every subscriber gets the same object. Otherwise each subscriber decodes its own copy.
    shared: bool

    @overload
    def __init__(self, name: str, type: builtins.type[T], *, codec: Codec = "json") -> None: ...
    @overload  # a union or other type form (``Chat | Join``, ``Literal["a"]``) that is not a class
    def __init__(self, name: str, type: TypeForm[T], *, codec: Codec = "json") -> None: ...

    def __init__(self, name: str, type: Any, *, codec: Codec = "json") -> None:
        if not isinstance(name, str):
            raise TypeError(f"Channel name must be a str, not {name.__class__.__name__}")
        if not name or len(name) > _MAX_NAME or not name.isprintable():
            raise ValueError(
                f"Channel name {name[:60]!r} must be 1 to {_MAX_NAME} printable characters"
            )
        self.name = name
        self.type = type
        self.codec = codec
        self._encoder: msgspec.json.Encoder | msgspec.msgpack.Encoder
        self._decoder: msgspec.json.Decoder[T] | msgspec.msgpack.Decoder[T]
        try:
            if codec == "json":
                self._encoder = msgspec.json.Encoder()
                self._decoder = msgspec.json.Decoder(type)
            elif codec == "msgpack":
                self._encoder = msgspec.msgpack.Encoder()
                self._decoder = msgspec.msgpack.Decoder(type)
            else:
                raise ValueError(f"Channel codec must be 'json' or 'msgpack', not {codec!r}")
        except TypeError as exc:
            raise TypeError(
                f"Channel {name!r}: msgspec cannot handle type {type!r}: {exc}"
            ) from None
        self.shared = immutable(type)

    def __repr__(self) -> str:
        return f"Channel({self.name!r}, {self.type!r}, codec={self.codec!r})"

    def encode(self, message: T) -> bytes:
        """Encode ``message`` for the wire, checking that it decodes back as ``T``.

        The check (one decode per publish, not per subscriber) means a subscriber never receives
        a payload it cannot decode from a publisher using this channel.

        Args:
            message: A value of the channel's type.

        Returns:
            The payload: JSON (UTF-8) or MessagePack bytes, per the channel's codec.

        Raises:
            TypeError: msgspec cannot encode the value.
            PayloadError: The value does not match the channel's type.
        """
        try:
            payload = self._encoder.encode(message)
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(
                f"cannot publish a {message.__class__.__name__} on channel {self.name!r}: {exc}"
            ) from None
        try:
            self._decoder.decode(payload)
        except msgspec.ValidationError as exc:
            raise PayloadError(
                f"a {message.__class__.__name__} does not match the type of channel "
                f"{self.name!r} ({self.type!r}): {exc}",
                payload,
            ) from None
        return payload

    def decode(self, payload: bytes) -> T:
        """Decode and validate one payload.

        Args:
            payload: What :meth:`encode` made.

        Returns:
            The message, validated as the channel's type.

        Raises:
            PayloadError: The payload does not decode as the channel's type (msgspec's message).
        """
        try:
            return self._decoder.decode(payload)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            raise PayloadError(
                f"a message on channel {self.name!r} does not decode as {self.type!r}: {exc}",
                payload,
            ) from None
