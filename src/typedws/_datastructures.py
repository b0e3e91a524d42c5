"""Reading the connection data out of an ASGI websocket scope.

Owns the parsing behind ``ws.url``, ``ws.headers``, ``ws.query_params``, ``ws.cookies``,
``ws.client``, ``ws.subprotocols`` and ``ws.path_params`` (plain functions from scope values to
typed values), and :class:`ScopeView`, the read-only view of the scope that ``Connection``
builds on: a mapping over the scope whose properties call each function at most once, when the
property is first read. Nothing here knows the connection's state or ``receive``/``send``.
(style.md's layout would give the view a ``_scope.py`` of its own; it lives here because a new
compiled module needs a line in setup.py's COMPILED_MODULES, and a native class may only build
on another native class.)

Compiled by mypyc: this is synchronous string and bytes work on every connection that reads its
handshake. The classes it returns that mypyc cannot compile (``URL``, a ``str`` subclass, and
``Headers``, a multidict subclass) live in the uncompiled ``_url`` and ``_headers`` modules.

The scope comes from the server, so every field is checked before use: a field of the wrong shape
raises ``ProtocolError`` naming the field, never a bare ``TypeError`` from deep inside.
Field meanings are those of the ASGI HTTP & WebSocket spec, "WebSocket - Connection Scope".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple, cast
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

from multidict import CIMultiDict, MultiDict, MultiDictProxy

from ._compat import mypyc_attr
from ._errors import ProtocolError, raise_from
from ._headers import Headers, headers_from_scope
from ._strings import header_name, header_value, shared_name
from ._url import _PATH_SAFE, URL
from .types import Scope

__all__ = [
    "Address",
    "ScopeView",
    "client_from_scope",
    "cookies_from_header",
    "decode_headers",
    "parse_query_string",
    "path_params_from_scope",
    "query_params_from_scope",
    "raw_headers",
    "subprotocols_from_scope",
    "url_from_scope",
]

# ``dict`` itself, typed as a scope (str keys): ``type(x) is _SCOPE_DICT`` is the same pointer
# compare as ``is dict``, and both checkers narrow it to ``dict[str, object]`` (pyright narrows
# ``is dict`` on an ``object`` to ``dict[Unknown, Unknown]``, which strict mode reports).
_SCOPE_DICT: Final[type[dict[str, object]]] = dict


class Address(NamedTuple):
    """A peer's network address, as ASGI gives it: ``Address(host="127.0.0.1", port=52814)``."""

    #: The host, as the server reports it (usually an IP address).
    host: str
    #: The port number.
    port: int


# ---------------------------------------------------------------------------------------------
# Headers


def _items(value: object) -> list[object] | tuple[object, ...] | None:
    """A scope field the ASGI spec types as an Iterable, as a list or tuple (None if it is
    not an iterable, or is a str or bytes, which iterate but are never what the spec means)."""
    # The casts (here and below: once per connection): pyright narrows isinstance on an
    # ``object`` to the class with Unknown type arguments, and strict mode reports every read.
    if isinstance(value, (list, tuple)):
        return cast("list[object] | tuple[object, ...]", value)
    if isinstance(value, (str, bytes, bytearray, memoryview)) or not isinstance(value, Iterable):
        return None
    return tuple(cast("Iterable[object]", value))


def raw_headers(raw: object) -> list[tuple[bytes, bytes]]:
    """``scope["headers"]`` as a list of ``(name, value)`` byte pairs.

    ASGI types the field as "Iterable[[byte string, byte string]]": a list (what servers send)
    is returned as it is, the scope's own object (its items are checked by
    :func:`decode_headers`); a tuple or any other iterable of pairs is copied into a list. A
    mapping is read through ``items()``: Lilya's ``Host`` routing puts its ``Header`` there, a
    multidict of str, whose values it decoded as UTF-8; str names and values are encoded back
    the way Lilya itself does (UTF-8, surrogateescape). Raises ``ProtocolError`` for anything
    else (None, a str, a number...), naming the type.
    """
    if type(raw) is list:
        # the usual case: no copy, no check here (decode_headers checks the items)
        return cast("list[tuple[bytes, bytes]]", raw)
    given: object = raw  # not narrowed below, for the error message (see _items for the casts)
    if isinstance(raw, (str, bytes, bytearray, memoryview)) or not isinstance(raw, Iterable):
        raise ProtocolError(
            "scope['headers'] must be an iterable of [name, value] byte pairs, "
            f"got {type(given).__name__}"
        )
    items: Iterable[object] = (
        cast("Mapping[object, object]", raw).items()
        if isinstance(raw, Mapping)
        else cast("Iterable[object]", raw)
    )
    pairs: list[tuple[bytes, bytes]] = []
    for index, item in enumerate(items):
        pair = (
            cast("tuple[object, ...] | list[object]", item)
            if isinstance(item, (tuple, list))
            else None
        )
        if pair is not None and len(pair) == 2:
            name = _header_bytes(pair[0])
            value = _header_bytes(pair[1])
            if name is not None and value is not None:
                pairs.append((name, value))
                continue
        raise ProtocolError(
            f"scope['headers'][{index}] must be a [name, value] pair of bytes, got {item!r}"
        )
    return pairs


def _header_bytes(part: object) -> bytes | None:
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):  # only from a mapping such as Lilya's Header (see raw_headers)
        return part.encode("utf-8", "surrogateescape")
    return None


def decode_headers(raw: object) -> CIMultiDict[str]:
    """Check ASGI header pairs and decode them as latin-1 into a case-insensitive multidict.

    ASGI: "headers: List of [name, value], where name is the header name as byte string and value
    is the header value as a byte string"; servers send tuples or lists, both are accepted. Order
    and duplicates are kept. Raises ``ProtocolError`` naming the first bad item.
    """
    items: Iterable[object] = (
        cast("list[object] | tuple[object, ...]", raw)  # see _items for the casts
        if isinstance(raw, (list, tuple))
        else raw_headers(raw)
    )
    pairs: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        pair = (
            cast("tuple[object, ...] | list[object]", item)
            if isinstance(item, (tuple, list))
            else None
        )
        if pair is not None and len(pair) == 2:
            name = pair[0]
            value = pair[1]
            if isinstance(name, bytes) and isinstance(value, bytes):
                # Decoded as latin-1 (every octet one code point: lossless, as RFC 9110 section
                # 5.5 intends), into strings shared between connections where they repeat.
                pairs.append((header_name(name), header_value(name, value)))
                continue
        raise ProtocolError(
            f"scope['headers'][{index}] must be a [name, value] pair of bytes, got {item!r}"
        )
    return CIMultiDict(pairs)


# ---------------------------------------------------------------------------------------------
# Query string


def _decode_query_component(component: bytes) -> str:
    # application/x-www-form-urlencoded (WHATWG URL, "urlencoded parsing"): "+" is a space, then
    # percent-decoding, then UTF-8 with replacement characters for invalid sequences.
    if b"+" in component:
        component = component.replace(b"+", b" ")
    if b"%" in component:
        component = unquote_to_bytes(component)
    return component.decode("utf-8", "replace")


def parse_query_string(query_string: bytes) -> MultiDictProxy[str]:
    """Parse a raw query string into a read-only multidict.

    ``b"a=1&b=&a=2&c"`` gives ``a: "1", b: "", a: "2", c: ""``: order, repeated keys and blank
    values are all kept; only empty pieces (``&&``) are dropped. Only ``&`` separates pairs, as in
    ``urllib.parse`` since Python 3.10 (``;`` is data). Works on the bytes, so raw UTF-8 in the
    query decodes correctly too.
    """
    pairs: list[tuple[str, str]] = []
    for piece in query_string.split(b"&"):
        if not piece:
            continue
        name, _, value = piece.partition(b"=")
        pairs.append((shared_name(_decode_query_component(name)), _decode_query_component(value)))
    return MultiDictProxy(MultiDict(pairs))


def _query_string(scope: Mapping[str, Any]) -> bytes:
    # ASGI: "query_string: Byte string URL portion after the ?. Optional, default is empty".
    query_string = scope.get("query_string", b"")
    if not isinstance(query_string, bytes):
        raise ProtocolError(
            f"scope['query_string'] must be bytes, got {type(query_string).__name__}"
        )
    return query_string


def query_params_from_scope(scope: Mapping[str, Any]) -> MultiDictProxy[str]:
    """Parse ``scope["query_string"]`` (see :func:`parse_query_string`).

    Raises ``ProtocolError`` when the query string is not bytes.
    """
    return parse_query_string(_query_string(scope))


# ---------------------------------------------------------------------------------------------
# Cookies


def cookies_from_header(value: str) -> dict[str, str]:
    """Parse a ``Cookie`` header value into ``{name: value}``; never raises.

    RFC 6265 section 4.2.1: ``name=value`` pairs separated by ``;``. A pair without ``=`` or with
    an empty name is skipped; a value wrapped in double quotes loses them (``cookie-value`` may be
    a quoted string). When a name repeats, the first one wins: user agents list the cookie with
    the most specific path first (RFC 6265 section 5.4, step 2).
    """
    cookies: dict[str, str] = {}
    for chunk in value.split(";"):
        name, sep, cookie_value = chunk.partition("=")
        if not sep:
            continue
        name = shared_name(name.strip())
        if not name or name in cookies:
            continue
        cookie_value = cookie_value.strip()
        if len(cookie_value) >= 2 and cookie_value[0] == '"' and cookie_value[-1] == '"':
            cookie_value = cookie_value[1:-1]
        cookies[name] = cookie_value
    return cookies


# ---------------------------------------------------------------------------------------------
# Client, subprotocols, path params


def client_from_scope(scope: Mapping[str, Any]) -> Address | None:
    """The client's address from ``scope["client"]``, or ``None`` when the server gives none.

    ASGI: "client (Iterable[Unicode string, int]): A two-item iterable of [host, port] ...
    Optional, defaults to None". Raises ``ProtocolError`` for any other shape.
    """
    client = scope.get("client")
    if client is None:
        return None
    pair = _items(client)
    if pair is not None and len(pair) == 2:
        host = pair[0]
        port = pair[1]
        if isinstance(host, str) and isinstance(port, int) and not isinstance(port, bool):
            return Address(host, port)
    raise ProtocolError(f"scope['client'] must be a [host: str, port: int] pair, got {client!r}")


def subprotocols_from_scope(scope: Mapping[str, Any]) -> list[str]:
    """The subprotocols the client offered, in its order (a new list; the scope is not shared).

    ASGI: "subprotocols: List of subprotocols the client advertised as unicode strings. Optional,
    defaults to empty list." Raises ``ProtocolError`` when it is not a list of str.
    """
    offered = scope.get("subprotocols")
    if offered is None:
        return []
    items = _items(offered)  # ASGI: "subprotocols (Iterable[Unicode string])"
    if items is not None:
        result: list[str] = []
        for item in items:
            if not isinstance(item, str):
                break
            result.append(item)
        else:
            return result
    raise ProtocolError(f"scope['subprotocols'] must be a list of str, got {offered!r}")


def path_params_from_scope(scope: Mapping[str, Any]) -> dict[str, Any]:
    """The router's ``scope["path_params"]`` (a Starlette-style convention, not ASGI), or ``{}``.

    The scope's own dict is returned, not a copy. Raises ``ProtocolError`` when it is not a dict.
    """
    params = scope.get("path_params")
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ProtocolError(f"scope['path_params'] must be a dict, got {type(params).__name__}")
    return cast("dict[str, Any]", params)  # see _items for the casts


# ---------------------------------------------------------------------------------------------
# URL

_DEFAULT_PORTS: Final = {"ws": 80, "wss": 443, "http": 80, "https": 443}
# host [":" port] as a Host header carries it (RFC 9110 section 7.2, RFC 3986 section 3.2.2): an
# IPv6 literal in brackets (with an optional "%25" zone id, RFC 6874) or a reg-name / IPv4 made of
# unreserved characters. Anything else (a "/", "@", "?", spaces...) would change how the URL
# parses, so such a header is not trusted and the server address is used instead.
_HOST_RE: Final = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+(?:%25[0-9A-Za-z._~-]+)?\]|[0-9A-Za-z._~-]+)(?::[0-9]{1,5})?"
)
# Query bytes kept as they are when the URL is assembled: every printable ASCII character except
# "#", which would start a fragment. Control characters, spaces and non-ASCII bytes (which a
# server may pass through, though RFC 3986 allows none of them) are percent-encoded.
_QUERY_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "#")
_QUERY_UNSAFE: Final = re.compile(rb"[^\x21-\x22\x24-\x7e]")  # the complement of _QUERY_SAFE


def _host_header(headers: object) -> str | None:
    """The Host header's value, if there is one; malformed headers are not an error here (they
    are when ``ws.headers`` is read): the URL then falls back to the server address."""
    if not isinstance(headers, (list, tuple)):
        try:
            headers = raw_headers(headers)
        except ProtocolError:
            return None
    if isinstance(headers, (list, tuple)):
        for item in cast("list[object] | tuple[object, ...]", headers):  # see _items
            pair = (
                cast("list[object] | tuple[object, ...]", item)
                if isinstance(item, (list, tuple))
                else None
            )
            if pair is not None and len(pair) == 2 and pair[0] == b"host":
                value = pair[1]
                if isinstance(value, bytes):
                    return value.decode("latin-1")
    return None


def _server_netloc(scheme: str, server: object) -> str:
    # ASGI: "server: List of [host, port] ... Optional, defaults to None". A Unix socket server
    # gives [path, None] (uvicorn --uds): a path is no URL host, so the netloc stays empty.
    pair = _items(server)
    if pair is None or len(pair) != 2:
        return ""
    host = pair[0]
    port = pair[1]
    if not isinstance(host, str):
        return ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    if _HOST_RE.fullmatch(host) is None:
        return ""
    if not isinstance(port, int) or isinstance(port, bool) or port == _DEFAULT_PORTS.get(scheme):
        return host
    return f"{host}:{port}"


def full_path(path: str, root_path: str) -> str:
    """The request path including the mount point, from the scope's ``path`` and ``root_path``.

    The ASGI spec has ``path`` include ``root_path`` ("PATH_INFO can be derived by stripping
    root_path from path"); uvicorn and Starlette follow it. hypercorn 0.18 passes its configured
    ``root_path`` without adding it to ``path``. So: a ``path`` that already starts with
    ``root_path`` at a segment boundary is taken as it is, any other gets ``root_path`` in front.
    (The one case this cannot tell apart is a stripped ``path`` that itself begins with
    ``root_path``, such as ``/api/api/x`` behind a server that strips ``/api``.)
    """
    root = root_path.rstrip("/")
    if not root or path == root or path.startswith(root + "/"):
        return path
    return root + path


def url_from_scope(scope: Mapping[str, Any]) -> URL:
    """The connection's URL as the client requested it: ``ws://host:port/root/path?query``.

    Scheme from ``scope["scheme"]`` (default ``ws``); host and port from the ``Host`` header
    when it is a valid ``host[:port]``, else from ``scope["server"]`` with the default port (80
    for ws, 443 for wss) left out; the path from ``root_path`` and ``path`` (see
    :func:`full_path`), percent-encoded; the raw ``query_string``. Raises ``ProtocolError`` when
    ``path`` is missing or a field has the wrong type.
    """
    scheme = scope.get("scheme") or "ws"
    if not isinstance(scheme, str):
        raise ProtocolError(f"scope['scheme'] must be a str, got {type(scheme).__name__}")
    path = scope.get("path")
    if not isinstance(path, str):
        raise ProtocolError(f"scope['path'] must be a str, got {type(path).__name__}")
    root_path = scope.get("root_path") or ""
    if not isinstance(root_path, str):
        raise ProtocolError(f"scope['root_path'] must be a str, got {type(root_path).__name__}")
    query_string = _query_string(scope)
    if _QUERY_UNSAFE.search(query_string) is None:
        query = query_string.decode("ascii")  # the usual case, and much faster than quoting
    else:
        query = quote_from_bytes(query_string, safe=_QUERY_SAFE)
    # ASGI path is decoded: encode it again so that "?", "#", "%" and spaces stay in the path.
    encoded_path = quote(full_path(path, root_path), safe=_PATH_SAFE)
    tail = encoded_path if encoded_path.startswith("/") else "/" + encoded_path
    if query:
        tail += "?" + query

    host = _host_header(scope.get("headers"))
    if host is not None and _HOST_RE.fullmatch(host) is not None:
        try:
            return URL(f"{scheme}://{host}{tail}")
        except ValueError:
            pass  # e.g. "[zz]" or a port over 65535: fall back to the server address
    url = f"{scheme}://{_server_netloc(scheme, scope.get('server'))}{tail}"
    try:
        return URL(url)
    except ValueError as exc:  # only a scheme with spaces or control characters gets here
        raise_from(ProtocolError(f"the scope does not make a valid URL: {exc}"), None)


# ---------------------------------------------------------------------------------------------
# The scope view: what a connection knows before any event, apart from its state


#: The spec versions servers announce, parsed once (a lookup, where parsing is two int()s).
_KNOWN_VERSIONS: Final[dict[str, tuple[int, int]]] = {
    **{f"2.{minor}": (2, minor) for minor in range(10)},
    "3.0": (3, 0),
}


def _spec_version(scope: Scope) -> tuple[int, int] | None:
    """The websocket spec version the server declares, or None when it declares none (or
    something that is not a version)."""
    asgi = scope.get("asgi")
    version = (
        cast("Mapping[str, object]", asgi).get("spec_version")  # see _items for the casts
        if type(asgi) is dict or isinstance(asgi, Mapping)
        else None
    )
    if not isinstance(version, str):
        return None
    known = _KNOWN_VERSIONS.get(version)
    if known is not None:
        return known
    major, _, minor = version.partition(".")
    try:
        return (int(major), int(minor or "0"))
    except ValueError:
        return None


@mypyc_attr(allow_interpreted_subclasses=True)
class ScopeView(Mapping[str, Any]):
    """The read-only view of one websocket scope: a mapping over it, and the connection data
    parsed from it (Starlette's ``HTTPConnection`` shape).

    It knows nothing of the connection's state or of ``receive``/``send``: ``Connection``
    (_connection.py) adds those on top. Each property parses its field on first read and keeps
    the result (the scope is fixed for the life of the connection: ASGI says it "contains the
    initial connection metadata"); a malformed field raises ``ProtocolError`` when that
    property is first read, not at construction. Raises ValueError if ``scope["type"]`` is not
    ``"websocket"``.
    """

    def __init__(self, scope: Scope) -> None:
        # Checked at run time too: a plain-Python caller may pass anything. The exact-type test
        # first: a pointer compare, after which compiled code reads the dict directly (a Mapping
        # would be read through a method call, and the ABC check walks abc's cache).
        given: object = scope
        if type(given) is _SCOPE_DICT:  # noqa: SIM114  (two branches: here it is narrowed to dict)
            scope_type = given.get("type")
        elif isinstance(given, Mapping):
            scope_type = given.get("type")
        else:
            scope_type = None
        if scope_type != "websocket":
            raise ValueError(f"WebSocket needs a websocket scope, got scope type {scope_type!r}")
        self.scope: Scope = scope
        self._spec: tuple[int, int] | None = None  # the declared version, once read
        self._spec_read = False
        # Connection data, parsed from the scope on first read and kept (None: not read yet).
        self._url: URL | None = None
        self._headers: Headers | None = None
        self._query_params: MultiDictProxy[str] | None = None
        self._path_params: dict[str, Any] | None = None
        self._cookies: dict[str, str] | None = None
        self._subprotocols: list[str] | None = None
        self._state: dict[str, Any] | None = None
        self._client: Address | None = None
        self._client_read = False  # None is a valid client, so it needs its own flag

    # --- the scope as a read-only mapping ----------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # Mapping would compare (and so refuse to hash) by content; a connection is itself alone.
    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    @property
    def spec_version(self) -> tuple[int, int]:
        """The server's ASGI websocket spec version as ``(major, minor)``; ``(2, 0)``, the
        spec's default, when the server declares none."""
        declared = self._declared_spec()
        return (2, 0) if declared is None else declared

    def _declared_spec(self) -> tuple[int, int] | None:
        if not self._spec_read:
            self._spec = _spec_version(self.scope)
            self._spec_read = True
        return self._spec

    # --- connection data: each parsed on first read, then kept ------------------------------

    @property
    def url(self) -> URL:
        """The URL the client asked for: ``ws://host:port/root/path?query`` (see ``URL``).

        Built from the scheme, the Host header (else ``server``), ``root_path``, ``path`` and
        ``query_string``. Raises ProtocolError if one of those scope fields is malformed.
        """
        url = self._url
        if url is None:
            url = url_from_scope(self.scope)
            self._url = url
        return url

    @property
    def headers(self) -> Headers:
        """The handshake headers: case-insensitive, multi-valued, read-only, latin-1 decoded;
        ``.raw`` is the scope's list of byte pairs. Raises ProtocolError if they are malformed.

        Names are multidict ``istr`` objects (a ``str`` subclass, as in aiohttp), and names and
        common values are shared with other connections: ``str(name)`` gives a plain ``str``
        where one is needed (msgspec encodes an ``istr`` as a dict key but not as a value)."""
        headers = self._headers
        if headers is None:
            headers = headers_from_scope(self.scope)
            self._headers = headers
        return headers

    @property
    def query_params(self) -> MultiDictProxy[str]:
        """The decoded query parameters, in order, repeats and blank values kept (read-only).
        Raises ProtocolError if ``query_string`` is not bytes."""
        params = self._query_params
        if params is None:
            params = query_params_from_scope(self.scope)
            self._query_params = params
        return params

    @property
    def path_params(self) -> dict[str, Any]:
        """The router's ``scope["path_params"]``, or ``{}`` when no router set any."""
        params = self._path_params
        if params is None:
            params = path_params_from_scope(self.scope)
            self._path_params = params
        return params

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies of the Cookie header(s); malformed pairs are skipped, never an error."""
        cookies = self._cookies
        if cookies is None:
            # HTTP/2 may split the cookie into several header fields (RFC 9113 section
            # 8.2.3); they join back with "; ".
            cookies = cookies_from_header("; ".join(self.headers.getall("cookie", [])))
            self._cookies = cookies
        return cookies

    @property
    def client(self) -> Address | None:
        """The client's ``Address(host, port)``, or None when the server does not give it."""
        if not self._client_read:
            self._client = client_from_scope(self.scope)
            self._client_read = True
        return self._client

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        offered = self._subprotocols
        if offered is None:
            offered = subprotocols_from_scope(self.scope)
            self._subprotocols = offered
        return offered

    @property
    def state(self) -> dict[str, Any]:
        """The lifespan state the server copied into the scope (ASGI lifespan, "state").

        When the server gives none, an empty dict kept for this connection (the scope itself
        is not changed). Raises ProtocolError if ``scope["state"]`` is not a dict.
        """
        state = self._state
        if state is None:
            found = self.scope.get("state")
            if found is None:
                state = {}
            elif isinstance(found, dict):
                state = cast("dict[str, Any]", found)  # see _items for the casts
            else:
                raise ProtocolError(f"scope['state'] must be a dict, got {type(found).__name__}")
            self._state = state
        return state
