"""Checking ASGI events as they cross the boundary between server and application.

The rules are those of :mod:`typedws.events` (the ASGI websocket spec 2.4): the type is a known
string, required fields are present, fields have the right types, exactly one of ``bytes`` and
``text`` is set on a data frame, codes are ints, headers are lists of byte pairs. Unknown extra
keys are ignored, as the spec asks of receivers.

They are written out by hand rather than run through ``msgspec.convert`` because this is the hot
path and this module is compiled with mypyc: a handful of dict lookups and type checks in C cost a
fraction of a generic conversion. The test-suite holds these checks to the msgspec schemas.

Every function here is synchronous and knows nothing of the connection's state (see _state.py);
each either returns checked data or raises with a message naming the event and the field. This
module never logs, awaits or performs I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, cast

from typedws._errors import ProtocolError, raise_from
from typedws._state import (
    ACCEPT,
    CLOSE,
    RECEIVE_EVENT_TYPES,
    RESPONSE_BODY,
    RESPONSE_START,
    SEND,
    SEND_EVENT_TYPES,
)
from typedws.events import Accept, Close, ResponseBody, ResponseStart, Send

#: Header names are HTTP tokens (RFC 9110 section 5.6.2).
_TOKEN_CHARS: Final = frozenset(
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
#: The same as a table indexed by byte (1: a token character): compiled code tests a name byte
#: by byte with one indexing each, where ``_TOKEN_CHARS.issuperset(name)`` is a method call that
#: boxes every byte for a set lookup.
_TOKEN_TABLE: Final = bytes(1 if byte in _TOKEN_CHARS else 0 for byte in range(256))
#: CR, LF and NUL, the header-injection bytes, as the ints ``in`` tests on bytes look for.
_CR: Final = 13
_LF: Final = 10
_NUL: Final = 0
#: Close reasons travel in a control frame, whose payload is at most 125 bytes, two of them the
#: code (RFC 6455 section 5.5).
MAX_CLOSE_REASON_BYTES: Final = 123
# ``dict`` itself, typed as the event dicts of ASGI (str keys): ``type(message) is _EVENT_DICT``
# is the same pointer compare as ``is dict``, and both checkers narrow it to ``dict[str, object]``
# (pyright narrows ``is dict`` on an ``object`` to ``dict[Unknown, Unknown]``, which its strict
# mode reports at every read). ``isinstance`` keeps no such type argument: the rare non-dict
# mappings below are cast, next to the copy that they cost anyway.
_EVENT_DICT: Final[type[dict[str, object]]] = dict
# ``list`` and ``tuple`` likewise, for header_pairs' exact-type tests.
_LIST: Final[type[list[object]]] = list
_TUPLE: Final[type[tuple[object, ...]]] = tuple


def _type_name(value: object) -> str:
    return type(value).__name__


# --- events from the server ---------------------------------------------------------------------


def server_event(message: object) -> tuple[str, dict[str, object]]:
    """Check that ``message`` is an event a server may send; return its type and a dict view.

    Raises ProtocolError if it is not a mapping, has no string ``type``, or its type is not a
    websocket event a server sends (``websocket.connect``, ``.receive`` or ``.disconnect``).
    """
    if type(message) is _EVENT_DICT:
        event = message
    elif isinstance(message, Mapping):
        event = dict(cast("Mapping[str, object]", message))
    else:
        raise ProtocolError(
            f"the server sent a {_type_name(message)} where an ASGI event dict was expected"
        )
    event_type = event.get("type")
    if not isinstance(event_type, str):
        if event_type is None:
            raise ProtocolError("the server sent an event without a 'type' field")
        raise ProtocolError(
            f"the server sent an event whose 'type' is a {_type_name(event_type)}, not a str"
        )
    if event_type not in RECEIVE_EVENT_TYPES:
        raise ProtocolError(
            f"the server sent an event of type {event_type!r}, which is not a websocket event "
            "a server may send (websocket.connect, websocket.receive, websocket.disconnect)"
        )
    return event_type, event


def data_frame(event: dict[str, object], event_type: str) -> str | bytes:
    """The payload of a ``websocket.receive``/``websocket.send`` event: exactly one of its
    ``bytes`` and ``text`` fields is set, with the right type."""
    data = event.get("bytes")
    text = event.get("text")
    if text is None:
        if type(data) is bytes:
            return data
        if data is None:
            raise ProtocolError(f"{event_type} event: neither 'bytes' nor 'text' is set")
        raise ProtocolError(
            f"{event_type} event: field 'bytes' must be bytes, got {_type_name(data)}"
        )
    if data is not None:
        raise ProtocolError(
            f"{event_type} event: both 'bytes' and 'text' are set; exactly one must be"
        )
    if type(text) is str:
        return text
    raise ProtocolError(f"{event_type} event: field 'text' must be str, got {_type_name(text)}")


def int_code(code: object) -> int | None:
    """A close code as a plain int, or None if it is not one.

    Any int subclass but bool is taken, as an int: servers and applications hand over IntEnum
    codes (uvicorn's websockets implementation passes on websockets' ``CloseCode`` in
    websocket.disconnect; applications use such enums too). bool is an int but no close code.
    """
    if type(code) is int:
        return code
    if isinstance(code, int) and not isinstance(code, bool):
        return int(code)
    return None


def disconnect_fields(event: dict[str, object]) -> tuple[int, str]:
    """``code`` (default 1005) and ``reason`` (default "") of a ``websocket.disconnect`` event."""
    raw_code = event.get("code", 1005)
    code = int_code(raw_code)
    if code is None:
        raise ProtocolError(
            f"websocket.disconnect event: field 'code' must be int, got {_type_name(raw_code)}"
        )
    reason = event.get("reason")
    if reason is None:
        return code, ""
    if type(reason) is not str:
        raise ProtocolError(
            f"websocket.disconnect event: field 'reason' must be str, got {_type_name(reason)}"
        )
    return code, reason


# --- events from the application ---------------------------------------------------------------


def close_code_problem(code: object) -> str:
    """Why ``code`` may not be sent in a close frame, or "" if it may (RFC 6455 section 7.4).

    1004-1006 and 1015 are reserved for reporting, never sent; 1016-2999 are reserved for future
    protocol use; 3000-4999 are for libraries and applications.
    """
    value = int_code(code)
    if value is None:
        return f"close code must be an int, got {_type_name(code)}"
    if 1000 <= value <= 1003 or 1007 <= value <= 1014 or 3000 <= value <= 4999:
        return ""
    return (
        f"close code {value} may not be sent (RFC 6455 section 7.4 allows 1000-1003, "
        "1007-1014 and 3000-4999)"
    )


def close_reason_problem(reason: object) -> str:
    """Why ``reason`` may not be sent in a close frame, or "" if it may."""
    if reason is None:
        return ""
    if type(reason) is not str:
        return f"close reason must be a str or None, got {_type_name(reason)}"
    if reason.isascii():
        # (isascii reads a flag CPython keeps on every str: no scan, and no encoding needed.)
        size = len(reason)
    else:
        try:
            size = len(reason.encode("utf-8"))
        except UnicodeEncodeError:
            # Checked here, before the state changes: the server's encoder would fail only
            # after typedws had marked the connection closed, leaving it open with no way to
            # close it.
            return (
                f"close reason {reason!r} has a lone surrogate; a close frame carries UTF-8 "
                "(RFC 6455 section 5.5.1)"
            )
    if size > MAX_CLOSE_REASON_BYTES:
        return (
            f"close reason is {size} bytes in UTF-8; at most {MAX_CLOSE_REASON_BYTES} fit in a "
            "close frame (RFC 6455 section 5.5)"
        )
    return ""


def _header_bytes(value: object, what: str) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(
                f"header {what} {value!r} has characters outside latin-1; encode it first"
            ) from None
    if isinstance(value, (bytes, bytearray, memoryview)):
        # Cast: pyright narrows to memoryview[Unknown] (isinstance drops the default type argument).
        return bytes(cast("bytes | bytearray | memoryview[int]", value))
    raise ValueError(f"header {what} must be bytes or str, got {_type_name(value)}")


def _is_token(name: bytes) -> bool:
    """Whether every byte of ``name`` is an HTTP token character."""
    return all(_TOKEN_TABLE[byte] for byte in name)  # mypyc compiles this to a loop


def header_pairs(headers: object) -> list[tuple[bytes, bytes]]:
    """Normalise headers for ``websocket.accept`` or a denial response.

    Takes a mapping (a multidict keeps its repeated keys) or an iterable of ``(name, value)``
    pairs of bytes or str. Names are lower-cased, as ASGI requires of accept headers. Raises
    ValueError naming the header if a name is not an HTTP token, a value holds CR, LF or NUL (the
    classic header-injection characters), or ``sec-websocket-protocol`` is given (the server writes
    it from ``subprotocol``).
    """
    if headers is None:
        return []
    # The exact-type tests first: they are what callers pass nearly always, and cost a pointer
    # compare where the ABC isinstance checks below cost a trip through abc's subclass cache.
    if type(headers) is _LIST or type(headers) is _TUPLE:
        items: Iterable[object] = headers
    elif isinstance(headers, Mapping):
        items = cast("Mapping[object, object]", headers).items()
    elif isinstance(headers, (str, bytes, bytearray)) or not isinstance(headers, Iterable):
        raise ValueError(
            "headers must be a mapping or an iterable of (name, value) pairs, "
            f"got {_type_name(headers)}"
        )
    else:
        items = cast("Iterable[object]", headers)
    result: list[tuple[bytes, bytes]] = []
    for item in items:
        pair = (
            cast("tuple[object, ...] | list[object]", item)
            if isinstance(item, (tuple, list))
            else None
        )
        if pair is None or len(pair) != 2:
            raise ValueError(f"each header must be a (name, value) pair, got {item!r}")
        name = _header_bytes(pair[0], "name").lower()
        value = _header_bytes(pair[1], "value")
        if not name or not _is_token(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP token")
        # Byte values, not one-byte strings: ``13 in value`` is a memchr, while ``b"\r" in
        # value`` first tries its operand as an int, raising and clearing a TypeError inside
        # CPython on every test (benchmarks/RESULTS.md, "Code shape").
        if _CR in value or _LF in value or _NUL in value:
            raise ValueError(f"header {name.decode('latin-1')!r} has CR, LF or NUL in its value")
        if name == b"sec-websocket-protocol":
            raise ValueError(
                "do not set the sec-websocket-protocol header; pass subprotocol= to accept()"
            )
        result.append((name, value))
    return result


def app_event(message: object) -> tuple[str, dict[str, object]]:
    """Check an event the application hands to the raw ``send``; return (type, wire dict).

    ``message`` is one of the :mod:`typedws.events` Structs or a plain dict. The wire dict is a
    fresh dict holding only the fields of the spec, normalised (headers as lists of byte pairs).
    Raises ProtocolError naming the event and the field.
    """
    # A dict-typed ``fields`` lets compiled code use dict lookups (a Mapping-typed one would
    # look up and call ``.get`` as a method each time); another mapping is copied into one.
    fields: dict[str, object]
    event_type: object
    if type(message) is _EVENT_DICT:  # exact type first: see above
        fields = message
        event_type = fields.get("type")
    elif isinstance(message, Mapping):
        fields = dict(cast("Mapping[str, object]", message))
        event_type = fields.get("type")
    else:
        event_type, fields = _struct_event(message)  # a str tag: the check below passes
    if not isinstance(event_type, str):
        raise ProtocolError(
            "the application sent an event without a str 'type' field "
            f"(got {_type_name(event_type)})"
        )
    if event_type not in SEND_EVENT_TYPES:
        raise ProtocolError(
            f"the application sent an event of type {event_type!r}, which is not a websocket "
            "event an application may send (" + ", ".join(sorted(SEND_EVENT_TYPES)) + ")"
        )
    if event_type == SEND:
        payload = data_frame_from_app(fields)
        if isinstance(payload, str):
            return event_type, {"type": SEND, "text": payload}
        return event_type, {"type": SEND, "bytes": payload}
    if event_type == ACCEPT:
        subprotocol = fields.get("subprotocol")
        if subprotocol is not None and type(subprotocol) is not str:
            raise ProtocolError(
                "websocket.accept event: field 'subprotocol' must be str or None, "
                f"got {_type_name(subprotocol)}"
            )
        wire: dict[str, object] = {"type": ACCEPT, "subprotocol": subprotocol}
        wire["headers"] = _checked_headers(event_type, fields.get("headers"))
        return event_type, wire
    if event_type == CLOSE:
        code = fields.get("code", 1000)
        problem = close_code_problem(code) or close_reason_problem(fields.get("reason"))
        if problem:
            raise ProtocolError(f"websocket.close event: {problem}")
        return event_type, {
            "type": CLOSE,
            "code": int_code(code),  # a plain int on the wire, also for an IntEnum
            "reason": fields.get("reason"),
        }
    if event_type == RESPONSE_START:
        status = fields.get("status")
        if type(status) is not int or not 100 <= status <= 599:
            raise ProtocolError(
                "websocket.http.response.start event: field 'status' must be an int HTTP "
                f"status (100-599), got {status!r}"
            )
        headers = _checked_headers(event_type, fields.get("headers"))
        return event_type, {"type": RESPONSE_START, "status": status, "headers": headers}
    # RESPONSE_BODY
    body = fields.get("body", b"")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise ProtocolError(
            "websocket.http.response.body event: field 'body' must be bytes, "
            f"got {_type_name(body)}"
        )
    more_body = fields.get("more_body", False)
    if type(more_body) is not bool:
        raise ProtocolError(
            "websocket.http.response.body event: field 'more_body' must be bool, "
            f"got {_type_name(more_body)}"
        )
    # bytes(body) copies a bytearray or memoryview; for bytes it is the same object, and the call
    # (a builtins lookup and a type call in compiled code) would cost more than the whole check.
    buffer = cast("bytes | bytearray | memoryview[int]", body)  # see _header_bytes
    payload = buffer if type(buffer) is bytes else bytes(buffer)
    return event_type, {"type": RESPONSE_BODY, "body": payload, "more_body": more_body}


def data_frame_from_app(fields: Mapping[str, object]) -> str | bytes:
    """The payload of a ``websocket.send`` event from the application (see :func:`data_frame`)."""
    data = fields.get("bytes")
    text = fields.get("text")
    if text is None and isinstance(data, (bytearray, memoryview)):
        # pyright narrows to memoryview[Unknown] here (isinstance drops the type argument's
        # default), and every form that it narrows to memoryview[int] costs a second check or a
        # cast() call per message; the argument is fine for bytes() whatever the item type.
        return bytes(data)  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(fields, dict):
        return data_frame(fields, SEND)
    return data_frame(dict(fields), SEND)


def _checked_headers(event_type: str, headers: object) -> list[tuple[bytes, bytes]]:
    try:
        return header_pairs(headers)
    except ValueError as exc:
        raise_from(ProtocolError(f"{event_type} event: field 'headers': {exc}"), None)


def _struct_event(message: object) -> tuple[str, dict[str, object]]:
    """The tag and fields of a Struct handed to the raw ``send``.

    The typedws.events classes are read field by field, by name (exact type tests: a pointer
    compare each); any other Struct (a subclass, say) through msgspec's introspection. Fields are
    read with ``getattr`` on purpose: msgspec does not check a Struct's field types when it is
    built, and compiled code reading ``message.text`` would check the annotation itself and raise
    its own TypeError, where the checks below name the event and the field.
    """
    if type(message) is Send:
        return SEND, {"bytes": getattr(message, "bytes"), "text": getattr(message, "text")}  # noqa: B009
    if type(message) is Close:
        return CLOSE, {"code": getattr(message, "code"), "reason": getattr(message, "reason")}  # noqa: B009
    if type(message) is Accept:
        return ACCEPT, {
            "subprotocol": getattr(message, "subprotocol"),  # noqa: B009
            "headers": getattr(message, "headers"),  # noqa: B009
        }
    if type(message) is ResponseStart:
        return RESPONSE_START, {
            "status": getattr(message, "status"),  # noqa: B009
            "headers": getattr(message, "headers"),  # noqa: B009
        }
    if type(message) is ResponseBody:
        return RESPONSE_BODY, {
            "body": getattr(message, "body"),  # noqa: B009
            "more_body": getattr(message, "more_body"),  # noqa: B009
        }
    event_type = _struct_tag(message)
    return event_type, {name: getattr(message, name) for name in _struct_fields(message)}


def _struct_tag(message: object) -> str:
    config = getattr(message, "__struct_config__", None)
    tag = getattr(config, "tag", None)
    if not isinstance(tag, str):
        raise ProtocolError(
            f"the application sent a {_type_name(message)}; send a typedws.events Struct "
            "or an ASGI event dict"
        )
    return tag


def _struct_fields(message: object) -> tuple[str, ...]:
    names = getattr(message, "__struct_fields__", ())
    assert isinstance(names, tuple)
    return cast("tuple[str, ...]", names)  # msgspec's field names
