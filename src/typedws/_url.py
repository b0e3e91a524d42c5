"""``URL``: a ``str`` that knows its parts.

``ws.url`` must compare equal to the plain string users expect (``ws.url == "ws://h/chat"``) and
still expose ``.scheme``, ``.hostname``, ``.port``... without a second object to keep in sync. So
``URL`` subclasses ``str``; the string is the URL exactly as given. It is checked at construction,
so a malformed URL fails there with a message saying what is wrong, but its parts are kept only
once one is read: most connections read ``ws.url`` as a string or not at all, and the parts
(a ``SplitResult`` of five strings and the instance ``__dict__`` holding it) were ~60% of the
memory of every URL (docs/architecture.md, "Memory per connection").

This module is not compiled: mypyc native classes cannot inherit from ``str``
(docs/architecture.md), and the parsing itself is ``urllib.parse``, which is interpreted either
way. Building a URL from an ASGI scope lives in the compiled ``_datastructures`` module
(``url_from_scope``).

Which parts are decoded:
- ``path``, ``username`` and ``password`` are percent-decoded: they have no inner structure, and a
  decoded ``path`` equals the ASGI scope's ``path`` (the ASGI spec gives ``path`` decoded).
- ``query`` and ``fragment`` are returned as written: a query has structure that decoding would
  destroy (``a=%26`` vs ``a=&``); use ``ws.query_params`` for decoded values.
- ``scheme`` and ``hostname`` are lower-cased (both are case-insensitive, RFC 3986 sections 3.1 and
  3.2.2); ``netloc`` is returned as written.
"""

from __future__ import annotations

import enum
import re
from functools import cached_property
from typing import Any, SupportsIndex, overload
from urllib.parse import SplitResult, quote, unquote, urlsplit

__all__ = ["URL"]

# Characters kept as they are when a decoded component is put back into a URL. RFC 3986 section
# 3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@"; "/" separates segments. "%" is not
# here on purpose: a literal "%" in a decoded path must become "%25" to survive the round trip.
_PATH_SAFE = "/:@!$&'()*+,;="
# RFC 3986 section 3.2.1: userinfo = *( unreserved / pct-encoded / sub-delims / ":" ); the first ":"
# separates the password, so a username must encode its own ":".
_USERNAME_SAFE = "!$&'()*+,;="
_PASSWORD_SAFE = "!$&'()*+,;=:"


class _Unset(enum.Enum):
    """Marks a ``replace`` argument that was not given (``None`` is a real value for ``port``)."""

    UNSET = enum.auto()


_UNSET = _Unset.UNSET


# urlsplit silently drops tabs and newlines and strips leading control characters (WHATWG
# behaviour), which would make the parts disagree with the string. RFC 3986 allows none of them,
# nor spaces, so they are refused instead.
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")


def _check_characters(url: str) -> None:
    found = _FORBIDDEN.search(url)
    if found is not None:
        raise ValueError(
            f"invalid URL {url!r}: control character or space {found.group()!r} "
            f"at index {found.start()}"
        )


class URL(str):
    """A URL as a ``str``, with its parts as properties.

    ``URL("wss://user:pw@example.com:8443/chat?room=1#top")`` keeps the string as given and parses
    it once; ``url`` may be absolute (``"ws://host/path"``) or relative (``"/path?query"``).

    Raises:
        TypeError: ``url`` is not a ``str``.
        ValueError: The URL is malformed (a space or control character, unbalanced IPv6
            brackets, a port that is not an integer in 0-65535); the message names the problem.
    """

    # No __slots__: CPython forbids non-empty __slots__ on str subclasses, so the parsed parts
    # live in the instance __dict__, which CPython creates only when the first one is read.

    def __new__(cls, url: str) -> URL:
        if not isinstance(url, str):
            raise TypeError(f"URL() takes a str, got {type(url).__name__}")
        _check_characters(url)
        try:
            urlsplit(url).port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError as exc:
            raise ValueError(f"invalid URL {url!r}: {exc}") from None
        return super().__new__(cls, url)

    @cached_property
    def _parts(self) -> SplitResult:
        # Split again on first use: construction checked the string, so this cannot fail.
        return urlsplit(str(self))

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"

    def __getnewargs__(self) -> tuple[str]:
        # Pickle and copy rebuild through __new__ (str's default would pass no argument).
        return (str(self),)

    @property
    def scheme(self) -> str:
        """The scheme, lower-cased (``"ws"``, ``"wss"``), or ``""`` for a relative URL."""
        return self._parts.scheme

    @property
    def netloc(self) -> str:
        """The authority as written: ``"user:pw@host:port"``, ``"[::1]:8000"``, or ``""``."""
        return self._parts.netloc

    @property
    def hostname(self) -> str | None:
        """The host, lower-cased, IPv6 without brackets (``"::1"``); ``None`` when absent."""
        return self._parts.hostname

    @property
    def port(self) -> int | None:
        """The port as an ``int``, or ``None`` when the URL gives none (no default is filled in)."""
        return self._parts.port

    @property
    def path(self) -> str:
        """The path, percent-decoded (``"/a b"`` for ``.../a%20b``)."""
        return unquote(self._parts.path)

    @property
    def query(self) -> str:
        """The query string as written, without the ``?``; ``""`` when absent."""
        return self._parts.query

    @property
    def fragment(self) -> str:
        """The fragment as written, without the ``#``; ``""`` when absent."""
        return self._parts.fragment

    @property
    def username(self) -> str | None:
        """The percent-decoded user name, or ``None`` when the URL has no user info."""
        username = self._parts.username
        return None if username is None else unquote(username)

    @property
    def password(self) -> str | None:
        """The percent-decoded password, or ``None`` when the URL has none."""
        password = self._parts.password
        return None if password is None else unquote(password)

    @overload
    def replace(self, old: str, new: str, count: SupportsIndex = -1, /) -> str: ...
    @overload
    def replace(
        self,
        *,
        scheme: str = ...,
        netloc: str = ...,
        path: str = ...,
        query: str = ...,
        fragment: str = ...,
        username: str | None = ...,
        password: str | None = ...,
        hostname: str = ...,
        port: int | None = ...,
    ) -> URL: ...
    def replace(  # the implementation takes *args: mypy refuses named positional-only ones here
        self,
        *args: Any,
        scheme: str | _Unset = _UNSET,
        netloc: str | _Unset = _UNSET,
        path: str | _Unset = _UNSET,
        query: str | _Unset = _UNSET,
        fragment: str | _Unset = _UNSET,
        username: str | _Unset | None = _UNSET,
        password: str | _Unset | None = _UNSET,
        hostname: str | _Unset = _UNSET,
        port: int | _Unset | None = _UNSET,
    ) -> str:
        """Return a new ``URL`` with the given parts changed and the others kept.

        ``url.replace(port=None)``, ``url.replace(scheme="wss", path="/chat")``. ``path``,
        ``username`` and ``password`` take decoded values (as the properties return them) and
        are percent-encoded here; ``query``, ``fragment`` and ``netloc`` are used as written.
        ``port=None`` or ``username=None`` remove that part; an IPv6 ``hostname`` gets its
        brackets.

        Called with positional arguments it is ``str.replace`` (``url.replace("ws:", "wss:")``)
        and returns a plain ``str``: a ``URL`` must still work wherever a ``str`` does.

        Args:
            *args: ``str.replace``'s ``old, new[, count]``; not together with the keywords.
            scheme: The new scheme (``"wss"``).
            netloc: The new authority, as written (``"user:pw@host:8443"``).
            path: The new path, decoded (it is percent-encoded here).
            query: The new query string, as written, without the ``?``.
            fragment: The new fragment, as written, without the ``#``.
            username: The new user name, decoded; ``None`` removes the user info.
            password: The new password, decoded; ``None`` removes it.
            hostname: The new host (an IPv6 address gets its brackets).
            port: The new port; ``None`` removes it.

        Returns:
            A new ``URL`` (a plain ``str`` when called as ``str.replace``).

        Raises:
            ValueError: ``netloc`` is combined with ``username``, ``password``, ``hostname`` or
                ``port`` (they would contradict each other), the port is outside 0-65535, a
                password is given without a username, or the result is not a valid URL.
            TypeError: ``port`` is not an ``int``, or positional and keyword arguments are
                given together.
        """
        if args:
            given = [
                name
                for name, value in (
                    ("scheme", scheme),
                    ("netloc", netloc),
                    ("path", path),
                    ("query", query),
                    ("fragment", fragment),
                    ("username", username),
                    ("password", password),
                    ("hostname", hostname),
                    ("port", port),
                )
                if value is not _UNSET
            ]
            if given or not 2 <= len(args) <= 3:
                raise TypeError(
                    "URL.replace() takes either str.replace's (old, new[, count]) or URL parts "
                    "as keywords, not both"
                )
            return str(self).replace(*args)
        parts = self._parts
        authority_given = [
            name
            for name, value in (
                ("username", username),
                ("password", password),
                ("hostname", hostname),
                ("port", port),
            )
            if value is not _UNSET
        ]
        if not isinstance(netloc, _Unset):
            if authority_given:
                raise ValueError(
                    f"URL.replace() got netloc together with {', '.join(authority_given)}: "
                    "give either netloc or its parts"
                )
            new_netloc = netloc
        elif authority_given:
            new_netloc = self._build_netloc(username, password, hostname, port)
        else:
            new_netloc = parts.netloc
        new_scheme = parts.scheme if isinstance(scheme, _Unset) else scheme
        new_path = parts.path if isinstance(path, _Unset) else quote(path, safe=_PATH_SAFE)
        new_query = parts.query if isinstance(query, _Unset) else query
        new_fragment = parts.fragment if isinstance(fragment, _Unset) else fragment
        return URL(_join(new_scheme, new_netloc, new_path, new_query, new_fragment))

    def _build_netloc(
        self,
        username: str | _Unset | None,
        password: str | _Unset | None,
        hostname: str | _Unset,
        port: int | _Unset | None,
    ) -> str:
        parts = self._parts
        # Keep the parts not given, as written (still encoded) in the current netloc.
        raw_username = parts.username
        if not isinstance(username, _Unset):
            raw_username = None if username is None else quote(username, safe=_USERNAME_SAFE)
        raw_password = parts.password
        if not isinstance(password, _Unset):
            raw_password = None if password is None else quote(password, safe=_PASSWORD_SAFE)
        if raw_password is not None and raw_username is None:
            raise ValueError("URL.replace(): a password needs a username")
        host = _raw_host(parts.netloc) if isinstance(hostname, _Unset) else hostname
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # RFC 3986 section 3.2.2: IPv6 literals go in brackets
        new_port = parts.port
        if not isinstance(port, _Unset):
            if port is not None and type(port) is not int:
                raise TypeError(f"URL.replace(): port must be an int or None, got {port!r}")
            if port is not None and not 0 <= port <= 65535:
                raise ValueError(f"URL.replace(): port {port} is outside 0-65535")
            new_port = port
        netloc = host if new_port is None else f"{host}:{new_port}"
        if raw_username is not None:
            userinfo = raw_username if raw_password is None else f"{raw_username}:{raw_password}"
            netloc = f"{userinfo}@{netloc}"
        return netloc


def _raw_host(netloc: str) -> str:
    """The host part of a netloc as written (case and IPv6 brackets kept)."""
    host_port = netloc.rpartition("@")[2]
    if host_port.startswith("["):
        return host_port[: host_port.find("]") + 1]
    return host_port.partition(":")[0]


def _join(scheme: str, netloc: str, path: str, query: str, fragment: str) -> str:
    """Assemble a URL string from already-encoded parts (RFC 3986 section 5.3)."""
    url = f"{scheme}:" if scheme else ""
    if netloc:
        # With an authority the path must be empty or start with "/" (RFC 3986 section 3.3).
        if path and not path.startswith("/"):
            path = "/" + path
        url += f"//{netloc}"
    elif path.startswith("//"):
        # Without an authority a path starting with "//" would be read as one: "/%2F" keeps it
        # a path (the decoded path is unchanged).
        path = "/%2F" + path[2:]
    url += path
    if query:
        url += f"?{query}"
    if fragment:
        url += f"#{fragment}"
    return url
