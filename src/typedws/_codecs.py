"""Encoders and decoders for application payloads: JSON (text or binary frames) and MessagePack.

This module owns turning application objects into frame payloads and back. It knows msgspec and
nothing about ASGI events or connection state (that is _websocket.py's business).

Theory of operation: msgspec builds a decoder per target type, and building one costs far more
than decoding a small message (it walks the type and compiles a plan). A :class:`Codec` therefore
keeps one decoder per target type in a dict keyed by the type itself (``Chat``, ``list[int]``,
``Chat | Join``... all hash by value), made the first time a type is asked for and reused for
every later message. The untyped decoder sits in the same dict under the key ``None``, so typed
and untyped receives take the same path. Before the dict, an identity check against the
last (type, decoder) pair: hashing a union (``Chat | Join``) builds a frozenset each time, about
five times the cost of hashing a class, and a connection usually asks for the same type object
over and over (a module-level alias, or the one an ``iter_json`` loop holds).

Hooks (``enc_hook``/``dec_hook``) are fixed when a Codec is made, so each Codec's cache is in
effect keyed by (hooks, type). Connections built without a codec share :data:`DEFAULT_CODEC`,
whose cache lives as long as the process.

Decoding errors become :class:`PayloadError` with msgspec's message (which names the path of the
offending field, e.g. ``$.user.id``) and the raw frame. Compiled with mypyc: everything here is
synchronous and runs once per message.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from typing import Any, Final, final

import msgspec

from typedws._errors import PayloadError
from typedws._errors import raise_from as _raise_from

__all__ = [
    "DEFAULT_CODEC",
    "Codec",
    "DecHook",
    "EncHook",
    "decode_json",
    "decode_msgpack",
    "union_members",
    "untagged_struct_problem",
]

#: msgspec's ``enc_hook``: called with an object msgspec cannot encode; returns one it can.
EncHook = Callable[[Any], Any]
#: msgspec's ``dec_hook``: called with the target type and the decoded builtin value.
DecHook = Callable[[type, Any], Any]


def union_members(form: object) -> tuple[object, ...]:
    """The members of a union type form (``A | B``, ``Union[A, B]``), or ``(form,)``."""
    if isinstance(form, types.UnionType) or typing.get_origin(form) is typing.Union:
        return typing.get_args(form)
    return (form,)


def _compiled_module(cls: type) -> str | None:
    """The name of the module defining ``cls`` if that module is a C extension (mypyc)."""
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if isinstance(filename, str) and filename.endswith(tuple(EXTENSION_SUFFIXES)):
        return cls.__module__
    return None


def untagged_struct_problem(form: object) -> str | None:
    """Explain an untagged Struct of a union when a mypyc-compiled module defines it.

    mypyc silently drops class keywords: ``class Chat(msgspec.Struct, tag="chat")`` in a
    compiled module loses its ``tag``, and msgspec then refuses the union with "all Struct types
    must be tagged", which does not say why. None when no member is such a Struct.
    """
    members = union_members(form)
    if len(members) < 2:
        return None
    for member in members:
        if not (isinstance(member, type) and issubclass(member, msgspec.Struct)):
            continue
        if member.__struct_config__.tag is not None:
            continue
        module = _compiled_module(member)
        if module is not None:
            return (
                f"{member.__qualname__} has no msgspec tag, and it is defined in {module!r}, a "
                "module compiled with mypyc: mypyc silently drops class keywords such as "
                "tag=..., so the Struct lost its tag. Keep msgspec.Struct classes in a module "
                "excluded from mypyc compilation, and import them from compiled code"
            )
    return None


def _decoder_problem(target: object, exc: TypeError) -> str:
    return untagged_struct_problem(target) or str(exc)


def _json_decoder(target: object, dec_hook: DecHook | None) -> msgspec.json.Decoder[Any]:
    try:
        return msgspec.json.Decoder(target, dec_hook=dec_hook)
    except TypeError as exc:
        problem = _decoder_problem(target, exc)
        _raise_from(TypeError(f"cannot decode JSON into {target!r}: {problem}"), exc)


def _msgpack_decoder(target: object, dec_hook: DecHook | None) -> msgspec.msgpack.Decoder[Any]:
    try:
        return msgspec.msgpack.Decoder(target, dec_hook=dec_hook)
    except TypeError as exc:
        problem = _decoder_problem(target, exc)
        _raise_from(TypeError(f"cannot decode MessagePack into {target!r}: {problem}"), exc)


def _hook_problem(name: str, hook: object) -> str | None:
    if hook is None or callable(hook):
        return None
    return f"{name} must be callable or None, got {type(hook).__name__}"


@final
class Codec:
    """How a connection encodes and decodes JSON and MessagePack payloads.

    ``Codec(enc_hook=..., dec_hook=...)`` passes the hooks to msgspec's encoders and decoders,
    for types msgspec does not know (see msgspec's "Extending" docs). Make one per set of hooks
    (typically at module level) and hand it to every ``WebSocket(..., codec=codec)``: its decoder
    cache is then shared by all those connections. A Codec is immutable.

    Args:
        enc_hook: Called by msgspec's encoders with an object they cannot encode; returns
            something they can (``str(fraction)``), or raises ``NotImplementedError``.
        dec_hook: Called by msgspec's decoders as ``dec_hook(target_type, obj)`` for a target
            type they do not know; returns the value, or raises ``NotImplementedError``. A
            ``ValueError`` or ``TypeError`` raised here becomes a ``PayloadError`` naming the
            field.

    Raises:
        TypeError: A hook is neither callable nor None.
    """

    def __init__(self, *, enc_hook: EncHook | None = None, dec_hook: DecHook | None = None) -> None:
        problem = _hook_problem("enc_hook", enc_hook) or _hook_problem("dec_hook", dec_hook)
        if problem:
            raise TypeError(problem)
        self._enc_hook = enc_hook
        self._dec_hook = dec_hook
        self._json_encoder = msgspec.json.Encoder(enc_hook=enc_hook)
        self._msgpack_encoder = msgspec.msgpack.Encoder(enc_hook=enc_hook)
        # The bound ``encode`` methods, looked up once: compiled code calls them directly,
        # where ``self._json_encoder.encode(data)`` would look the method up on every message.
        self._encode_json: Callable[[object], bytes] = self._json_encoder.encode
        self._encode_msgpack: Callable[[object], bytes] = self._msgpack_encoder.encode
        # Key None: decode into builtin types (dec_hook is never called for those).
        self._json_decoders: dict[object, msgspec.json.Decoder[Any]] = {
            None: msgspec.json.Decoder(dec_hook=dec_hook)
        }
        self._msgpack_decoders: dict[object, msgspec.msgpack.Decoder[Any]] = {
            None: msgspec.msgpack.Decoder(dec_hook=dec_hook)
        }
        # The last (target, decoder) pair handed out, as one tuple so that a reader in another
        # thread never sees the target of one pair with the decoder of another.
        self._json_last: tuple[object, msgspec.json.Decoder[Any]] = (
            None,
            self._json_decoders[None],
        )
        self._msgpack_last: tuple[object, msgspec.msgpack.Decoder[Any]] = (
            None,
            self._msgpack_decoders[None],
        )

    @property
    def enc_hook(self) -> EncHook | None:
        """The hook given to msgspec's encoders, if any."""
        return self._enc_hook

    @property
    def dec_hook(self) -> DecHook | None:
        """The hook given to msgspec's decoders, if any."""
        return self._dec_hook

    def __repr__(self) -> str:
        return f"Codec(enc_hook={self._enc_hook!r}, dec_hook={self._dec_hook!r})"

    def json_decoder(self, target: object) -> msgspec.json.Decoder[Any]:
        """The JSON decoder for ``target``, made on first use and then reused.

        Args:
            target: Any type msgspec decodes into (a Struct, a union, ``list[int]``...), or
                None for any JSON (dicts, lists, strings, numbers).

        Returns:
            A ``msgspec.json.Decoder`` with this codec's ``dec_hook``.

        Raises:
            TypeError: msgspec cannot decode into ``target`` (the message names it).
        """
        last = self._json_last
        if last[0] is target:
            return last[1]
        try:
            decoder = self._json_decoders.get(target)
        except TypeError:
            # An unhashable type form (Annotated with a dict in its metadata...): not cached.
            return _json_decoder(target, self._dec_hook)
        if decoder is None:
            decoder = _json_decoder(target, self._dec_hook)
            self._json_decoders[target] = decoder
        self._json_last = (target, decoder)
        return decoder

    def msgpack_decoder(self, target: object) -> msgspec.msgpack.Decoder[Any]:
        """The MessagePack decoder for ``target``, made on first use and then reused.

        Args:
            target: Any type msgspec decodes into, or None for any MessagePack value.

        Returns:
            A ``msgspec.msgpack.Decoder`` with this codec's ``dec_hook``.

        Raises:
            TypeError: msgspec cannot decode into ``target`` (the message names it).
        """
        last = self._msgpack_last
        if last[0] is target:
            return last[1]
        try:
            decoder = self._msgpack_decoders.get(target)
        except TypeError:
            return _msgpack_decoder(target, self._dec_hook)
        if decoder is None:
            decoder = _msgpack_decoder(target, self._dec_hook)
            self._msgpack_decoders[target] = decoder
        self._msgpack_last = (target, decoder)
        return decoder

    def encode_json(self, data: object) -> bytes:
        """Encode ``data`` as compact UTF-8 JSON (non-ASCII characters are not escaped).

        Args:
            data: Anything msgspec encodes, or what this codec's ``enc_hook`` turns into that.

        Returns:
            The JSON document, as UTF-8 bytes.

        Raises:
            TypeError: ``data`` cannot be encoded; the message names its type and, from
                msgspec, the type it could not encode (which may be nested inside ``data``).
        """
        try:
            return self._encode_json(data)
        except TypeError as exc:
            problem = f"cannot encode {type(data).__name__} as JSON: {exc}"
            _raise_from(TypeError(problem), exc)

    def encode_msgpack(self, data: object) -> bytes:
        """Encode ``data`` as MessagePack.

        Args:
            data: Anything msgspec encodes, or what this codec's ``enc_hook`` turns into that.

        Returns:
            The MessagePack bytes.

        Raises:
            TypeError: ``data`` cannot be encoded (as in :meth:`encode_json`).
        """
        try:
            return self._encode_msgpack(data)
        except TypeError as exc:
            problem = f"cannot encode {type(data).__name__} as MessagePack: {exc}"
            _raise_from(TypeError(problem), exc)


#: The codec of every connection made without one: no hooks.
DEFAULT_CODEC: Final = Codec()


# The decoders' ``decode`` methods, looked up once on the class: compiled code then calls
# ``_json_decode(decoder, frame)`` directly, where ``decoder.decode(frame)`` would look the method
# up on the type for every message.
# (``Decoder[Any]``, the same class at run time: on the bare class, ``decode`` is generic in the
# decoder's type, which pyright leaves unknown.)
_json_decode: Final = msgspec.json.Decoder[Any].decode
_msgpack_decode: Final = msgspec.msgpack.Decoder[Any].decode


def _utf8_problem(frame: bytes) -> UnicodeDecodeError | None:
    """The UTF-8 error of a whole binary frame, or None if the frame is valid UTF-8."""
    try:
        frame.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc
    return None


def _is_utf8_error(exc: Exception) -> bool:
    """Whether msgspec rejected a string (JSON in a binary frame, or MessagePack) for its UTF-8.

    msgspec up to 0.22 raises UnicodeDecodeError; 0.23 raises DecodeError("Invalid UTF-8 encoded
    string"). Both are read here so that the PayloadError reads the same on every msgspec that
    pyproject.toml allows (tests_lowest and tests_latest run the hostile-input tests on both).
    """
    return isinstance(exc, UnicodeDecodeError) or "UTF-8" in str(exc)


# msgspec ends a ValidationError's message with the path of the bad value: "... - at `$.a[0]`".
_PATH_MARK: Final = " - at `"


def _path_of(exc: msgspec.ValidationError) -> str | None:
    """The ``$.user.id`` path msgspec put at the end of its message, or None (top level)."""
    message = str(exc)
    start = message.rfind(_PATH_MARK)
    if start < 0 or not message.endswith("`"):
        return None
    return message[start + len(_PATH_MARK) : -1]


def decode_json(decoder: msgspec.json.Decoder[Any], frame: str | bytes) -> Any:
    """Decode a JSON frame with ``decoder``; PayloadError (keeping the frame) on bad input."""
    try:
        return _json_decode(decoder, frame)
    except msgspec.ValidationError as exc:
        problem = f"JSON message does not match the expected type: {exc}"
        _raise_from(PayloadError(problem, frame, kind="schema", path=_path_of(exc)), exc)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        # Invalid UTF-8 inside a string of a binary frame (see _is_utf8_error: the exception
        # differs by msgspec version, and neither says where in the frame). The frame is decoded
        # here, on this error path only, so that the message names the frame's own offset
        # whichever msgspec is installed. Bytes outside any string are a syntax error.
        bad_utf8 = (
            _utf8_problem(frame) if _is_utf8_error(exc) and isinstance(frame, bytes) else None
        )
        if bad_utf8 is not None:
            problem = f"binary JSON message is not valid UTF-8: {bad_utf8}"
            _raise_from(PayloadError(problem, frame, kind="encoding"), exc)
        problem = f"message is not valid JSON: {exc}"
        _raise_from(PayloadError(problem, frame, kind="syntax"), exc)
    except UnicodeEncodeError as exc:
        # A text frame holding a lone surrogate (no UTF-8 form; only a buggy server hands one
        # over, as RFC 6455 section 8.1 makes the frame invalid) cannot be decoded.
        problem = f"text JSON message is not valid Unicode: {exc}"
        _raise_from(PayloadError(problem, frame, kind="encoding"), exc)
    except RecursionError as exc:
        # msgspec guards its recursion with the interpreter's limit: deeply nested arrays or
        # objects (a cheap attack, a few bytes per level) end here instead of crashing.
        problem = f"JSON message is nested too deeply: {exc}"
        _raise_from(PayloadError(problem, frame, kind="depth"), exc)


def decode_msgpack(decoder: msgspec.msgpack.Decoder[Any], frame: bytes) -> Any:
    """Decode a MessagePack frame with ``decoder``; PayloadError (keeping the frame) on bad
    input."""
    try:
        return _msgpack_decode(decoder, frame)
    except msgspec.ValidationError as exc:
        problem = f"MessagePack message does not match the expected type: {exc}"
        _raise_from(PayloadError(problem, frame, kind="schema", path=_path_of(exc)), exc)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        if _is_utf8_error(exc):
            # A MessagePack str must hold UTF-8 (msgspec's wording differs by version, see
            # _is_utf8_error; the prefix of this message is what typedws promises).
            problem = f"MessagePack string is not valid UTF-8: {exc}"
            _raise_from(PayloadError(problem, frame, kind="encoding"), exc)
        problem = f"message is not valid MessagePack: {exc}"
        _raise_from(PayloadError(problem, frame, kind="syntax"), exc)
    except RecursionError as exc:
        problem = f"MessagePack message is nested too deeply: {exc}"
        _raise_from(PayloadError(problem, frame, kind="depth"), exc)
