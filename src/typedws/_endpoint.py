"""Endpoints: one path, the messages it receives and the messages it sends, declared once.

This module owns the declaration (:class:`Endpoint`), the typed view of a connection
(:class:`TypedWebSocket`), and dispatch: one handler per member of ``receives``, looked up by the
type of each decoded message, plus the hooks around a connection's life. It knows nothing about
ASGI events or frames; every byte goes through :class:`typedws.WebSocket`'s own methods, so
the state machine, the codecs and the ``PayloadError`` mapping are the ones users already know.

Theory of operation, per message (typedws._typed.dispatch): ``ws.receive_json(mode,
type=receives)`` decodes and validates into the union (the codec caches one decoder per endpoint
type, found by an identity check), ``handlers[type(message)]`` picks the handler (a dict lookup,
not an isinstance chain), the handler runs, and a returned message goes out through
:meth:`TypedWebSocket.send`, which checks it is a member of ``sends`` (a set lookup on its class
when ``sends`` is a union of classes; a msgspec round trip for other type forms) and sends it.

Invalid messages (docs/architecture.md): without an ``on_invalid`` hook the connection is closed
with RFC 6455 section 7.4.1's codes: 1003 for the wrong frame kind, 1007 for bytes that are not
valid UTF-8 / JSON / MessagePack (or nested too deeply), 1008 for a message that does not match
``receives``, 1009 for one too big. The close reason is the PayloadError's message, cut to the
123 bytes a close frame allows (typedws._typed.close_code_for).

This module is not compiled: it runs once per endpoint or per connection, and mypyc (2.x)
miscompiles an overloaded ``__init__`` of a native class and crashes on the closures of a
non-native one. The per-message half, typedws._typed, is compiled.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeGuard, TypeVar, overload

import msgspec

from typedws._codecs import DEFAULT_CODEC, Codec, union_members
from typedws._errors import PayloadError, WebSocketDisconnect
from typedws._state import WebSocketState
from typedws._typed import TypedWebSocket, dispatch
from typedws._websocket import Mode, WebSocket

if TYPE_CHECKING:
    # PEP 747: lets ``receives=Join | Say`` bind ``In`` to the union (type checkers only).
    from typing_extensions import TypeForm

    from typedws.app import Lifespan, WebSocketApp

__all__ = ["Endpoint", "Format"]

In = TypeVar("In")
Out = TypeVar("Out")
M = TypeVar("M")

#: How an endpoint's messages are encoded: JSON (text frames by default) or MessagePack.
Format = Literal["json", "msgpack"]

logger: Final = logging.getLogger("typedws")

#: RFC 6455 section 7.4.1: "the server is terminating the connection because it encountered an
#: unexpected condition": what the application closes with after a handler error.
_INTERNAL_ERROR: Final = 1011


def _dispatch_key(member: object) -> type | None:
    """The class ``type(message)`` has for a decoded member (``list[int]``: list), or None."""
    origin = typing.get_origin(member)
    key = origin if origin is not None else member
    if member is None:
        return type(None)
    return key if isinstance(key, type) else None


def _is_class(form: object) -> TypeGuard[type]:
    """Whether ``form`` is a plain class. Python 3.10 also answers True to
    ``isinstance(list[int], type)`` (a generic alias passes itself off as its origin there);
    such a form is not a class: its instances must be checked against the arguments too."""
    return isinstance(form, type) and typing.get_origin(form) is None


def _name(form: object) -> str:
    return form.__name__ if _is_class(form) else repr(form)


def _check_decodable(form: object, format: Format, what: str) -> None:
    """Build the decoder for ``form`` now, so a type msgspec cannot decode fails here (the
    codec explains Structs that lost their tag to mypyc)."""
    try:
        if format == "json":
            DEFAULT_CODEC.json_decoder(form)
        else:
            DEFAULT_CODEC.msgpack_decoder(form)
    except TypeError as exc:
        raise TypeError(f"Endpoint {what}={_name(form)}: {exc}") from None


class _Direction:
    """One direction of an endpoint: its type form and how to check that a value belongs."""

    __slots__ = ("classes", "exact", "form", "keys")

    def __init__(self, form: object) -> None:
        self.form = form
        members = union_members(form)
        keys: dict[type, object] = {}
        for member in members:
            key = _dispatch_key(member)
            if key is not None and key not in keys:
                keys[key] = member
        #: Dispatch key (the class of a decoded value) -> the member it stands for.
        self.keys = keys
        #: When every member is a class, a value belongs iff its class is one of them.
        self.exact = all(_is_class(member) or member is None for member in members)
        self.classes: frozenset[type] = frozenset(keys) if self.exact else frozenset()

    def check(self, value: object, codec: Codec, side: str) -> None:
        """TypeError unless ``value`` is a ``form`` (for classes, one set lookup)."""
        if type(value) in self.classes:
            return
        if self.exact and isinstance(value, tuple(self.classes)):
            return  # an instance of a subclass of a member (``object``: anything)
        if not self.exact:
            # A type form that is not a union of classes (list[int], a Literal...): encode and
            # decode again, which is msgspec's own validation.
            try:
                codec.json_decoder(self.form).decode(codec.encode_json(value))
                return
            except (TypeError, msgspec.DecodeError):
                pass
        raise TypeError(f"{side}: {type(value).__name__} is not a member of {_name(self.form)}")


class Endpoint(Generic[In, Out]):
    """One websocket path with the messages it receives (``In``) and sends (``Out``).

    ``receives`` and ``sends`` are any types msgspec decodes, typically tagged unions of
    Structs; ``Endpoint("/chat", receives=Join | Say, sends=Joined | Said)`` is an
    ``Endpoint[Join | Say, Joined | Said]`` under mypy and pyright. ``format`` is ``"json"``
    (in text frames, or binary ones with ``mode="binary"``) or ``"msgpack"`` (binary frames).
    ``title`` and ``description`` describe the endpoint in its AsyncAPI document.

    Register one handler per member of ``receives`` with :meth:`on`, hooks with
    :meth:`on_connect`, :meth:`on_disconnect`, :meth:`on_invalid`, :meth:`on_shutdown`; then
    :meth:`app` gives the ASGI 3 application.

    Raises TypeError if msgspec cannot decode ``receives`` or ``sends`` (the message says so,
    and says what to do when the Structs lost their tags to mypyc), ValueError for a ``path``
    that does not start with ``/``, an unknown ``format`` or ``mode``.

    Args:
        path: The URL path, starting with ``/`` (for the AsyncAPI document and clients).
        receives: The type of the messages the endpoint receives (any type msgspec decodes).
        sends: The type of the messages it sends.
        format: ``"json"`` or ``"msgpack"``.
        mode: ``"text"`` or ``"binary"``: the frame kind of JSON messages (MessagePack always
            travels in binary frames).
        title: A short title for the AsyncAPI document; None for none.
        description: A longer description for the AsyncAPI document; None for none.

    Raises:
        TypeError: msgspec cannot decode ``receives`` or ``sends`` in ``format``.
        ValueError: ``path`` is not a str starting with ``/``, or ``format`` or ``mode`` is
            not one of its values.
    """

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
        given: object = path  # callers from plain Python may pass anything
        if not isinstance(given, str) or not given.startswith("/"):
            raise ValueError(f"Endpoint path must be a str starting with '/', got {path!r}")
        if format != "json" and format != "msgpack":
            raise ValueError(f"Endpoint format must be 'json' or 'msgpack', got {format!r}")
        if mode != "text" and mode != "binary":
            raise ValueError(f"Endpoint mode must be 'text' or 'binary', got {mode!r}")
        if format == "msgpack" and mode != "binary":
            mode = "binary"  # MessagePack travels in binary frames only
        _check_decodable(receives, format, "receives")
        _check_decodable(sends, format, "sends")
        self._path = path
        self._receives = receives
        self._sends = sends
        self._format: Format = format
        self._mode: Mode = mode
        self._title = title
        self._description = description
        self._in = _Direction(receives)
        self._out = _Direction(sends)
        self._handlers: dict[type, Callable[[Any, Any], Awaitable[Any]]] = {}
        self._on_connect: Callable[[TypedWebSocket[In, Out]], Awaitable[None]] | None = None
        self._on_disconnect: Callable[[TypedWebSocket[In, Out], int], Awaitable[None]] | None = None
        self._on_invalid: (
            Callable[[TypedWebSocket[In, Out], PayloadError], Awaitable[None]] | None
        ) = None
        self._on_shutdown: Callable[[TypedWebSocket[In, Out]], Awaitable[None]] | None = None

    def __repr__(self) -> str:
        return (
            f"Endpoint({self._path!r}, receives={_name(self._receives)}, "
            f"sends={_name(self._sends)}, format={self._format!r})"
        )

    # --- the declaration (read-only) ---------------------------------------------------------

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
        """The frame kind of the messages: ``"text"`` or ``"binary"`` (MessagePack: binary)."""
        return self._mode

    @property
    def title(self) -> str | None:
        """A short human title (the AsyncAPI channel's title)."""
        return self._title

    @property
    def description(self) -> str | None:
        """A longer description (the AsyncAPI channel's description)."""
        return self._description

    # --- handlers and hooks ------------------------------------------------------------------

    def on(
        self, member: type[M]
    ) -> Callable[
        [Callable[[TypedWebSocket[In, Out], M], Awaitable[Out | None]]],
        Callable[[TypedWebSocket[In, Out], M], Awaitable[Out | None]],
    ]:
        """Register the handler of ``member``, one member of ``receives`` (a decorator).

        The handler is ``async def handler(conn, msg: Member) -> Out | None``; a message it
        returns is sent. Raises TypeError if ``member`` is not a member of ``receives`` or
        already has a handler.

        Args:
            member: A member of ``receives`` (a class, typically one Struct of the union).

        Returns:
            A decorator that registers the handler and returns it unchanged (TypeError if it
            is given something that is not callable).

        Raises:
            TypeError: ``member`` is not a member of ``receives``, or already has a handler.
        """
        key = _dispatch_key(member)
        if key is None or self._in.keys.get(key) != member:
            raise TypeError(
                f"{_name(member)} is not a member of {_name(self._receives)}, what {self!r} "
                "receives"
            )
        if key in self._handlers:
            raise TypeError(f"{self!r} already has a handler for {_name(member)}")

        def register(
            handler: Callable[[TypedWebSocket[In, Out], M], Awaitable[Out | None]],
        ) -> Callable[[TypedWebSocket[In, Out], M], Awaitable[Out | None]]:
            if not callable(handler):
                raise TypeError(f"on({_name(member)}) needs an async function")
            self._handlers[key] = handler
            return handler

        return register

    def on_connect(
        self, hook: Callable[[TypedWebSocket[In, Out]], Awaitable[None]]
    ) -> Callable[[TypedWebSocket[In, Out]], Awaitable[None]]:
        """Register the hook run before the handshake is accepted (a decorator).

        It may reject (``await conn.ws.close()`` or ``conn.ws.send_denial_response(...)``) or
        accept itself (``await conn.ws.accept(subprotocol=...)``); otherwise the endpoint
        accepts once it returns.

        Args:
            hook: ``async def hook(conn: TypedWebSocket) -> None``; it replaces any earlier one.

        Returns:
            ``hook``, unchanged.
        """
        self._on_connect = hook
        return hook

    def on_disconnect(
        self, hook: Callable[[TypedWebSocket[In, Out], int], Awaitable[None]]
    ) -> Callable[[TypedWebSocket[In, Out], int], Awaitable[None]]:
        """Register the hook run when the connection has ended, with its close code (a decorator).

        Args:
            hook: ``async def hook(conn: TypedWebSocket, code: int) -> None``; it replaces any
                earlier one.

        Returns:
            ``hook``, unchanged.
        """
        self._on_disconnect = hook
        return hook

    def on_invalid(
        self, hook: Callable[[TypedWebSocket[In, Out], PayloadError], Awaitable[None]]
    ) -> Callable[[TypedWebSocket[In, Out], PayloadError], Awaitable[None]]:
        """Register the hook run for an invalid message, instead of closing the connection.

        It gets the :class:`PayloadError` (``kind``, ``path``); it may send a message and
        return, and the endpoint goes on with the next message, or close the connection.

        Args:
            hook: ``async def hook(conn: TypedWebSocket, error: PayloadError) -> None``; it
                replaces any earlier one.

        Returns:
            ``hook``, unchanged.
        """
        self._on_invalid = hook
        return hook

    def on_shutdown(
        self, hook: Callable[[TypedWebSocket[In, Out]], Awaitable[None]]
    ) -> Callable[[TypedWebSocket[In, Out]], Awaitable[None]]:
        """Register the hook run when the server drains its connections (a decorator).

        It may send a typed goodbye; the connection is closed after it returns. It runs from
        :meth:`shutdown`, which the application's draining calls for each open connection.

        Args:
            hook: ``async def hook(conn: TypedWebSocket) -> None``; it replaces any earlier one.

        Returns:
            ``hook``, unchanged.
        """
        self._on_shutdown = hook
        return hook

    # --- serving -----------------------------------------------------------------------------

    def wrap(self, ws: WebSocket) -> TypedWebSocket[In, Out]:
        """The typed view of ``ws``, for a handler written by hand (``websocket_app``).

        Args:
            ws: The connection.

        Returns:
            A :class:`TypedWebSocket` over ``ws`` that sends and receives this endpoint's types.
        """
        return TypedWebSocket(ws, self)

    def missing(self) -> list[object]:
        """The members of ``receives`` that have no handler yet.

        Returns:
            The members, in the order of ``receives``; empty when every one has a handler.
        """
        return [member for key, member in self._in.keys.items() if key not in self._handlers]

    def app(
        self,
        *,
        codec: Codec | None = None,
        lifespan: Lifespan | None = None,
        allowed_origins: Iterable[str] | None = None,
        max_message_size: int | None = None,
        idle_timeout: float | None = None,
        rate_limit: tuple[int, float] | None = None,
    ) -> WebSocketApp:
        """The ASGI 3 application serving this endpoint (as :func:`typedws.websocket_app`).

        Each connection runs :meth:`serve`. ``codec`` gives msgspec hooks to every
        connection; ``lifespan``, ``allowed_origins``, ``max_message_size``, ``idle_timeout``
        and ``rate_limit`` are :func:`typedws.websocket_app`'s options. Its ``drain()`` (and
        the lifespan shutdown) runs :meth:`shutdown` for each open connection: the
        ``on_shutdown`` hook, then the close. Raises TypeError naming every member of
        ``receives`` without a handler, and as ``websocket_app`` for a bad option.

        Args:
            codec: msgspec hooks given to every connection's WebSocket; None for none.
            lifespan: As in :func:`typedws.websocket_app`.
            allowed_origins: As in :func:`typedws.websocket_app`.
            max_message_size: As in :func:`typedws.websocket_app`.
            idle_timeout: As in :func:`typedws.websocket_app`.
            rate_limit: As in :func:`typedws.websocket_app`.

        Returns:
            The ASGI 3 application, a :class:`~typedws.WebSocketApp`.

        Raises:
            TypeError: A member of ``receives`` has no handler, or an option has the wrong
                type.
            ValueError: An option has an impossible value.
        """
        from typedws.app import WebSocketApp

        missing = self.missing()
        if missing:
            names = ", ".join(_name(member) for member in missing)
            raise TypeError(
                f"{self!r} has no handler for {names}: register one with @endpoint.on(Member) "
                "for each member of receives"
            )

        async def on_shutdown(ws: WebSocket, code: int, reason: str | None) -> None:
            await self.shutdown(self.wrap(ws), code, reason)

        return WebSocketApp(
            self.serve,
            codec=codec,
            lifespan=lifespan,
            allowed_origins=allowed_origins,
            max_message_size=max_message_size,
            idle_timeout=idle_timeout,
            rate_limit=rate_limit,
            on_shutdown=on_shutdown,
        )

    async def serve(self, ws: WebSocket) -> None:
        """Run one connection: on_connect, accept, dispatch each message, on_disconnect.

        For mounting the endpoint in a router that hands out a :class:`WebSocket`; :meth:`app`
        runs it for each connection. The loop ends when the client disconnects or the
        connection is closed (by a handler, a hook, or for an invalid message). When a handler
        raises, the connection is closed with 1011, on_disconnect still runs (with 1011, or the
        code the connection had already ended with), and the exception propagates (the
        application logs it). Raises TypeError, before accepting, if a member of ``receives``
        has no handler.

        Args:
            ws: The connection, not yet accepted.

        Raises:
            TypeError: A member of ``receives`` has no handler.
            Exception: Whatever a handler or hook raises propagates.
        """
        if len(self._handlers) != len(self._in.keys):
            self.app()  # raises, naming the members without a handler
        conn = TypedWebSocket(ws, self)
        if self._on_connect is not None:
            await self._on_connect(conn)
        state = ws.application_state
        if state is WebSocketState.CONNECTING:
            await ws.accept()
        elif state is not WebSocketState.CONNECTED:
            return  # on_connect rejected the handshake
        try:
            code = await dispatch(conn, self._handlers, self._on_invalid)
        except Exception:
            if self._on_disconnect is not None:
                await self._disconnect_after_error(conn)
            raise
        if self._on_disconnect is not None:
            await self._on_disconnect(conn, code)

    async def _disconnect_after_error(self, conn: TypedWebSocket[In, Out]) -> None:
        """A handler raised: close with 1011 (what the application would do next), run
        on_disconnect with the code the connection ended with, and let the caller re-raise.

        on_disconnect is where applications undo what on_connect and the handlers did (leave a
        room, release a slot); skipping it because one handler failed would leak exactly that.
        A hook that fails here is logged: the handler's error is the one to propagate.
        """
        ws = conn.ws
        if ws.application_state is WebSocketState.CONNECTED:
            try:
                await ws.close(_INTERNAL_ERROR)
            except Exception:  # the peer or the server is gone; the code below says so
                logger.debug("could not close after a handler error", exc_info=True)
        code = ws.close_code
        assert self._on_disconnect is not None
        try:
            await self._on_disconnect(conn, _INTERNAL_ERROR if code is None else code)
        except Exception:
            logger.exception("on_disconnect of %s raised after a handler error", self.path)

    async def shutdown(
        self, conn: TypedWebSocket[In, Out], code: int = 1001, reason: str | None = None
    ) -> None:
        """Run the on_shutdown hook for ``conn`` (if any), then close it with ``code``.

        What the application's draining does for each open connection (1001, "going away",
        RFC 6455 section 7.4.1). A connection already closed is left alone.

        Args:
            conn: The connection, typed by this endpoint.
            code: The close code.
            reason: The close reason; None for none.

        Raises:
            ValueError: ``code`` may not be sent, or ``reason`` is too long (as
                :meth:`WebSocket.close`).
        """
        if conn.ws.application_state is not WebSocketState.CONNECTED:
            return
        if self._on_shutdown is not None:
            try:
                await self._on_shutdown(conn)
            except WebSocketDisconnect:
                return
        await conn.ws.close(code, reason)
