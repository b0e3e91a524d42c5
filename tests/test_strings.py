"""Tests for typedws._strings: handshake strings shared between connections, within bounds.

What must hold: every connection still sees exactly its own headers, query and cookies; names
and the listed repeating values are one object across connections; a credential, a per-connection
key or an unknown header's value is never kept process-wide; the tables stay bounded whatever a
client sends. Also here: a URL keeps its parts only once one is read (the other half of the
memory change, docs/architecture.md "Memory per connection").
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import istr

from typedws import URL, WebSocket, _strings
from typedws._datastructures import cookies_from_header, decode_headers, parse_query_string


async def _never() -> Any:
    raise AssertionError("not called")


async def _never_send(message: Any) -> None:
    raise AssertionError(f"not called, got {message!r}")


def _websocket(headers: list[tuple[bytes, bytes]], query: bytes = b"") -> WebSocket:
    scope = {"type": "websocket", "path": "/", "headers": headers, "query_string": query}
    return WebSocket(scope, _never, _never_send)


BROWSER = [
    (b"host", b"example.com"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"),
    (b"origin", b"https://example.com"),
    (b"sec-websocket-version", b"13"),
]


def test_names_and_repeating_values_are_one_object_across_connections() -> None:
    first = _websocket([*BROWSER, (b"sec-websocket-key", b"a2V5LW9uZQ==")]).headers
    second = _websocket([*BROWSER, (b"sec-websocket-key", b"a2V5LXR3bw==")]).headers
    for (name_1, value_1), (name_2, value_2) in zip(first.items(), second.items(), strict=True):
        assert name_1 is name_2
        if name_1 != "sec-websocket-key":
            assert value_1 is value_2
    assert first["sec-websocket-key"] == "a2V5LW9uZQ=="
    assert second["sec-websocket-key"] == "a2V5LXR3bw=="


def test_names_are_istr_equal_to_the_plain_name() -> None:
    headers = _websocket([(b"x-trace", b"1"), (b"Host", b"h")]).headers
    names = list(headers)
    assert all(isinstance(name, istr) and isinstance(name, str) for name in names)
    assert names == ["x-trace", "Host"]  # as the server sent them, case kept
    assert hash(names[0]) == hash("x-trace")
    assert headers["X-TRACE"] == "1"
    assert headers["host"] == "h"
    # Plain-str conversions and the encoders users reach for.
    assert [str(name) for name in names] == ["x-trace", "Host"]
    assert type(str(names[0])) is str
    assert json.loads(json.dumps(dict(headers))) == {"x-trace": "1", "Host": "h"}
    assert msgspec.json.decode(msgspec.json.encode(dict(headers))) == {"x-trace": "1", "Host": "h"}


@pytest.mark.parametrize(
    "name",
    [b"cookie", b"authorization", b"proxy-authorization", b"sec-websocket-key", b"x-api-key"],
)
def test_secrets_and_unknown_headers_are_never_kept(name: bytes) -> None:
    secret = b"secret-" + name
    first = _websocket([(name, secret)]).headers
    second = _websocket([(name, secret)]).headers
    assert first[name.decode()] == second[name.decode()] == secret.decode()
    assert first[name.decode()] is not second[name.decode()]
    assert secret not in _strings._header_values
    assert secret.decode() not in _strings._names.values()


def test_long_values_and_names_are_decoded_but_not_kept() -> None:
    long_value = b"Mozilla/" + b"x" * _strings.LONGEST_VALUE
    long_name = b"x-" + b"n" * _strings.LONGEST_NAME
    headers = decode_headers([(b"user-agent", long_value), (long_name, b"v")])
    assert headers["user-agent"] == long_value.decode()
    assert headers[long_name.decode()] == "v"
    assert long_value not in _strings._header_values
    assert long_name not in _strings._header_names


def test_tables_stay_bounded_against_endless_distinct_names() -> None:
    kept_before = _websocket(BROWSER).headers
    for start in range(0, 3 * _strings.TABLE_LIMIT, 100):
        pairs = [(b"x-n-%d" % i, b"v") for i in range(start, start + 100)]
        origin = [(b"origin", b"https://site-%d.example" % i) for i in range(start, start + 100)]
        headers = _websocket(pairs + origin, b"&".join(b"q%d=1" % i for i in range(100))).headers
        assert len(headers) == 200
        cookies_from_header("; ".join(f"c{start}-{i}=1" for i in range(100)))
        assert len(_strings._header_names) <= _strings.TABLE_LIMIT
        assert len(_strings._header_values) <= _strings.TABLE_LIMIT
        assert len(_strings._names) <= _strings.TABLE_LIMIT
    # Strings handed out before the tables were emptied are still the connection's own, intact.
    assert list(kept_before.items()) == [(k.decode(), v.decode()) for k, v in BROWSER]
    # And sharing starts again for what comes next.
    assert _websocket(BROWSER).headers["origin"] is _websocket(BROWSER).headers["origin"]


def test_query_and_cookie_names_are_shared_values_are_not() -> None:
    first = parse_query_string(b"room=lobby&user=u1")
    second = parse_query_string(b"room=lobby&user=u2")
    assert list(first) == list(second) == ["room", "user"]
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert first["room"] == second["room"] == "lobby"
    assert first["room"] is not second["room"]  # values may be tokens: never kept
    cookies_1 = cookies_from_header("session=abc; theme=dark")
    cookies_2 = cookies_from_header("session=xyz; theme=dark")
    assert all(a is b for a, b in zip(cookies_1, cookies_2, strict=True))
    assert (cookies_1["session"], cookies_2["session"]) == ("abc", "xyz")


@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"host", b"origin", b"user-agent", b"cookie", b"x-a"]),
            st.binary(max_size=40),
        ),
        max_size=12,
    )
)
def test_every_connection_sees_exactly_its_own_bytes(pairs: list[tuple[bytes, bytes]]) -> None:
    headers = decode_headers(pairs)
    assert [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()] == pairs


def test_url_keeps_its_parts_only_once_one_is_read() -> None:
    url = URL("wss://example.com:8443/chat?room=1")
    assert "_parts" not in vars(url)
    assert url.port == 8443
    assert "_parts" in vars(url)
    parts = (url.scheme, url.hostname, url.path, url.query)
    assert parts == ("wss", "example.com", "/chat", "room=1")
    with pytest.raises(ValueError, match="Port out of range"):
        URL("ws://example.com:70000/")
