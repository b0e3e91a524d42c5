"""Tests for typedws._url: URL parses plain strings, keeps them as given, and rebuilds itself."""

from __future__ import annotations

import copy
import pickle
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from typedws._url import URL


def test_url_is_the_string_it_was_given() -> None:
    url = URL("wss://u:p@h:9/x?y=1#f")
    assert isinstance(url, str)
    assert url == "wss://u:p@h:9/x?y=1#f"
    assert str(url) == "wss://u:p@h:9/x?y=1#f"
    assert type(str(url)) is str
    assert hash(url) == hash("wss://u:p@h:9/x?y=1#f")
    assert repr(url) == "URL('wss://u:p@h:9/x?y=1#f')"


def test_all_parts_of_a_full_url() -> None:
    url = URL("wss://u:p@h:9/x?y=1#f")
    assert url.scheme == "wss"
    assert url.netloc == "u:p@h:9"
    assert url.hostname == "h"
    assert url.port == 9
    assert url.path == "/x"
    assert url.query == "y=1"
    assert url.fragment == "f"
    assert url.username == "u"
    assert url.password == "p"


def test_absent_parts() -> None:
    url = URL("ws://example.com")
    assert url.port is None
    assert url.username is None
    assert url.password is None
    assert url.path == ""
    assert url.query == ""
    assert url.fragment == ""
    assert URL("/only/a/path").hostname is None
    assert URL("/only/a/path").scheme == ""


@pytest.mark.parametrize(
    ("text", "hostname", "port", "netloc"),
    [
        ("ws://[::1]:8000/chat", "::1", 8000, "[::1]:8000"),
        ("ws://[::1]/chat", "::1", None, "[::1]"),
        ("wss://[2001:db8::7]:443/", "2001:db8::7", 443, "[2001:db8::7]:443"),
        ("ws://[::ffff:192.0.2.1]:1/", "::ffff:192.0.2.1", 1, "[::ffff:192.0.2.1]:1"),
    ],
)
def test_ipv6_hosts(text: str, hostname: str, port: int | None, netloc: str) -> None:
    url = URL(text)
    assert url.hostname == hostname
    assert url.port == port
    assert url.netloc == netloc


def test_scheme_and_hostname_are_lower_cased_netloc_is_not() -> None:
    url = URL("WSS://Example.COM:8443/Path")
    assert url.scheme == "wss"
    assert url.hostname == "example.com"
    assert url.netloc == "Example.COM:8443"
    assert url.path == "/Path"


def test_path_and_userinfo_are_decoded_query_and_fragment_are_not() -> None:
    url = URL("ws://us%40er:p%3Ass@h/caf%C3%A9%20room/100%25?a=%26&b=+#x%20y")
    assert url.path == "/café room/100%"
    assert url.username == "us@er"
    assert url.password == "p:ss"
    assert url.query == "a=%26&b=+"
    assert url.fragment == "x%20y"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ws://h:99999/", "Port out of range"),
        ("ws://h:port/", "Port could not be cast"),
        ("ws://[::1/", "Invalid IPv6 URL"),
        ("ws://h/a b", "control character or space ' ' at index 8"),
        ("ws://h/a\tb", "control character or space '\\t' at index 8"),
        ("ws://h/\r\nX-Evil: 1", "control character or space '\\r' at index 7"),
        (" ws://h/", "at index 0"),
    ],
)
def test_malformed_urls_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid URL") as info:
        URL(text)
    assert message in str(info.value)


def test_non_str_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="URL\\(\\) takes a str, got bytes"):
        URL(b"ws://h/")  # type: ignore[arg-type]


def test_pickle_and_copy_keep_the_class_and_parts() -> None:
    url = URL("wss://u:p@[::1]:9/x?y=1#f")
    for clone in (pickle.loads(pickle.dumps(url)), copy.copy(url), copy.deepcopy(url)):
        assert type(clone) is URL
        assert clone == url
        assert clone.port == 9
        assert clone.hostname == "::1"


# --- replace ----------------------------------------------------------------------------------


def test_replace_single_parts() -> None:
    url = URL("ws://u:p@h:9/x?y=1#f")
    assert url.replace(scheme="wss") == "wss://u:p@h:9/x?y=1#f"
    assert url.replace(path="/chat room?") == "ws://u:p@h:9/chat%20room%3F?y=1#f"
    assert url.replace(query="a=1&a=2") == "ws://u:p@h:9/x?a=1&a=2#f"
    assert url.replace(query="") == "ws://u:p@h:9/x#f"
    assert url.replace(fragment="") == "ws://u:p@h:9/x?y=1"
    assert url.replace(port=None) == "ws://u:p@h/x?y=1#f"
    assert url.replace(port=8000) == "ws://u:p@h:8000/x?y=1#f"
    assert url.replace(hostname="example.com") == "ws://u:p@example.com:9/x?y=1#f"
    assert url.replace(username=None, password=None) == "ws://h:9/x?y=1#f"
    assert url.replace(password="a:b@c") == "ws://u:a:b%40c@h:9/x?y=1#f"
    assert url.replace(netloc="other:1") == "ws://other:1/x?y=1#f"
    assert type(url.replace(scheme="wss")) is URL


def test_replace_with_positional_arguments_is_str_replace() -> None:
    url = URL("ws://h/ws/x")
    replaced = url.replace("ws", "wss")
    assert replaced == "wss://h/wss/x"
    assert type(replaced) is str
    assert url.replace("ws", "wss", 1) == "wss://h/ws/x"


def test_replace_mixing_str_replace_and_parts_is_refused() -> None:
    with pytest.raises(TypeError, match=r"either str\.replace's"):
        URL("ws://h/").replace("ws", "wss", port=1)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"either str\.replace's"):
        URL("ws://h/").replace("ws")  # type: ignore[call-overload]


def test_replace_keeps_the_host_as_written() -> None:
    assert URL("ws://Example.COM:1/").replace(port=2) == "ws://Example.COM:2/"
    assert URL("ws://u@[::1]:1/").replace(port=None) == "ws://u@[::1]/"


def test_replace_brackets_an_ipv6_hostname() -> None:
    url = URL("ws://h:9/x").replace(hostname="::1")
    assert url == "ws://[::1]:9/x"
    assert url.hostname == "::1"


def test_replace_relative_path_under_a_host_gets_a_slash() -> None:
    assert URL("ws://h").replace(path="chat") == "ws://h/chat"


def test_replace_keeps_a_double_slash_path_a_path_without_a_host() -> None:
    url = URL("/x").replace(path="//evil.example/x")
    assert url.netloc == ""
    assert url.path == "//evil.example/x"


def test_replace_netloc_with_its_parts_is_refused() -> None:
    with pytest.raises(ValueError, match="netloc together with hostname, port"):
        URL("ws://h/").replace(netloc="a", hostname="b", port=1)


def test_replace_bad_port() -> None:
    with pytest.raises(ValueError, match="port 70000 is outside 0-65535"):
        URL("ws://h/").replace(port=70000)
    with pytest.raises(TypeError, match="port must be an int or None, got '80'"):
        URL("ws://h/").replace(port="80")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="port must be an int or None, got True"):
        URL("ws://h/").replace(port=True)


def test_replace_password_without_username_is_refused() -> None:
    with pytest.raises(ValueError, match="a password needs a username"):
        URL("ws://h/").replace(password="secret")


def test_replace_into_an_invalid_url_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid URL"):
        URL("ws://h/").replace(query="a b")


# --- property-based round trips -------------------------------------------------------------

_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
_HOSTS = st.one_of(
    st.lists(_LABEL, min_size=1, max_size=3).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
# Decoded text for path and user info: anything printable, non-ASCII included.
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
# Query and fragment are kept as written: use characters that need no encoding there.
_RAW = st.text(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?%", max_size=12)


@given(
    scheme=st.sampled_from(["ws", "wss", "http", "https"]),
    hostname=_HOSTS,
    port=st.none() | st.integers(0, 65535),
    username=st.none() | _TEXT,
    password=_TEXT,
    segments=st.lists(_TEXT, max_size=4),
    query=_RAW,
    fragment=_RAW,
)
def test_round_trip_through_the_string(
    scheme: str,
    hostname: str,
    port: int | None,
    username: str | None,
    password: str,
    segments: list[str],
    query: str,
    fragment: str,
) -> None:
    path = "".join("/" + segment for segment in segments)
    url = URL("ws://placeholder").replace(
        scheme=scheme,
        hostname=hostname,
        port=port,
        username=username,
        password=None if username is None else password,
        path=path,
        query=query,
        fragment=fragment,
    )
    again = URL(str(url))
    assert again == url
    assert again.replace() == url
    for parsed in (url, again):
        assert parsed.scheme == scheme
        assert parsed.hostname == hostname
        assert parsed.port == port
        assert parsed.username == username
        assert parsed.password == (None if username is None else password)
        assert parsed.path == path
        assert parsed.query == query
        assert parsed.fragment == fragment
    assert url.isascii()


def _parts(url: URL) -> tuple[object, ...]:
    return (url.scheme, url.netloc, url.hostname, url.port, url.path, url.query, url.fragment)


@given(st.text(max_size=40))
def test_any_string_parses_or_is_refused_with_value_error(text: str) -> None:
    try:
        url = URL(text)
    except ValueError as exc:
        message = str(exc)
    else:
        assert url == text
        assert _parts(URL(str(url))) == _parts(url)
        return
    assert message.startswith(f"invalid URL {text!r}: ")
