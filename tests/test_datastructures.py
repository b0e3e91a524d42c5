"""Tests for typedws._datastructures and typedws._headers: parsing each scope field on its own."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDictProxy, MultiDictProxy

from typedws._datastructures import (
    Address,
    client_from_scope,
    cookies_from_header,
    decode_headers,
    full_path,
    parse_query_string,
    path_params_from_scope,
    query_params_from_scope,
    subprotocols_from_scope,
    url_from_scope,
)
from typedws._errors import ProtocolError
from typedws._headers import Headers, headers_from_scope


def _scope(**fields: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "websocket",
        "scheme": "ws",
        "path": "/chat",
        "query_string": b"",
        "headers": [(b"host", b"example.com:8000")],
        "server": ("10.0.0.1", 8000),
    }
    scope.update(fields)
    return scope


# --- headers ----------------------------------------------------------------------------------


def test_headers_are_case_insensitive_multi_valued_and_ordered() -> None:
    raw = [(b"host", b"h"), (b"x-a", b"1"), (b"accept", b"*/*"), (b"x-a", b"2")]
    headers = Headers(raw)
    assert isinstance(headers, CIMultiDictProxy)
    assert headers["HOST"] == "h"
    assert headers["X-A"] == "1"
    assert headers.getall("x-a") == ["1", "2"]
    assert list(headers.items()) == [("host", "h"), ("x-a", "1"), ("accept", "*/*"), ("x-a", "2")]
    assert len(headers) == 4
    assert "Accept" in headers


def test_headers_raw_is_the_scope_list_itself() -> None:
    raw = [(b"x-a", b"1")]
    scope = _scope(headers=raw)
    assert headers_from_scope(scope).raw is raw


def test_headers_are_read_only() -> None:
    headers = Headers([(b"x-a", b"1")])
    with pytest.raises(TypeError):
        headers["x-a"] = "2"  # type: ignore[index]
    with pytest.raises(AttributeError):
        headers.add("x-b", "3")  # type: ignore[attr-defined]


def test_header_values_are_latin_1() -> None:
    headers = Headers([(b"x-name", "café".encode()), (b"x-raw", b"\xff\x00")])
    # UTF-8 bytes arrive as latin-1 mojibake, as HTTP prescribes; encoding back recovers them.
    assert headers["x-name"].encode("latin-1").decode("utf-8") == "café"
    assert headers["x-raw"] == "\xff\x00"


def test_header_pairs_may_be_lists() -> None:
    # The ASGI spec writes headers as [name, value] lists; servers use tuples or lists.
    assert Headers([[b"x-a", b"1"]])["x-a"] == "1"  # type: ignore[list-item]


def test_missing_headers_mean_none() -> None:
    headers = headers_from_scope({"type": "websocket", "path": "/"})
    assert len(headers) == 0
    assert headers.raw == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (5, "scope['headers'] must be an iterable of [name, value] byte pairs, got int"),
        ("x-a: 1", "scope['headers'] must be an iterable of [name, value] byte pairs, got str"),
        ({"x-a": 1}, "scope['headers'][0] must be a [name, value] pair of bytes"),
        ([(b"x-a", "1")], "scope['headers'][0] must be a [name, value] pair of bytes"),
        ([(b"ok", b"1"), ("x-a", b"1")], "scope['headers'][1] must be"),
        ([(b"x-a",)], "scope['headers'][0] must be"),
        ([b"x-a: 1"], "got b'x-a: 1'"),
    ],
)
def test_malformed_headers_name_the_bad_item(raw: Any, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_headers(raw)
    assert message in str(info.value)


_NAMES = st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12)
# Any octet but CR, LF and NUL may appear in a received field value (RFC 9110 section 5.5).
_VALUES = st.binary(max_size=30).filter(lambda v: not set(v) & {0, 10, 13})


@given(st.lists(st.tuples(_NAMES.map(str.encode), _VALUES), max_size=12))
def test_headers_round_trip(raw: list[tuple[bytes, bytes]]) -> None:
    headers = Headers(raw)
    assert headers.raw is raw
    assert [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()] == raw
    for name in {name for name, _ in raw}:
        expected = [value.decode("latin-1") for key, value in raw if key == name]
        assert headers.getall(name.decode().upper()) == expected


# --- query string -----------------------------------------------------------------------------


def test_query_keeps_order_blanks_and_repeats() -> None:
    params = parse_query_string(b"a=1&b=&a=2&c&d=x=y")
    assert isinstance(params, MultiDictProxy)
    assert list(params.items()) == [("a", "1"), ("b", ""), ("a", "2"), ("c", ""), ("d", "x=y")]
    assert params.getall("a") == ["1", "2"]
    assert params["a"] == "1"


def test_query_decodes_percent_and_plus() -> None:
    params = parse_query_string(b"name=Ann+Lee&q=%2B1%20%26%3D&euro=%E2%82%AC&k%20ey=v")
    assert params["name"] == "Ann Lee"
    assert params["q"] == "+1 &="
    assert params["euro"] == "€"
    assert params["k ey"] == "v"


def test_query_edge_cases() -> None:
    assert list(parse_query_string(b"").items()) == []
    assert list(parse_query_string(b"&&a=1&&").items()) == [("a", "1")]
    # ";" is data, not a separator (urllib.parse since Python 3.10).
    assert list(parse_query_string(b"a=1;b=2").items()) == [("a", "1;b=2")]
    # Invalid UTF-8 and stray "%" do not raise.
    assert parse_query_string(b"a=%ff&b=%zz&c=%")["a"] == "\ufffd"
    assert parse_query_string(b"b=%zz")["b"] == "%zz"
    # Raw UTF-8 bytes (not percent-encoded) still decode as UTF-8.
    assert parse_query_string("q=café".encode())["q"] == "café"


def test_query_params_are_read_only() -> None:
    params = query_params_from_scope(_scope(query_string=b"a=1"))
    with pytest.raises(TypeError):
        params["a"] = "2"  # type: ignore[index]


def test_query_params_from_scope_default_and_errors() -> None:
    assert len(query_params_from_scope({"path": "/"})) == 0
    with pytest.raises(ProtocolError, match=r"scope\['query_string'\] must be bytes, got str"):
        query_params_from_scope({"query_string": "a=1"})


# --- cookies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a=1; b=2", {"a": "1", "b": "2"}),
        ("a=1;b=2", {"a": "1", "b": "2"}),
        ('theme="dark"', {"theme": "dark"}),
        ("empty=", {"empty": ""}),
        ("token=abc==", {"token": "abc=="}),
        ("a=1; a=2", {"a": "1"}),
        ("malformed; =nameless; ok=1; ;", {"ok": "1"}),
        ('quote="', {"quote": '"'}),
        ("", {}),
        ("  spaced  =  value  ", {"spaced": "value"}),
    ],
)
def test_cookies(header: str, expected: dict[str, str]) -> None:
    assert cookies_from_header(header) == expected


@given(st.text(max_size=60))
def test_cookies_never_raise(header: str) -> None:
    cookies = cookies_from_header(header)
    assert all(name and name == name.strip() for name in cookies)


# --- client, subprotocols, path params --------------------------------------------------------


def test_client_address() -> None:
    client = client_from_scope(_scope(client=["127.0.0.1", 5000]))
    assert client == Address("127.0.0.1", 5000)
    assert client is not None
    assert client.host == "127.0.0.1"
    assert client.port == 5000
    assert client_from_scope(_scope(client=("::1", 1))) == ("::1", 1)
    assert client_from_scope(_scope()) is None
    assert client_from_scope(_scope(client=None)) is None


@pytest.mark.parametrize("client", [["h"], ["h", "80"], [1, 2], "h:1", ["h", True]])
def test_malformed_client(client: object) -> None:
    with pytest.raises(ProtocolError, match=r"scope\['client'\] must be a \[host: str, port"):
        client_from_scope(_scope(client=client))


def test_subprotocols() -> None:
    offered = ["chat.v2", "chat.v1"]
    scope = _scope(subprotocols=offered)
    result = subprotocols_from_scope(scope)
    assert result == offered
    assert result is not offered
    assert subprotocols_from_scope(_scope()) == []
    assert subprotocols_from_scope(_scope(subprotocols=("a",))) == ["a"]


@pytest.mark.parametrize("offered", ["chat", [b"chat"], ["a", 1]])
def test_malformed_subprotocols(offered: object) -> None:
    with pytest.raises(ProtocolError, match=r"scope\['subprotocols'\] must be a list of str"):
        subprotocols_from_scope(_scope(subprotocols=offered))


def test_path_params() -> None:
    params = {"room": "lobby", "id": 3}
    assert path_params_from_scope(_scope(path_params=params)) is params
    assert path_params_from_scope(_scope()) == {}
    with pytest.raises(ProtocolError, match=r"scope\['path_params'\] must be a dict, got list"):
        path_params_from_scope(_scope(path_params=[("a", 1)]))


# --- URL from the scope -----------------------------------------------------------------------


def test_url_from_host_header() -> None:
    url = url_from_scope(_scope(path="/chat", query_string=b"x=1"))
    assert url == "ws://example.com:8000/chat?x=1"
    assert url.port == 8000


def test_url_with_ipv6_host_header() -> None:
    url = url_from_scope(_scope(headers=[(b"host", b"[::1]:8000")]))
    assert url == "ws://[::1]:8000/chat"
    assert url.hostname == "::1"


@pytest.mark.parametrize(
    ("scheme", "server", "netloc"),
    [
        ("ws", ("10.0.0.1", 80), "10.0.0.1"),
        ("ws", ("10.0.0.1", 8000), "10.0.0.1:8000"),
        ("wss", ("10.0.0.1", 443), "10.0.0.1"),
        ("wss", ("10.0.0.1", 80), "10.0.0.1:80"),
        ("ws", ["::1", 8000], "[::1]:8000"),
        ("ws", ("::1", 80), "[::1]"),
        ("ws", ("/tmp/app.sock", None), ""),
        ("ws", None, ""),
    ],
)
def test_url_from_server_without_host_header(scheme: str, server: object, netloc: str) -> None:
    url = url_from_scope(_scope(scheme=scheme, headers=[], server=server))
    assert url.netloc == netloc
    assert url.scheme == scheme
    assert url.path == "/chat"


@pytest.mark.parametrize(
    "host",
    [b"evil.com/x?", b"a@b", b"h h", b"[zz]:1", b"h:99999", b"h:", b"", b"h\r\nx: 1"],
)
def test_url_ignores_an_invalid_host_header(host: bytes) -> None:
    url = url_from_scope(_scope(headers=[(b"host", host)], server=("10.0.0.1", 9000)))
    assert url == "ws://10.0.0.1:9000/chat"


def test_url_defaults_to_ws() -> None:
    scope = _scope()
    del scope["scheme"]
    assert url_from_scope(scope).scheme == "ws"


def test_url_encodes_the_decoded_path_and_odd_query_bytes() -> None:
    url = url_from_scope(_scope(path="/a b/100%/?#/café", query_string="q=é #".encode()))
    assert url == "ws://example.com:8000/a%20b/100%25/%3F%23/caf%C3%A9?q=%C3%A9%20%23"
    assert url.path == "/a b/100%/?#/café"
    assert parse_query_string(url.query.encode())["q"] == "é #"


@pytest.mark.parametrize(
    ("root_path", "path", "expected"),
    [
        ("", "/chat", "/chat"),
        ("/root", "/root/chat", "/root/chat"),  # ASGI spec, uvicorn: path includes root_path
        ("/root", "/root", "/root"),
        ("/root", "/chat", "/root/chat"),  # hypercorn 0.18: path without root_path
        ("/root", "/rooted", "/root/rooted"),  # not a segment boundary: not included
        ("/root/", "/root/chat", "/root/chat"),
        ("/root/", "/chat", "/root/chat"),
        ("/", "/chat", "/chat"),
    ],
)
def test_full_path(root_path: str, path: str, expected: str) -> None:
    assert full_path(path, root_path) == expected
    assert url_from_scope(_scope(root_path=root_path, path=path)).path == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("path", None, "scope['path'] must be a str, got NoneType"),
        ("path", b"/x", "scope['path'] must be a str, got bytes"),
        ("scheme", 1, "scope['scheme'] must be a str, got int"),
        ("root_path", b"/r", "scope['root_path'] must be a str, got bytes"),
        ("query_string", "a=1", "scope['query_string'] must be bytes, got str"),
        ("scheme", "w s", "the scope does not make a valid URL"),
    ],
)
def test_url_from_malformed_scope(field: str, value: object, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        url_from_scope(_scope(**{field: value}))
    assert message in str(info.value)


_SEGMENTS = st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"])), max_size=4)


@given(
    scheme=st.sampled_from(["ws", "wss"]),
    segments=_SEGMENTS,
    query_string=st.binary(max_size=20),
    port=st.integers(1, 65535),
)
def test_url_from_scope_round_trips(
    scheme: str, segments: list[str], query_string: bytes, port: int
) -> None:
    path = "/" + "/".join(segments)
    scope = _scope(
        scheme=scheme,
        path=path,
        query_string=query_string,
        headers=[(b"host", f"example.com:{port}".encode())],
    )
    url = url_from_scope(scope)
    assert url.isascii()
    again = type(url)(str(url))
    assert again == url
    assert again.path == path
    assert again.port == port
    assert again.scheme == scheme
    assert list(parse_query_string(again.query.encode()).items()) == list(
        parse_query_string(query_string).items()
    )
