"""Event checks of typedws._validate, held to the msgspec schemas of typedws.events."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from typedws import ProtocolError
from typedws._validate import (
    app_event,
    close_code_problem,
    close_reason_problem,
    data_frame,
    disconnect_fields,
    header_pairs,
    server_event,
)
from typedws.events import (
    Accept,
    Close,
    Disconnect,
    Receive,
    ReceiveEvent,
    ResponseBody,
    ResponseStart,
    Send,
    SendEvent,
)

# --- events from the server -----------------------------------------------------------------

MALFORMED_SERVER_EVENTS: list[tuple[object, str]] = [
    ("websocket.connect", "str where an ASGI event dict"),
    (None, "NoneType where an ASGI event dict"),
    ({}, "without a 'type' field"),
    ({"type": 7}, "'type' is a int"),
    ({"type": "websocket.send", "text": "x"}, "'websocket.send', which is not"),
    ({"type": "http.request"}, "'http.request', which is not"),
    ({"type": "websocket.receive"}, "neither 'bytes' nor 'text'"),
    ({"type": "websocket.receive", "bytes": None, "text": None}, "neither 'bytes' nor 'text'"),
    ({"type": "websocket.receive", "bytes": b"a", "text": "a"}, "both 'bytes' and 'text'"),
    ({"type": "websocket.receive", "text": b"a"}, "field 'text' must be str, got bytes"),
    ({"type": "websocket.receive", "bytes": "a"}, "field 'bytes' must be bytes, got str"),
    ({"type": "websocket.receive", "bytes": 3}, "field 'bytes' must be bytes, got int"),
    ({"type": "websocket.disconnect", "code": "1000"}, "field 'code' must be int, got str"),
    ({"type": "websocket.disconnect", "code": True}, "field 'code' must be int, got bool"),
    ({"type": "websocket.disconnect", "code": 1000, "reason": 5}, "'reason' must be str"),
    ({"type": "websocket.disconnect", "code": 1000.0}, "field 'code' must be int, got float"),
]


def _check_server_event(message: object) -> object:
    event_type, event = server_event(message)
    if event_type == "websocket.receive":
        return data_frame(event, event_type)
    if event_type == "websocket.disconnect":
        return disconnect_fields(event)
    return None


@pytest.mark.parametrize(("message", "expected"), MALFORMED_SERVER_EVENTS)
def test_malformed_server_events_name_the_problem(message: object, expected: str) -> None:
    with pytest.raises(ProtocolError) as info:
        _check_server_event(message)
    assert expected in str(info.value)


@pytest.mark.parametrize(("message", "expected"), MALFORMED_SERVER_EVENTS)
def test_msgspec_schema_also_rejects_them(message: object, expected: str) -> None:
    # The hand-written checks and the published schema agree on what is malformed.
    with pytest.raises(msgspec.ValidationError):
        _convert_strictly(message)


def _convert_strictly(message: object) -> None:
    """msgspec's conversion plus the one rule a Struct cannot state: exactly one payload."""
    event = msgspec.convert(message, ReceiveEvent, strict=True)
    if isinstance(event, Receive) and (event.bytes is None) == (event.text is None):
        raise msgspec.ValidationError("exactly one of bytes/text")


def test_unknown_extra_keys_are_ignored() -> None:
    message = {"type": "websocket.receive", "text": "hi", "x-newer-server": 1}
    assert _check_server_event(message) == "hi"
    assert disconnect_fields({"type": "websocket.disconnect"}) == (1005, "")


def test_a_non_dict_mapping_is_accepted() -> None:
    from types import MappingProxyType

    event_type, event = server_event(MappingProxyType({"type": "websocket.connect"}))
    assert event_type == "websocket.connect"
    assert event == {"type": "websocket.connect"}


server_events = st.one_of(
    st.builds(lambda t: {"type": "websocket.receive", "text": t}, st.text()),
    st.builds(lambda b: {"type": "websocket.receive", "bytes": b}, st.binary()),
    st.builds(
        lambda c, r: {"type": "websocket.disconnect", "code": c, "reason": r},
        st.integers(0, 5000),
        st.text(),
    ),
    st.just({"type": "websocket.connect"}),
)


@given(server_events)
def test_valid_server_events_match_the_schema(message: dict[str, Any]) -> None:
    event = msgspec.convert(message, ReceiveEvent, strict=True)
    checked = _check_server_event(message)
    if isinstance(event, Receive):
        assert checked == (event.text if event.text is not None else event.bytes)
    elif isinstance(event, Disconnect):
        assert checked == (event.code, event.reason)
    else:
        assert checked is None


# --- events from the application --------------------------------------------------------------

MALFORMED_APP_EVENTS: list[tuple[object, str]] = [
    ({"text": "x"}, "without a str 'type'"),
    ({"type": "websocket.receive", "text": "x"}, "not a websocket event an application"),
    ({"type": "websocket.send"}, "neither 'bytes' nor 'text'"),
    ({"type": "websocket.send", "text": "a", "bytes": b"a"}, "both 'bytes' and 'text'"),
    ({"type": "websocket.send", "text": 1}, "field 'text' must be str"),
    ({"type": "websocket.accept", "subprotocol": 1}, "'subprotocol' must be str or None"),
    ({"type": "websocket.accept", "headers": [(b"a",)]}, "(name, value) pair"),
    ({"type": "websocket.accept", "headers": [(b"x", b"a\r\nb")]}, "CR, LF or NUL"),
    ({"type": "websocket.accept", "headers": [(1, b"a")]}, "header name must be bytes or str"),
    ({"type": "websocket.close", "code": 1005}, "close code 1005 may not be sent"),
    ({"type": "websocket.close", "code": "1000"}, "close code must be an int"),
    ({"type": "websocket.close", "reason": "x" * 124}, "124 bytes"),
    ({"type": "websocket.close", "reason": 5}, "close reason must be a str"),
    ({"type": "websocket.http.response.start"}, "'status' must be an int"),
    ({"type": "websocket.http.response.start", "status": 99}, "'status' must be an int"),
    ({"type": "websocket.http.response.body", "body": "x"}, "'body' must be bytes"),
    ({"type": "websocket.http.response.body", "more_body": 1}, "'more_body' must be bool"),
    (object(), "send a typedws.events Struct or an ASGI event dict"),
]


@pytest.mark.parametrize(("message", "expected"), MALFORMED_APP_EVENTS)
def test_malformed_app_events_name_the_problem(message: object, expected: str) -> None:
    with pytest.raises(ProtocolError) as info:
        app_event(message)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("struct", "wire"),
    [
        (Accept(), {"type": "websocket.accept", "subprotocol": None, "headers": []}),
        (
            Accept(subprotocol="chat", headers=[(b"X-A", b"1")]),
            {"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-a", b"1")]},
        ),
        (Send(text="hi"), {"type": "websocket.send", "text": "hi"}),
        (Send(bytes=b"\x00"), {"type": "websocket.send", "bytes": b"\x00"}),
        (Close(), {"type": "websocket.close", "code": 1000, "reason": None}),
        (Close(4000, "bye"), {"type": "websocket.close", "code": 4000, "reason": "bye"}),
        (
            ResponseStart(status=403),
            {"type": "websocket.http.response.start", "status": 403, "headers": []},
        ),
        (
            ResponseBody(body=b"no", more_body=True),
            {"type": "websocket.http.response.body", "body": b"no", "more_body": True},
        ),
    ],
)
def test_structs_and_dicts_give_the_same_wire_event(struct: SendEvent, wire: object) -> None:
    assert app_event(struct)[1] == wire
    as_dict = {"type": struct.__struct_config__.tag}
    as_dict.update({f: getattr(struct, f) for f in struct.__struct_fields__})
    assert app_event(as_dict)[1] == wire


def test_bytes_like_payloads_become_bytes() -> None:
    _, wire = app_event({"type": "websocket.send", "bytes": bytearray(b"ab")})
    assert wire == {"type": "websocket.send", "bytes": b"ab"}
    assert type(wire["bytes"]) is bytes


# --- close codes, reasons, headers -----------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999])
def test_sendable_close_codes(code: int) -> None:
    assert close_code_problem(code) == ""


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, -1])
def test_unsendable_close_codes(code: int) -> None:
    assert "RFC 6455" in close_code_problem(code)


@given(st.integers())
def test_close_code_rule_is_the_rfc_ranges(code: int) -> None:
    sendable = 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999
    assert (close_code_problem(code) == "") == sendable


def test_close_reason_limit_counts_utf8_bytes() -> None:
    assert close_reason_problem("é" * 61) == ""  # 122 bytes
    assert "124 bytes" in close_reason_problem("é" * 62)
    assert close_reason_problem(None) == ""


def test_header_pairs_accepts_every_documented_shape() -> None:
    from multidict import CIMultiDict

    expected = [(b"x-a", b"1"), (b"x-b", b"2")]
    assert header_pairs([(b"X-A", b"1"), (b"x-b", b"2")]) == expected
    assert header_pairs([("X-A", "1"), ("x-b", "2")]) == expected
    assert header_pairs({"X-A": "1", "x-b": "2"}) == expected
    assert header_pairs(CIMultiDict([("X-A", "1"), ("x-a", "3")])) == [
        (b"x-a", b"1"),
        (b"x-a", b"3"),
    ]
    assert header_pairs(None) == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("x", "a\nb")], "CR, LF or NUL"),
        ([("x", "a\rb")], "CR, LF or NUL"),
        ([("x", "a\0b")], "CR, LF or NUL"),
        ([("x y", "a")], "not a valid HTTP token"),
        ([("", "a")], "not a valid HTTP token"),
        ([("x:y", "a")], "not a valid HTTP token"),
        ([("Sec-WebSocket-Protocol", "chat")], "pass subprotocol= to accept()"),
        ([("x", "€")], "outside latin-1"),
        ("x-a: 1", "mapping or an iterable"),
        (42, "mapping or an iterable"),
        ([("x", "a", "b")], "(name, value) pair"),
    ],
)
def test_header_pairs_refuses_bad_headers(headers: object, expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        header_pairs(headers)


@given(
    st.lists(
        st.tuples(
            st.text("abcdefghijklmnopqrstuvwxyz-0123456789", min_size=1, max_size=20),
            st.text(
                st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
                max_size=40,
            ),
        ).filter(lambda pair: pair[0] != "sec-websocket-protocol"),
        max_size=10,
    )
)
def test_header_pairs_round_trip(pairs: list[tuple[str, str]]) -> None:
    encoded = header_pairs(pairs)
    assert [(n.decode("latin-1"), v.decode("latin-1")) for n, v in encoded] == pairs
