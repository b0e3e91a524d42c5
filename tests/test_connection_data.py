"""Connection data read from websocket scopes captured from real servers (tests/fixtures/).

The expected values are derived from what the client sent (``scope_fixtures.REQUEST``), so the
same assertions hold for every server; where servers differ (uvicorn puts ``root_path`` into
``path``, hypercorn does not) the result must still be the same URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from scope_fixtures import REQUEST, SERVERS, load_fixture
from typedws._datastructures import (
    Address,
    client_from_scope,
    cookies_from_header,
    path_params_from_scope,
    query_params_from_scope,
    subprotocols_from_scope,
    url_from_scope,
)
from typedws._headers import headers_from_scope

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
