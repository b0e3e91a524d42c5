"""Encoders and decoders for application payloads: JSON (text or binary frames) and MessagePack.

msgspec builds a decoder per target type; building one costs far more than a decode, so they
are made once per type and kept in a dict keyed by the type (``Chat``, ``list[int]``,
``Chat | Join``...). Decoding errors become :class:`PayloadError` carrying msgspec's message (with
the path of the offending field) and the raw frame. Compiled with mypyc.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from typedws._errors import PayloadError

_json_encode: Final = msgspec.json.Encoder().encode
_msgpack_encode: Final = msgspec.msgpack.Encoder().encode
_json_decode_any: Final = msgspec.json.Decoder().decode
_msgpack_decode_any: Final = msgspec.msgpack.Decoder().decode

_json_decoders: dict[object, msgspec.json.Decoder[Any]] = {}
_msgpack_decoders: dict[object, msgspec.msgpack.Decoder[Any]] = {}


def json_decoder(target: object) -> msgspec.json.Decoder[Any]:
    """The cached JSON decoder for ``target`` (a type msgspec understands)."""
    decoder = _json_decoders.get(target)
    if decoder is None:
        decoder = msgspec.json.Decoder(target)
        _json_decoders[target] = decoder
    return decoder


def msgpack_decoder(target: object) -> msgspec.msgpack.Decoder[Any]:
    """The cached MessagePack decoder for ``target``."""
    decoder = _msgpack_decoders.get(target)
    if decoder is None:
        decoder = msgspec.msgpack.Decoder(target)
        _msgpack_decoders[target] = decoder
    return decoder


def encode_json(data: object) -> bytes:
    """Compact UTF-8 JSON (no ASCII escaping). TypeError names an unsupported type."""
    return _json_encode(data)


def encode_msgpack(data: object) -> bytes:
    """MessagePack bytes. TypeError names an unsupported type."""
    return _msgpack_encode(data)


def decode_json(frame: str | bytes, target: object) -> Any:
    """Decode a JSON frame, into ``target`` when it is not None; PayloadError on bad input."""
    try:
        if target is None:
            return _json_decode_any(frame)
        return json_decoder(target).decode(frame)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"JSON message does not match the expected type: {exc}", frame) from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(f"message is not valid JSON: {exc}", frame) from exc
    except UnicodeDecodeError as exc:
        # msgspec checks UTF-8 in binary frames and reports it with the stdlib error.
        raise PayloadError(f"binary JSON message is not valid UTF-8: {exc}", frame) from exc
    except UnicodeEncodeError as exc:
        # A text frame holding a lone surrogate (no UTF-8 form; only a buggy server hands one
        # over, as RFC 6455 section 8.1 makes the frame invalid) cannot be decoded.
        raise PayloadError(f"text JSON message is not valid Unicode: {exc}", frame) from exc
    except RecursionError as exc:
        # msgspec guards its recursion with the interpreter's limit: deeply nested arrays or
        # objects (a cheap attack, a few bytes per level) end here instead of crashing.
        raise PayloadError(f"JSON message is nested too deeply: {exc}", frame) from exc


def decode_msgpack(frame: bytes, target: object) -> Any:
    """Decode a MessagePack frame, into ``target`` unless None; PayloadError on bad input."""
    try:
        if target is None:
            return _msgpack_decode_any(frame)
        return msgpack_decoder(target).decode(frame)
    except msgspec.ValidationError as exc:
        raise PayloadError(
            f"MessagePack message does not match the expected type: {exc}", frame
        ) from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(f"message is not valid MessagePack: {exc}", frame) from exc
    except RecursionError as exc:
        raise PayloadError(f"MessagePack message is nested too deeply: {exc}", frame) from exc
