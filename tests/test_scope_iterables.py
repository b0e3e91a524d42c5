"""The scope as the ASGI spec types it: ``headers``, ``subprotocols``, ``client`` and ``server``
are Iterables, not only lists. Lilya's ``Host`` routing replaces ``scope["headers"]`` with its
own ``Header`` object (a multidict of str); typedws reads the headers, cookies and URL the same
through it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lilya.apps import Lilya
from lilya.datastructures import Header
from lilya.routing import Host

from fakes import make_scope
from typedws import ProtocolError, WebSocket, websocket_app
from typedws.testing import connect
from typedws.types import Message


@websocket_app
async def report(ws: WebSocket) -> None:
    """Sends back what the connection read from the scope."""
    await ws.accept()
    await ws.send_json(
        {
            "url": str(ws.url),
            "host": ws.headers.get("host"),
            "x-multi": ws.headers.getall("x-multi", []),
            "cookies": ws.cookies,
            "raw": [[name.decode(), value.decode()] for name, value in ws.headers.raw],
            "headers_type": type(ws.scope["headers"]).__name__,
        }
    )


@pytest.mark.anyio
async def test_lilya_host_routing() -> None:
    app = Lilya(routes=[Host("chat.example.com", app=report)])
    headers = [
        ("host", "chat.example.com"),
        ("cookie", "a=1; b=2"),
        ("x-multi", "1"),
        ("x-multi", "2"),
    ]
    async with connect(app, "/ws", headers=headers) as session:
        seen: dict[str, Any] = await session.receive_json()
    assert seen["headers_type"] == "Header"  # Lilya's own object really was in the scope
    assert seen["url"] == "ws://chat.example.com/ws"
    assert seen["host"] == "chat.example.com"
    assert seen["x-multi"] == ["1", "2"]
    assert seen["cookies"] == {"a": "1", "b": "2"}
    assert ["x-multi", "2"] in seen["raw"]


def _scope(**fields: object) -> dict[str, Any]:
    scope: dict[str, Any] = dict(make_scope())
    scope.update(fields)
    return scope


async def _receive() -> Message:
    raise AssertionError("not called")


async def _send(message: Message) -> None:
    raise AssertionError("not called")


def _ws(**fields: object) -> WebSocket:
    return WebSocket(_scope(**fields), _receive, _send)


def test_a_header_multidict_with_str_values_is_read() -> None:
    header = Header([(b"host", b"h.example:8080"), (b"x-a", "caf\u00e9".encode())])
    ws = _ws(headers=header)
    assert str(ws.url) == "ws://h.example:8080/"
    # Lilya decoded the value as UTF-8; typedws reads the original bytes as latin-1.
    assert ws.headers["x-a"] == "caf\u00e9".encode().decode("latin-1")
    assert ws.headers.raw == [(b"host", b"h.example:8080"), (b"x-a", "caf\u00e9".encode())]


def test_a_tuple_and_a_generator_of_pairs_are_read() -> None:
    pairs = ((b"host", b"t.example"), (b"x-b", b"1"))
    assert _ws(headers=pairs).headers.raw == list(pairs)

    def generate() -> Iterator[tuple[bytes, bytes]]:
        yield from pairs

    ws = _ws(headers=generate())
    assert ws.headers.getall("x-b") == ["1"]


def test_a_list_of_pairs_is_kept_as_the_scopes_own_object() -> None:
    pairs = [(b"host", b"l.example")]
    assert _ws(headers=pairs).headers.raw is pairs


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (None, "got NoneType"),
        ("host: x", "got str"),
        (b"host", "got bytes"),
        (5, "got int"),
        ([(b"host",)], r"scope\['headers'\]\[0\]"),
        (((b"host", 5),), r"scope\['headers'\]\[0\]"),
        ({b"host": 5}, r"scope\['headers'\]\[0\]"),
    ],
)
def test_malformed_headers_are_named(headers: object, problem: str) -> None:
    ws = _ws(headers=headers)
    with pytest.raises(ProtocolError, match=problem):
        ws.headers  # noqa: B018  (the property parses on first read)
    # The URL does not fail on them: it falls back to the server address.
    assert str(ws.url) == "ws://testserver/"


def test_other_iterable_fields() -> None:
    ws = _ws(
        subprotocols=iter(["chat", "json"]),
        client=iter(["10.0.0.1", 5000]),
        server=("srv.example", 81),
        headers=[],
    )
    assert ws.subprotocols == ["chat", "json"]
    assert ws.client == ("10.0.0.1", 5000)
    assert str(ws.url) == "ws://srv.example:81/"
    with pytest.raises(ProtocolError, match="subprotocols"):
        _ws(subprotocols="chat").subprotocols  # noqa: B018
    with pytest.raises(ProtocolError, match="client"):
        _ws(client="10.0.0.1:5000").client  # noqa: B018
