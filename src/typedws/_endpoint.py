"""Endpoints: one path, the messages it receives and the messages it sends, declared once.

Dispatch, typed sends, the AsyncAPI document and the typed clients are all derived from an
:class:`Endpoint` (design.md section 7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from typedws._websocket import Mode

if TYPE_CHECKING:
    # PEP 747: lets ``receives=Join | Say`` bind ``In`` to the union (type checkers only).
    from typing_extensions import TypeForm

__all__ = ["Endpoint", "Format"]

In = TypeVar("In")
Out = TypeVar("Out")

#: How an endpoint's messages are encoded: JSON (text frames by default) or MessagePack.
Format = Literal["json", "msgpack"]


class Endpoint(Generic[In, Out]):
    """One websocket path with the messages it receives (``In``) and sends (``Out``)."""

    @overload
    def __init__(
        self,
        path: str,
        *,
        receives: type[In],
        sends: type[Out],
        format: Format = "json",
        mode: Mode = "text",
        title: str | None = None,
        description: str | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        path: str,
        *,
        receives: TypeForm[In],
        sends: type[Out],
        format: Format = "json",
        mode: Mode = "text",
        title: str | None = None,
        description: str | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        path: str,
        *,
        receives: type[In],
        sends: TypeForm[Out],
        format: Format = "json",
        mode: Mode = "text",
        title: str | None = None,
        description: str | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        path: str,
        *,
        receives: TypeForm[In],
        sends: TypeForm[Out],
        format: Format = "json",
        mode: Mode = "text",
        title: str | None = None,
        description: str | None = None,
    ) -> None: ...
    def __init__(
        self,
        path: str,
        *,
        receives: Any,
        sends: Any,
        format: Format = "json",
        mode: Mode = "text",
        title: str | None = None,
        description: str | None = None,
    ) -> None:
        self._path = path
        self._receives = receives
        self._sends = sends
        self._format: Format = format
        self._mode: Mode = mode
        self._title = title
        self._description = description

    @property
    def path(self) -> str:
        """The URL path the endpoint serves (for documents and clients)."""
        return self._path

    @property
    def receives(self) -> Any:
        """The type of the messages the endpoint receives (a tagged union, typically)."""
        return self._receives

    @property
    def sends(self) -> Any:
        """The type of the messages the endpoint sends."""
        return self._sends

    @property
    def format(self) -> Format:
        """``"json"`` or ``"msgpack"``."""
        return self._format

    @property
    def mode(self) -> Mode:
        """The frame kind of JSON messages: ``"text"`` or ``"binary"`` (MessagePack: binary)."""
        return self._mode

    @property
    def title(self) -> str | None:
        """A short human title (the AsyncAPI channel's title)."""
        return self._title

    @property
    def description(self) -> str | None:
        """A longer description (the AsyncAPI channel's description)."""
        return self._description
