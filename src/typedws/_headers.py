"""``Headers``: the handshake headers as a read-only, case-insensitive multidict.

A ``CIMultiDictProxy[str]`` (what users of aiohttp and multidict already know) that also keeps the
scope's original byte pairs in ``.raw``, so code that needs the exact bytes (a signature check, a
proxy) does not have to go back to the scope.

This module is not compiled: mypyc may not compile subclasses of multidict's C classes
(docs/architecture.md, "mypyc facts"). The work (checking and latin-1 decoding every pair) is
done by the compiled :func:`typedws._datastructures.decode_headers`; this class only holds the
result.
"""

from __future__ import annotations

from typing import Any

from multidict import CIMultiDictProxy

__all__ = ["Headers", "headers_from_scope"]


class Headers(CIMultiDictProxy[str]):
    """Read-only, case-insensitive, multi-valued header view; ``.raw`` keeps the byte pairs.

    ``Headers([(b"host", b"example.com"), (b"x-a", b"1"), (b"x-a", b"2")])``: names and values
    are decoded as latin-1 (RFC 9110 section 5.5: field values are octets; latin-1 maps each one
    to one character, so nothing is lost), order and duplicates are kept, ``getall("X-A")`` gives
    ``["1", "2"]``. Raises ``ProtocolError`` when ``raw`` is not a list of ``(bytes, bytes)``
    pairs, naming the bad item. (:func:`headers_from_scope` first turns any other iterable the
    ASGI spec allows into such a list.)
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        # Imported here: _datastructures imports this module (ScopeView.headers builds a
        # Headers), so a module-level import would be circular. Once per connection.
        from ._datastructures import decode_headers

        super().__init__(decode_headers(raw))
        self._raw = raw

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The header pairs exactly as given (the scope's own list object, not a copy)."""
        return self._raw


def headers_from_scope(scope: Any) -> Headers:
    """Build the :class:`Headers` of an ASGI scope (``scope["headers"]``; missing means none).

    ``scope["headers"]`` may be any iterable of ``(bytes, bytes)`` pairs, as ASGI types it, or a
    mapping such as Lilya's ``Header`` (see :func:`typedws._datastructures.raw_headers`);
    ``.raw`` is then a list of byte pairs built from it. Raises ``ProtocolError`` otherwise.
    """
    from ._datastructures import raw_headers  # see Headers.__init__

    return Headers(raw_headers(scope.get("headers", [])))
