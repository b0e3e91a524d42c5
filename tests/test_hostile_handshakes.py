"""Hostile handshakes: bad headers, subprotocols, close codes and reasons, odd paths and cookies.

Two kinds of input: what an application might pass by mistake (or from untrusted data) to
``accept()`` and ``close()``, where typedws must refuse before anything reaches the server and
leave the handshake open for a proper answer; and what a client puts in its upgrade request,
checked in memory and through a real uvicorn (hand-written requests, tests/load_harness.py).
docs/behaviour.md keeps the same table for users.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from fakes import CONNECT, FakeServer, accepted, make_scope
from load_harness import ServerProcess, raw_handshake
from typedws import COMPILED, ProtocolError, WebSocket, WebSocketState

INJECTIONS = [
    pytest.param([(b"x-token", b"a\r\nset-cookie: evil=1")], id="crlf-in-value"),
    pytest.param([(b"x-token", b"a\nb")], id="lf-in-value"),
    pytest.param([(b"x-token", b"a\rb")], id="cr-in-value"),
    pytest.param([(b"x-token", b"a\x00b")], id="nul-in-value"),
    pytest.param([("x-token", "a\r\nb")], id="crlf-in-str-value"),
    pytest.param({"X-Token": "a\x00"}, id="nul-in-mapping-value"),
    pytest.param([(b"x-to\r\nken", b"1")], id="crlf-in-name"),
    pytest.param([(b"x token", b"1")], id="space-in-name"),
    pytest.param([(b"x-token:", b"1")], id="colon-in-name"),
    pytest.param([(b"", b"1")], id="empty-name"),
    pytest.param([("x-caf\u00e9", "1")], id="non-token-name"),
    pytest.param([("x-token", "\u20ac")], id="value-outside-latin-1"),
    pytest.param([(b"Sec-WebSocket-Protocol", b"chat")], id="subprotocol-header"),
    pytest.param([(b"x-token",)], id="not-a-pair"),
    pytest.param("x-token: 1", id="a-string"),
]


async def handshake(**scope: Any) -> tuple[FakeServer, WebSocket]:
    server = FakeServer([CONNECT], scope=make_scope(**scope))
    ws = server.websocket()
    return server, ws


# --- accept(): headers and subprotocols ---------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("headers", INJECTIONS)
async def test_accept_refuses_header_injection_and_sends_nothing(headers: object) -> None:
    server, ws = await handshake()
    with pytest.raises(ValueError, match=r"header|headers") as info:
        await ws.accept(headers=headers)
    assert "\n" not in str(info.value).replace("\\n", "")  # the message itself is one clean line
    assert server.sent == []
    assert ws.application_state is WebSocketState.CONNECTING
    await ws.accept(headers=[(b"X-Token", b"fine")])  # the handshake is still open
    assert server.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": [(b"x-token", b"fine")]}
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("headers", INJECTIONS)
async def test_raw_accept_refuses_header_injection(headers: object) -> None:
    server, ws = await handshake()
    await ws.receive()
    event: Any = {"type": "websocket.accept", "headers": headers}
    with pytest.raises(ProtocolError, match=r"websocket\.accept event: field 'headers'"):
        await ws.send(event)
    assert server.sent == []
    assert ws.application_state is WebSocketState.CONNECTING


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        pytest.param([], "chat", id="nothing-offered"),
        pytest.param(["chat"], "mqtt", id="other"),
        pytest.param(["chat"], "CHAT", id="case-differs"),
        pytest.param(["chat"], " chat", id="whitespace"),
        pytest.param(["chat", "json"], "chat, json", id="the-whole-header"),
        pytest.param(["chat"], "", id="empty"),
    ],
)
async def test_accept_refuses_a_subprotocol_the_client_did_not_offer(
    offered: list[str], chosen: str
) -> None:
    server, ws = await handshake(subprotocols=offered)
    with pytest.raises(ValueError, match="was not offered by the client") as info:
        await ws.accept(chosen)
    assert repr(chosen) in str(info.value)
    # The same fault, the same error through the raw event (docs/behaviour.md, "Errors").
    with pytest.raises(ValueError, match="was not offered by the client"):
        await ws.send({"type": "websocket.accept", "subprotocol": chosen})
    assert server.sent == []
    await ws.accept(offered[0] if offered else None)
    assert server.sent[0]["subprotocol"] == (offered[0] if offered else None)


@pytest.mark.anyio
async def test_accept_refuses_a_non_str_subprotocol() -> None:
    server, ws = await handshake(subprotocols=["chat"])
    # Compiled, mypyc checks the annotation first, with its own message.
    message = "str or None object expected; got bytes" if COMPILED else "subprotocol must be"
    with pytest.raises(TypeError, match=message):
        await ws.accept(b"chat")  # type: ignore[arg-type]
    assert server.sent == []


# --- close(): codes and reasons -----------------------------------------------------------------

BAD_CODES = [0, -1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535, 2**64]
GOOD_CODES = [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4000, 4999]


def _both_states() -> list[Any]:
    return [pytest.param(when, id=when) for when in ("before-accept", "after-accept")]


@pytest.mark.anyio
@pytest.mark.parametrize("when", _both_states())
@pytest.mark.parametrize("code", BAD_CODES)
async def test_close_codes_outside_rfc6455_section_7_4_are_refused(code: int, when: str) -> None:
    server, ws = await handshake()
    if when == "after-accept":
        await ws.accept()
    sent = list(server.sent)
    with pytest.raises(ValueError, match=rf"close code {code} may not be sent \(RFC 6455"):
        await ws.close(code)
    with pytest.raises(ProtocolError, match=rf"close code {code} may not be sent"):
        await ws.send({"type": "websocket.close", "code": code})
    assert server.sent == sent
    assert ws.close_code is None
    await ws.close(1000)  # still open, and closes properly
    assert server.sent[-1] == {"type": "websocket.close", "code": 1000}


@pytest.mark.anyio
@pytest.mark.parametrize("code", [1000.0, "1000", None, True, b"\x03\xe8"])
async def test_close_codes_that_are_not_ints_are_refused(code: object) -> None:
    server, ws = await handshake()
    # Compiled, mypyc checks close(code: int) first: a TypeError of its own, and True becomes 1.
    with pytest.raises((ValueError, TypeError) if COMPILED else ValueError) as info:
        await ws.close(code)  # type: ignore[arg-type]
    if not COMPILED:
        assert str(info.value) == f"close code must be an int, got {type(code).__name__}"
    assert server.sent == []
    await ws.close(1000)
    assert server.sent == [{"type": "websocket.close", "code": 1000}]


@pytest.mark.anyio
@pytest.mark.parametrize("code", GOOD_CODES)
async def test_close_codes_inside_rfc6455_section_7_4_are_sent(code: int) -> None:
    server = FakeServer()
    ws = await accepted(server)
    await ws.close(code)
    assert server.sent[-1] == {"type": "websocket.close", "code": code}
    assert ws.close_code == code


@pytest.mark.anyio
@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("x" * 124, id="124-ascii"),
        pytest.param("\u00e9" * 62, id="124-bytes-of-2-byte-chars"),
        pytest.param("\U0001f600" * 31, id="124-bytes-of-4-byte-chars"),
        pytest.param("x" * 10_000, id="10000-ascii"),
    ],
)
async def test_close_reasons_over_123_utf8_bytes_are_refused(reason: str) -> None:
    server = FakeServer()
    ws = await accepted(server)
    with pytest.raises(ValueError, match=r"close reason is \d+ bytes in UTF-8; at most 123"):
        await ws.close(1000, reason)
    with pytest.raises(ProtocolError, match="at most 123"):
        await ws.send({"type": "websocket.close", "reason": reason})
    assert ws.application_state is WebSocketState.CONNECTED
    await ws.close(1000, reason[:30])
    assert server.sent[-1] == {"type": "websocket.close", "code": 1000, "reason": reason[:30]}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("x" * 123, id="123-ascii"),
        pytest.param("\u00e9" * 61 + "x", id="123-bytes-mixed"),
        pytest.param("\U0001f600" * 30 + "abc", id="123-bytes-with-4-byte-chars"),
    ],
)
async def test_close_reasons_of_exactly_123_utf8_bytes_are_sent(reason: str) -> None:
    assert len(reason.encode()) == 123
    server = FakeServer()
    ws = await accepted(server)
    await ws.close(4000, reason)
    assert server.sent[-1] == {"type": "websocket.close", "code": 4000, "reason": reason}
    assert ws.close_reason == reason


@pytest.mark.anyio
async def test_close_reason_with_a_lone_surrogate_is_refused_before_the_state_changes() -> None:
    """The server's UTF-8 encoder would fail after typedws marked the connection closed, leaving
    it open with no way to close it (seen through uvicorn): refuse up front instead."""
    server = FakeServer()
    ws = await accepted(server)
    with pytest.raises(ValueError, match="lone surrogate"):
        await ws.close(1000, "bye \ud800")
    with pytest.raises(ProtocolError, match="lone surrogate"):
        await ws.send({"type": "websocket.close", "reason": "\udfff"})
    assert ws.application_state is WebSocketState.CONNECTED
    await ws.close(1000, "bye")
    assert server.sent[-1] == {"type": "websocket.close", "code": 1000, "reason": "bye"}


# --- what the client puts in the request, in memory ----------------------------------------------


@pytest.mark.anyio
async def test_a_non_utf8_path_in_the_scope_is_handled_as_the_server_gives_it() -> None:
    # An ASGI server decodes the path with UTF-8 and gives raw_path as received; a server that
    # kept undecodable bytes would hand over surrogate escapes. typedws must not choke on either.
    scope = make_scope()
    scope["path"] = "/caf\udce9"
    scope["raw_path"] = b"/caf\xe9"
    scope["query_string"] = b"q=\xff"
    server = FakeServer([CONNECT], scope=scope)
    ws = server.websocket()
    assert ws["path"] == "/caf\udce9"
    assert ws["raw_path"] == b"/caf\xe9"
    assert "caf" in repr(ws)
    await ws.accept()
    await ws.send_json({"path": ws["path"].encode("utf-8", "surrogateescape").hex()})
    assert server.sent[-1] == {"type": "websocket.send", "text": '{"path":"2f636166e9"}'}


MALFORMED_COOKIES = b'a=1; b; =c; d="q"; e=%ZZ; f=\xff; ;;; g==h; "i"=j; k="unterminated; a=2'


@pytest.mark.anyio
async def test_a_malformed_cookie_header_never_raises_and_keeps_what_parses() -> None:
    server, ws = await handshake(headers=[(b"cookie", MALFORMED_COOKIES), (b"cookie", b"l=m")])
    assert ws.cookies == {
        "a": "1",  # first wins over the later a=2
        "d": "q",  # quotes of a quoted value dropped
        "e": "%ZZ",  # no percent-decoding (RFC 6265 leaves values opaque)
        "f": "\u00ff",  # latin-1, as all header text
        "g": "=h",  # only the first "=" splits
        '"i"': "j",
        "k": '"unterminated',
        "l": "m",  # a second Cookie field (HTTP/2 splits them) joins the first
    }  # "b" (no "=") and "=c" (no name) are skipped
    await ws.accept()
    assert server.sent[-1]["type"] == "websocket.accept"


@pytest.mark.anyio
async def test_a_huge_cookie_header_parses() -> None:
    header = b"; ".join(b"c%d=%d" % (i, i) for i in range(20_000))
    _, ws = await handshake(headers=[(b"cookie", header)])
    assert len(ws.cookies) == 20_000
    assert ws.cookies["c19999"] == "19999"


# --- what the client puts in the request, through uvicorn ----------------------------------------


@pytest.fixture(scope="module")
def uvicorn_server() -> Iterator[ServerProcess]:
    """uvicorn with its default websocket implementation ("auto": websockets-sansio)."""
    with ServerProcess("auto") as server:
        yield server


def _inspect(server: ServerProcess, target: bytes, headers: bytes = b"") -> tuple[bytes, Any]:
    result = asyncio.run(raw_handshake(server.port, target, headers))
    seen = msgspec.json.decode(result.texts[0]) if result.texts else None
    return result.status, seen


def test_a_raw_non_utf8_request_target_never_reaches_the_app(
    uvicorn_server: ServerProcess,
) -> None:
    status, seen = _inspect(uvicorn_server, b"/caf\xe9?q=\xff")
    assert status == b"HTTP/1.1 400 Bad Request"  # uvicorn refuses it before the app runs
    assert seen is None


def test_a_percent_encoded_non_utf8_path_reaches_the_app_as_text(
    uvicorn_server: ServerProcess,
) -> None:
    status, seen = _inspect(uvicorn_server, b"/inspect/caf%E9?q=%FF")
    assert status == b"HTTP/1.1 101 Switching Protocols"
    assert seen["raw_path"] == "/inspect/caf%E9"  # as sent
    assert seen["path"] == "/inspect/caf\ufffd"  # decoded by the server, bad byte replaced
    assert seen["query_string"] == "q=%FF"
    # ws.url is built from the decoded path (not raw_path), so the replacement character is
    # what it re-encodes; the query string is kept as sent.
    assert seen["url"] == "ws://127.0.0.1/inspect/caf%EF%BF%BD?q=%FF"


def test_request_header_bytes_outside_ascii_reach_the_app_as_latin_1(
    uvicorn_server: ServerProcess,
) -> None:
    status, seen = _inspect(uvicorn_server, b"/inspect", b"X-Name: caf\xe9\r\n")
    assert status == b"HTTP/1.1 101 Switching Protocols"
    assert ["x-name", "caf\u00e9"] in seen["headers"]


def test_a_malformed_cookie_header_reaches_the_app_as_parsed_cookies(
    uvicorn_server: ServerProcess,
) -> None:
    status, seen = _inspect(uvicorn_server, b"/inspect", b"Cookie: " + MALFORMED_COOKIES + b"\r\n")
    assert status == b"HTTP/1.1 101 Switching Protocols"
    assert seen["cookies"] == {
        "a": "1",
        "d": "q",
        "e": "%ZZ",
        "f": "\u00ff",
        "g": "=h",
        '"i"': "j",
        "k": '"unterminated',
    }


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"X-Bad: a\x00b\r\n", id="nul"),
        pytest.param(b"X-Bad: a\rb\r\n", id="bare-cr"),
        pytest.param(b"X Bad: 1\r\n", id="space-in-name"),
    ],
)
def test_request_headers_with_control_characters_never_reach_the_app(
    uvicorn_server: ServerProcess, header: bytes
) -> None:
    status, seen = _inspect(uvicorn_server, b"/inspect", header)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert seen is None


def test_the_app_survived_every_hostile_request(uvicorn_server: ServerProcess) -> None:
    """Runs after the tests above (same module-scoped server): no handler crashed."""
    _inspect(uvicorn_server, b"/inspect")
    stats = asyncio.run(uvicorn_server.stats())
    assert stats["errors"] == []
    assert set(stats["exits"]) == {"returned"}
