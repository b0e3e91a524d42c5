"""``Channel``: a named, typed stream of messages, and its codec.

A channel is a value (name + message type + wire format), not a connection: declare it once at
module level and use it from any number of ``Broadcast`` instances. Encoding happens once per
``publish``, decoding once per subscriber; ``forward`` sends the encoded bytes as they are.

Not compiled: the work here is done inside msgspec, so mypyc would only add a layer.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import msgspec

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


class Channel(Generic[T]):
    """A named channel whose messages are of type ``T``, encoded as JSON or MessagePack.

    ``T`` is anything msgspec can encode and decode: Structs, dataclasses, TypedDicts, tagged
    unions of Structs, builtins. ``T`` is inferred from the type given, a union or other type
    form included (PEP 747 ``TypeForm``): ``Channel("room", Chat | Join)`` is a
    ``Channel[Chat | Join]`` under mypy and pyright; spelling it, ``Channel[Chat | Join](...)``,
    works too.

    Raises ``TypeError`` for a name that is not a ``str`` or a type msgspec cannot handle, and
    ``ValueError`` for an empty or too long name, one with control characters, or an unknown codec.
    """

    __slots__ = ("_decoder", "_encoder", "codec", "name", "type")

    # (``type`` shadows the builtin inside this class: annotations spell ``builtins.type``.)
    name: str
    type: Any
    codec: Codec

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

    def __repr__(self) -> str:
        return f"Channel({self.name!r}, {self.type!r}, codec={self.codec!r})"

    def encode(self, message: T) -> bytes:
        """Encode ``message`` for the wire, checking that it decodes back as ``T``.

        The check (one decode per publish, not per subscriber) means a subscriber never receives
        a payload it cannot decode from a publisher using this channel. Raises ``TypeError`` when
        msgspec cannot encode the value and ``PayloadError`` when it does not match ``T``.
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
        """Decode and validate one payload; ``PayloadError`` (with msgspec's message) if bad."""
        try:
            return self._decoder.decode(payload)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            raise PayloadError(
                f"a message on channel {self.name!r} does not decode as {self.type!r}: {exc}",
                payload,
            ) from None
