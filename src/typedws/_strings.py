"""Strings shared between connections: handshake names, and header values that repeat.

Every connection that reads ``ws.headers`` keeps a decoded copy of its handshake. Most of it is
the same on every connection of a service: the names (``host``, ``user-agent``, ...) always, and
many values (``websocket``, ``13``, the Host, the Origin, a browser's User-Agent). Decoding each
into a fresh ``str`` made the headers ~60% of the memory typedws keeps per open connection; here
each distinct one is decoded once per process and the same object is handed to every connection
(docs/architecture.md, "Memory per connection"). A hit also skips the decode.

Header names become multidict ``istr`` objects: ``CIMultiDict`` stores, beside each key, a
lower-cased copy to compare by, and only an ``istr`` brings that copy with it (aiohttp hands its
users ``istr`` header names for the same reason). ``istr`` is a ``str`` subclass, equal to and
hashing as the plain name.

Two limits keep this safe against hostile clients:
- Each table is bounded; when full it is emptied and starts again. A client sending endless
  distinct names costs at most one table of memory and only undoes the sharing for a while;
  strings already handed out stay valid (they are immutable, and their connections hold them).
- Only names, and the values of the header names in ``SHARED_VALUE_NAMES``, are ever kept. None
  of those carries a credential or a per-connection secret (``cookie``, ``authorization``,
  ``sec-websocket-key`` and any unknown header are decoded afresh every time), so a process-wide
  table never outlives a connection with a secret in it. Long values are not kept either.

Compiled by mypyc: called once per header of every connection that reads its headers.
"""

from __future__ import annotations

from typing import Final

from multidict import istr

__all__ = ["SHARED_VALUE_NAMES", "header_name", "header_value", "shared_name"]

#: Header names whose values repeat across the connections of one service and carry no secret.
SHARED_VALUE_NAMES: Final = frozenset(
    {
        b"accept",
        b"accept-encoding",
        b"accept-language",
        b"cache-control",
        b"connection",
        b"host",
        b"origin",
        b"pragma",
        b"sec-fetch-dest",
        b"sec-fetch-mode",
        b"sec-fetch-site",
        b"sec-websocket-extensions",
        b"sec-websocket-version",
        b"upgrade",
        b"user-agent",
        b"x-forwarded-host",
        b"x-forwarded-proto",
    }
)

#: Most distinct strings a table keeps before it is emptied.
TABLE_LIMIT: Final = 1024
#: Longest name kept (bytes); header and cookie names are short, a longer one is likely noise.
LONGEST_NAME: Final = 64
#: Longest value kept (bytes): a browser's User-Agent is ~100-200.
LONGEST_VALUE: Final = 256

_header_names: Final[dict[bytes, str]] = {}
_header_values: Final[dict[bytes, str]] = {}
_names: Final[dict[str, str]] = {}


def header_name(raw: bytes) -> str:
    """The name as a shared ``istr`` (latin-1 decoded, as RFC 9110 section 5.5 intends)."""
    name = _header_names.get(raw)
    if name is None:
        name = istr(raw.decode("latin-1"))
        if len(raw) <= LONGEST_NAME:
            if len(_header_names) >= TABLE_LIMIT:
                _header_names.clear()
            _header_names[raw] = name
    return name


def header_value(name: bytes, raw: bytes) -> str:
    """The value decoded as latin-1, shared when ``name`` is in ``SHARED_VALUE_NAMES``.

    ``name`` is the raw name as the server gave it (ASGI sends it lower-cased).
    """
    if name not in SHARED_VALUE_NAMES or len(raw) > LONGEST_VALUE:
        return raw.decode("latin-1")
    value = _header_values.get(raw)
    if value is None:
        value = raw.decode("latin-1")
        if len(_header_values) >= TABLE_LIMIT:
            _header_values.clear()
        _header_values[raw] = value
    return value


def shared_name(name: str) -> str:
    """One shared object per distinct short ``name`` (query parameter and cookie names)."""
    if len(name) > LONGEST_NAME:
        return name
    shared = _names.get(name)
    if shared is None:
        if len(_names) >= TABLE_LIMIT:
            _names.clear()
        _names[name] = name
        return name
    return shared
