"""Connection data read from websocket scopes captured from real servers (tests/fixtures/).

The expected values are derived from what the client sent (``scope_fixtures.REQUEST``), so the
same assertions hold for every server; where servers differ (uvicorn puts ``root_path`` into
``path``, hypercorn does not) the result must still be the same URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

import typedws
from fakes import FakeServer, make_scope
from scope_fixtures import REQUEST, SERVERS, load_fixture
from typedws import URL, Address, Headers, ProtocolError, WebSocket
from typedws._datastructures import (
    client_from_scope,
    cookies_from_header,
    path_params_from_scope,
    query_params_from_scope,
    subprotocols_from_scope,
    url_from_scope,
)
from typedws._headers import headers_from_scope
from typedws.types import Scope

TARGET_PATH, _, TARGET_QUERY = REQUEST["target"].partition("?")


@pytest.fixture(params=SERVERS)
def scope(request: pytest.FixtureRequest) -> dict[str, Any]:
    document = load_fixture(request.param)
    assert document["request"] == REQUEST, "fixture captured with another request: re-capture"
    captured: dict[str, Any] = document["scope"]
    return captured


def test_fixtures_differ_where_the_servers_do() -> None:
    uvicorn = load_fixture("uvicorn")["scope"]
    hypercorn = load_fixture("hypercorn")["scope"]
    assert uvicorn["root_path"] == hypercorn["root_path"] == "/root"
    assert uvicorn["path"] == "/root" + unquote(TARGET_PATH)
    assert hypercorn["path"] == unquote(TARGET_PATH)


def test_url(scope: dict[str, Any]) -> None:
    host, port = scope["server"]
    url = url_from_scope(scope)
    assert url == f"ws://{host}:{port}/root{TARGET_PATH}?{TARGET_QUERY}"
    assert url.scheme == "ws"
    assert url.hostname == host
    assert url.port == port
    assert url.path == "/root" + unquote(TARGET_PATH)
    assert url.query == TARGET_QUERY


def test_headers(scope: dict[str, Any]) -> None:
    headers = headers_from_scope(scope)
    assert headers.raw is scope["headers"]
    for name, value in REQUEST["headers"]:
        assert value in headers.getall(name)
    assert headers.getall("X-CUSTOM") == ["one", "two"]
    assert headers["Host"] == f"{scope['server'][0]}:{scope['server'][1]}"
    assert headers["sec-websocket-protocol"] == ", ".join(REQUEST["subprotocols"])


def test_query_params(scope: dict[str, Any]) -> None:
    params = query_params_from_scope(scope)
    assert list(params.items()) == [
        ("name", "Ann Lee"),
        ("tag", "a"),
        ("tag", "b"),
        ("empty", ""),
        ("flag", ""),
        ("euro", "€"),
    ]
    assert params.getall("tag") == ["a", "b"]


def test_cookies(scope: dict[str, Any]) -> None:
    header = headers_from_scope(scope)["cookie"]
    assert cookies_from_header(header) == {"session": "abc123", "theme": "dark", "lang": "en"}


def test_client_subprotocols_path_params(scope: dict[str, Any]) -> None:
    client = client_from_scope(scope)
    assert isinstance(client, Address)
    assert client.host == "127.0.0.1"
    assert client.port == scope["client"][1]
    assert subprotocols_from_scope(scope) == REQUEST["subprotocols"]
    assert path_params_from_scope(scope) == {}
    assert scope["state"] == {"db": "connection-pool"}


# --- the same data through WebSocket's properties -----------------------------------------------


def _websocket(scope: Scope) -> WebSocket:
    server = FakeServer(scope=scope)
    return server.websocket()


def test_websocket_properties(scope: dict[str, Any]) -> None:
    ws = _websocket(scope)
    host, port = scope["server"]
    assert isinstance(ws.url, URL)
    assert ws.url == f"ws://{host}:{port}/root{TARGET_PATH}?{TARGET_QUERY}"
    assert isinstance(ws.headers, Headers)
    assert ws.headers.raw is scope["headers"]
    assert ws.headers.getall("x-custom") == ["one", "two"]
    assert ws.query_params.getall("tag") == ["a", "b"]
    assert ws.query_params["empty"] == ""
    assert ws.path_params == {}
    assert ws.client == Address("127.0.0.1", scope["client"][1])
    assert ws.cookies == {"session": "abc123", "theme": "dark", "lang": "en"}
    assert ws.subprotocols == ["chat.v2", "chat.v1"]
    assert ws.state is scope["state"]
    assert ws.state == {"db": "connection-pool"}


def test_public_names() -> None:
    assert typedws.URL is URL
    assert typedws.Headers is Headers
    assert typedws.Address is Address


def test_each_property_is_computed_once() -> None:
    scope = make_scope(path="/chat", headers=[(b"cookie", b"a=1")])
    scope.update(query_string=b"q=1", path_params={"room": "1"}, subprotocols=["chat"])
    ws = _websocket(scope)
    first = {name: getattr(ws, name) for name in PROPERTIES}
    # The scope is fixed for the connection's life; changing it anyway shows what is cached.
    scope.update(
        path="/other",
        query_string=b"q=2",
        headers=[(b"host", b"elsewhere"), (b"cookie", b"a=2")],
        path_params={"room": "2"},
        client=("10.0.0.9", 1),
        subprotocols=["other"],
        state={"other": True},
    )
    for name in PROPERTIES:
        assert getattr(ws, name) is first[name], name
    assert ws.url == "ws://testserver/chat?q=1"
    assert ws.cookies == {"a": "1"}
    assert ws.client == ("127.0.0.1", 51000)


def test_a_client_of_none_is_cached_too() -> None:
    scope = make_scope()
    del scope["client"]
    ws = _websocket(scope)
    assert ws.client is None
    scope["client"] = ("10.0.0.9", 1)
    assert ws.client is None


def test_properties_are_computed_only_when_read() -> None:
    # Every field malformed: constructing the WebSocket must not look at any of them.
    scope = make_scope()
    scope.update(
        path=b"/bytes",
        headers="not a list",
        query_string="not bytes",
        path_params=[],
        client="nowhere",
        subprotocols="chat",
        state=[],
    )
    ws = _websocket(scope)
    assert ws["path"] == b"/bytes"
    for name in PROPERTIES:
        if name == "cookies":
            continue  # cookies read the headers: covered by the "headers" case
        with pytest.raises(ProtocolError, match=rf"scope\['{FIELDS[name]}'\]"):
            getattr(ws, name)
    with pytest.raises(ProtocolError, match=r"scope\['headers'\]"):
        _ = ws.cookies


def test_state_without_lifespan_is_a_connection_dict() -> None:
    scope = make_scope()
    del scope["state"]
    ws = _websocket(scope)
    ws.state["user"] = "ann"
    assert ws.state == {"user": "ann"}
    assert "state" not in scope


def test_cookies_from_several_cookie_headers() -> None:
    # HTTP/2 clients may send each cookie in its own field (RFC 9113 section 8.2.3).
    ws = _websocket(make_scope(headers=[(b"cookie", b"a=1"), (b"cookie", b"b=2; a=3")]))
    assert ws.cookies == {"a": "1", "b": "2"}


def test_no_cookie_header() -> None:
    assert _websocket(make_scope()).cookies == {}


PROPERTIES = (
    "url",
    "headers",
    "query_params",
    "path_params",
    "client",
    "cookies",
    "subprotocols",
    "state",
)
FIELDS = {
    "url": "path",
    "headers": "headers",
    "query_params": "query_string",
    "path_params": "path_params",
    "client": "client",
    "subprotocols": "subprotocols",
    "state": "state",
}
