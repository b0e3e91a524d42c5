"""The exceptions typedws raises.

A flat tree under :class:`WebSocketError`, each named after whose fault it is: the peer went away
(:class:`WebSocketDisconnect`), the application called something the connection's state forbids
(:class:`WebSocketStateError`), the server or the application's raw ``send`` produced a malformed or
out-of-order ASGI event (:class:`ProtocolError`), or application data did not match what was asked
for (:class:`PayloadError`).

Which fault raises which class, whichever door it comes through (a method or a raw event), is
tabled in docs/behaviour.md, "Errors".

This module is not compiled: mypyc native classes may not inherit ``RuntimeError`` or several
bases (docs/architecture.md, "mypyc facts"), and exceptions gain nothing from compilation.
"""

from __future__ import annotations

from typing import Literal, NoReturn

__all__ = [
    "PayloadError",
    "PayloadKind",
    "ProtocolError",
    "WebSocketDisconnect",
    "WebSocketError",
    "WebSocketStateError",
    "raise_from",
]


#: What kind of problem a :class:`PayloadError` reports (see its ``kind``).
PayloadKind = Literal["frame", "encoding", "syntax", "schema", "depth", "size"]


def raise_from(error: BaseException, cause: BaseException | None) -> NoReturn:
    """``raise error from cause`` (``from None`` when ``cause`` is None), in both builds.

    mypyc drops the ``from`` clause of a ``raise`` (checked with mypy 2.4.1): compiled, the
    error would keep ``__cause__`` None and ``__suppress_context__`` False, so a traceback
    would show the internal exception that ``from None`` hides in the pure build. Setting
    ``__cause__`` sets ``__suppress_context__`` too (PEP 415), exactly as the statement does.
    Every compiled module raises through this function; tests/test_errors.py compares the
    result in both builds.
    """
    error.__cause__ = cause
    try:
        raise error
    finally:
        # This frame holds ``error``, whose traceback holds this frame: a reference cycle that
        # only the cyclic garbage collector frees, with every frame, traceback and exception
        # chained to it (a dozen per connection ended by ``async for ... in ws.iter_*()``).
        # Many connections ending made the collector run often and long, stalling the loop.
        del error, cause


class WebSocketError(Exception):
    """Base class of every error typedws raises on purpose."""


class WebSocketDisconnect(WebSocketError):
    """The client is gone: it sent a close frame, or the transport broke (code 1006).

    ``code`` is the close code the server reported (1005 when the client gave none, 1006 when the
    connection was lost without a close frame); ``reason`` the close reason, possibly empty.

    Args:
        code: The close code.
        reason: The close reason.
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        #: The close code (1005: the client gave none; 1006: the connection was lost).
        self.code = code
        #: The close reason, possibly empty.
        self.reason = reason

    def __str__(self) -> str:
        if self.reason:
            return f"the client disconnected with code {self.code}: {self.reason!r}"
        return f"the client disconnected with code {self.code}"

    def __repr__(self) -> str:
        return f"WebSocketDisconnect(code={self.code!r}, reason={self.reason!r})"


class WebSocketStateError(WebSocketError, RuntimeError):
    """The application made a call that the connection's current state does not allow.

    For example sending before ``accept()``, receiving after the client disconnected, or sending
    after ``close()``. The message names the state and what is allowed in it.
    """


class ProtocolError(WebSocketError, RuntimeError):
    """A malformed or out-of-order ASGI event.

    Raised for events from the server (``receive``) and for events the application hands to the raw
    ``send``. The message names the event type and the offending field. The event is rejected as a
    whole: nothing is half-sent and the connection state is unchanged.
    """


class PayloadError(WebSocketError, ValueError):
    """Application data did not match what was asked for.

    A text frame where bytes were expected (or the reverse), JSON or MessagePack that does not
    decode, or a decoded value that does not match the requested type. ``frame`` keeps the raw
    payload (``str`` or ``bytes``) for logging. The frame is consumed; the connection stays usable.

    ``kind`` says what the problem is (:data:`PayloadKind`): ``"frame"`` the wrong frame kind,
    ``"encoding"`` bytes that are not valid UTF-8 (or text that is not valid Unicode),
    ``"syntax"`` not valid JSON or MessagePack, ``"schema"`` a value that does not match the type,
    ``"depth"`` nested too deeply, ``"size"`` too large. ``path`` is where in the message, in
    msgspec's notation (``"$.user.id"``), when msgspec says so; else None.

    Args:
        message: What went wrong, for people.
        frame: The raw payload, or None.
        kind: What kind of problem it is.
        path: Where in the message, or None.
    """

    def __init__(
        self,
        message: str,
        frame: str | bytes | None = None,
        *,
        kind: PayloadKind = "schema",
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        #: The raw payload that failed (``str`` or ``bytes``), for logging; None if unknown.
        self.frame = frame
        #: What the problem is: ``"frame"``, ``"encoding"``, ``"syntax"``, ``"schema"``,
        #: ``"depth"`` or ``"size"`` (see the class description).
        self.kind: PayloadKind = kind
        #: Where in the message, in msgspec's notation (``"$.user.id"``); None if unknown.
        self.path = path
