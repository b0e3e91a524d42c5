"""ASGI applications around a handler: :func:`websocket_app` and the denial :class:`Response`.

``websocket_app(handler)`` turns ``async def handler(ws: WebSocket) -> None`` into an ASGI 3
application that any server (uvicorn, hypercorn, daphne, granian) or router (Starlette, Lilya)
can mount. It owns what happens around the handler: the scope types that are not websockets,
and a handler that fails, and the production options (docs/architecture.md): the lifespan, the
origin check, the per-connection limits (typedws._limits) and draining (typedws._drain). It
knows nothing about frames or events; that is the WebSocket's job.

This module is not compiled (setup.py lists why): its only code is ``async def`` around one
handler call, and compiled ``async def`` is no faster (docs/architecture.md).
Keeping it interpreted also makes ASGI 3 detection trivially right: uvicorn looks at the
application and picks ASGI 2 unless ``__call__`` is a coroutine function, which for a plain
Python class it is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, TypeAlias, cast

from typedws._codecs import Codec
from typedws._drain import Connections, ShutdownHook, close_for_shutdown
from typedws._errors import WebSocketDisconnect, WebSocketStateError
from typedws._limits import Guard, Limits, origin_problem, peer
from typedws._state import WebSocketState
from typedws._validate import close_code_problem, close_reason_problem, header_pairs
from typedws._websocket import WebSocket
from typedws.types import Message, Receive, Scope, Send

__all__ = ["Handler", "Response", "WebSocketApp", "websocket_app"]

logger: Final = logging.getLogger("typedws")

#: What :func:`websocket_app` wraps: one coroutine per connection.
Handler: TypeAlias = Callable[[WebSocket], Awaitable[None]]

#: What ``lifespan=`` takes: called with the application, it gives the async context manager
#: entered at startup and left at shutdown (Starlette's shape). What it yields, if a mapping,
#: is copied into the lifespan scope's ``state`` (which servers copy into each connection's).
Lifespan: TypeAlias = Callable[["WebSocketApp"], AbstractAsyncContextManager[Any]]

#: How long the lifespan shutdown lets handlers finish after the drain's close (seconds).
DRAIN_TIMEOUT: Final = 10.0

HeadersLike: TypeAlias = (
    Mapping[str, str]
    | Mapping[bytes, bytes]
    | Iterable[tuple[str, str]]
    | Iterable[tuple[bytes, bytes]]
)

#: Scope extension that asks the application to re-raise a handler's exception after handling
#: it. The in-memory client of :mod:`typedws.testing` sets it, so a failing handler fails the
#: test; real servers do not, so the error is logged once (by typedws), not twice.
RAISE_APP_EXCEPTIONS: Final = "typedws.raise_app_exceptions"

# RFC 6455 section 7.4.1: 1011 "the server is terminating the connection because it encountered
# an unexpected condition that prevented it from fulfilling the request".
_INTERNAL_ERROR: Final = 1011


class Response:
    """A small ASGI response, meant for denial responses (``ws.send_denial_response``).

    A ``content-length`` header is always sent. The same object also answers a plain HTTP
    request, so it can be reused outside websockets.

    Args:
        body: The body: bytes, or str (encoded as UTF-8).
        status_code: The HTTP status, 100-599 (default 403 Forbidden).
        headers: Extra headers: a mapping, or ``(name, value)`` pairs of str or bytes.
        media_type: The ``content-type`` header (``charset=utf-8`` is added for ``text/*``).

    Raises:
        ValueError: The status is outside 100-599, or a header is bad (CR, LF or NUL in a
            value, a name that is not an HTTP token).
        TypeError: ``body`` is neither bytes nor str.
    """

    __slots__ = ("body", "headers", "status_code")

    def __init__(
        self,
        body: bytes | str = b"",
        status_code: int = 403,
        headers: HeadersLike | None = None,
        media_type: str | None = None,
    ) -> None:
        if isinstance(body, str):
            encoded = body.encode("utf-8")
        elif isinstance(body, (bytes, bytearray, memoryview)):
            encoded = bytes(body)
        else:
            raise TypeError(f"Response body must be bytes or str, got {type(body).__name__}")
        if type(status_code) is not int or not 100 <= status_code <= 599:
            raise ValueError(f"Response status_code must be an int in 100-599, got {status_code!r}")
        pairs = header_pairs(headers)
        names = {name for name, _ in pairs}
        if media_type is not None and b"content-type" not in names:
            if media_type.startswith("text/") and "charset" not in media_type:
                media_type += "; charset=utf-8"
            pairs.extend(header_pairs([("content-type", media_type)]))
        if b"content-length" not in names:
            pairs.append((b"content-length", str(len(encoded)).encode("latin-1")))
        #: The body, encoded.
        self.body: bytes = encoded
        #: The HTTP status.
        self.status_code: int = status_code
        #: The headers as sent, ``content-type`` and ``content-length`` included.
        self.headers: list[tuple[bytes, bytes]] = pairs

    def __repr__(self) -> str:
        return f"Response(status_code={self.status_code}, body={self.body!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ASGI spec, "Websocket - Denial Response": the same two events as an HTTP response,
        # prefixed with "websocket.". An HTTP scope gets the plain events.
        prefix = "websocket." if scope.get("type") == "websocket" else ""
        await send(
            {
                "type": prefix + "http.response.start",
                "status": self.status_code,
                "headers": list(self.headers),
            }
        )
        await send({"type": prefix + "http.response.body", "body": self.body, "more_body": False})


_UPGRADE_REQUIRED: Final = Response(
    b"This endpoint speaks WebSocket only: connect with a WebSocket client.\n",
    status_code=426,
    # RFC 9110 section 15.5.22: a 426 response MUST carry an Upgrade header.
    headers=[("upgrade", "websocket"), ("connection", "Upgrade")],
    media_type="text/plain",
)


class WebSocketApp:
    """The ASGI 3 application :func:`websocket_app` returns; ``handler`` is the wrapped coroutine.

    An instance of a class with ``async def __call__`` so that servers that inspect the
    application (uvicorn) detect ASGI 3 (docs/architecture.md).

    Besides the options of :func:`websocket_app` (``limits``, ``lifespan``), it counts its open
    connections (:attr:`connections`) and drains them (:meth:`drain`). ``on_shutdown`` is what
    a drain runs for each open connection, ``on_shutdown(ws, code, reason)``, before closing it
    (:meth:`typedws.Endpoint.app` passes the endpoint's ``on_shutdown`` hook); by default the
    connection is just closed.

    Args:
        handler: ``async def handler(ws: WebSocket) -> None``, run once per connection.
        codec: As in :func:`websocket_app`.
        lifespan: As in :func:`websocket_app`.
        allowed_origins: As in :func:`websocket_app`.
        max_message_size: As in :func:`websocket_app`.
        idle_timeout: As in :func:`websocket_app`.
        rate_limit: As in :func:`websocket_app`.
        on_shutdown: ``async def on_shutdown(ws, code, reason) -> None``, run by a drain for
            each open connection; it must close ``ws``. None: close with the drain's code.

    Raises:
        TypeError: ``handler`` or ``lifespan`` is not callable, or an option has the wrong type.
        ValueError: An option has an impossible value.
    """

    __slots__ = (
        "__name__",
        "__qualname__",
        "_connections",
        "_on_shutdown",
        "codec",
        "handler",
        "lifespan",
        "limits",
    )

    def __init__(
        self,
        handler: Handler,
        *,
        codec: Codec | None = None,
        lifespan: Lifespan | None = None,
        allowed_origins: Iterable[str] | None = None,
        max_message_size: int | None = None,
        idle_timeout: float | None = None,
        rate_limit: tuple[int, float] | None = None,
        on_shutdown: ShutdownHook | None = None,
    ) -> None:
        if not callable(handler):
            raise TypeError(
                f"websocket_app() needs an async function taking a WebSocket, got "
                f"{type(handler).__name__}"
            )
        if lifespan is not None and not callable(lifespan):
            raise TypeError(
                "lifespan must be a function taking the app and returning an async context "
                f"manager (e.g. an @asynccontextmanager), got {type(lifespan).__name__}"
            )
        #: The options of docs/architecture.md, checked (origins, size, idle time, rate).
        self.limits: Limits = Limits(
            allowed_origins=allowed_origins,
            max_message_size=max_message_size,
            idle_timeout=idle_timeout,
            rate_limit=rate_limit,
        )
        #: The ``lifespan=`` context manager factory, or None.
        self.lifespan: Lifespan | None = lifespan
        self._on_shutdown: ShutdownHook = on_shutdown or close_for_shutdown
        self._connections = Connections()
        #: The wrapped handler, ``async def handler(ws: WebSocket) -> None``.
        self.handler: Handler = handler
        #: The codec given to every connection's WebSocket (None: the default one).
        self.codec: Codec | None = codec
        self.__name__: str = getattr(handler, "__name__", type(self).__name__)
        self.__qualname__: str = getattr(handler, "__qualname__", self.__name__)

    def __repr__(self) -> str:
        return f"websocket_app({self.__qualname__})"

    @property
    def connections(self) -> int:
        """How many connections are open (handlers running) right now."""
        return len(self._connections)

    async def drain(
        self, code: int = 1001, reason: str | None = None, timeout: float = DRAIN_TIMEOUT
    ) -> None:
        """Close every open connection and wait for the handlers; refuse new handshakes.

        Each open connection gets its shutdown hook (an Endpoint's ``on_shutdown``, which may
        send a typed goodbye), then is closed with ``code`` and ``reason``. Handlers then have
        ``timeout`` seconds to return; those still running are cancelled (a connection still
        in its handshake, an ``on_connect`` hook running, is not closed: it is among those
        cancelled if it has not ended by then). The lifespan shutdown runs it too (with the
        defaults); a second drain finds nothing left to close.

        Args:
            code: The close code of each connection; 1001 is "going away".
            reason: The close reason; None for none.
            timeout: Seconds the handlers have to return before they are cancelled.

        Raises:
            ValueError: RFC 6455 does not allow ``code`` to be sent, or ``reason`` is longer
                than 123 UTF-8 bytes, or ``timeout`` is negative (nothing is closed then).
        """
        problem = close_code_problem(code) or close_reason_problem(reason)
        if problem:
            raise ValueError(f"drain(): {problem}")
        given: object = timeout  # callers from plain Python may pass anything
        if isinstance(given, bool) or not isinstance(given, (int, float)) or given < 0:
            raise ValueError(f"drain(): timeout must be a number of seconds >= 0, got {timeout!r}")
        await self._connections.drain(self._on_shutdown, code, reason, float(timeout))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope.get("type")
        if scope_type == "websocket":
            await self._websocket(scope, receive, send)
        elif scope_type == "http":
            await _UPGRADE_REQUIRED(scope, receive, send)
        elif scope_type == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            # ASGI spec: an application should raise for a scope type it does not know.
            raise ValueError(
                f"{self!r} serves websocket connections; it cannot handle scope type {scope_type!r}"
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self.limits
        kind, refusal = "", None
        if self._connections.draining:
            kind, refusal = "draining", "the application is draining"
        elif limits.origins is not None:
            kind, refusal = "allowed_origins", origin_problem(scope, limits.origins)
        if refusal is not None:
            limits.log.refused(
                kind,
                "refusing %s from %s (HTTP 403): %s",
                scope.get("path", "?"),
                peer(scope),
                refusal,
            )
            # ASGI spec: a close before accept rejects the handshake; the server answers 403.
            await WebSocket(scope, receive, send).close()
            return
        guard: Guard | None = None
        if limits.guarded:
            # Only then: without per-message limits the WebSocket gets the server's callables.
            guard = Guard(limits, scope, receive, send)
            receive, send = guard.receive, guard.send
        ws = WebSocket(scope, receive, send, codec=self.codec)
        try:
            await self._connections.run(ws, self.handler)
        except WebSocketDisconnect as exc:
            # The client left while the handler was talking to it: the normal end of many
            # handlers, not an error.
            logger.debug("%r: client disconnected (code %d)", self, exc.code)
        except WebSocketStateError:
            if not self._connections.draining:
                raise
            # A handler sending after the drain closed its connection: the drain's doing.
            logger.debug("%r: send after the drain's close", self, exc_info=True)
        except Exception:
            logger.exception("%r raised on %s", self, scope.get("path", "?"))
            if RAISE_APP_EXCEPTIONS in (scope.get("extensions") or {}):
                # The test client takes over: it re-raises the error in the test, which says
                # more than a 1011 the test would have to interpret.
                raise
            await _fail(ws)
        finally:
            if guard is not None:
                guard.cancel_timer()

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI lifespan: enter ``lifespan`` at startup; at shutdown drain, then leave it."""
        manager: AbstractAsyncContextManager[Any] | None = None
        while True:
            message: Message = await receive()
            event_type = message.get("type")
            if event_type == "lifespan.startup":
                # A server (or a test) may run the lifespan again after a shutdown: serve again.
                self._connections.draining = False
                if self.lifespan is not None:
                    try:
                        manager = self.lifespan(self)
                        value = await manager.__aenter__()
                    except Exception as exc:
                        logger.exception("%r: the lifespan failed at startup", self)
                        await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                        return
                    state: object = scope.get("state")
                    if isinstance(value, Mapping) and isinstance(state, dict):
                        cast("dict[object, object]", state).update(
                            cast("Mapping[object, object]", value)
                        )
                await send({"type": "lifespan.startup.complete"})
            elif event_type == "lifespan.shutdown":
                await self.drain()
                # The server accepts no more connections now; an app object reused after this
                # (another server, another test) serves again. (A drain() of its own, before a
                # server's shutdown, keeps refusing until the next lifespan startup.)
                self._connections.draining = False
                if manager is not None:
                    try:
                        await manager.__aexit__(None, None, None)
                    except Exception as exc:
                        logger.exception("%r: the lifespan failed at shutdown", self)
                        await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                        return
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _fail(ws: WebSocket) -> None:
    """End a connection whose handler raised: 1011 after accept, a rejection (403) before.

    A denial response that was cut short cannot be repaired; the server ends it.
    """
    try:
        state = ws.application_state
        if state is WebSocketState.CONNECTED:
            await ws.close(_INTERNAL_ERROR)
        elif state is WebSocketState.CONNECTING:
            # ASGI spec: a close before accept rejects the handshake; the server answers 403.
            await ws.close()
    except Exception:
        # The connection is beyond saving (peer gone, server closed it); the handler's error
        # is already logged, which is what matters.
        logger.debug("could not close the connection after a handler error", exc_info=True)


def websocket_app(
    handler: Handler,
    *,
    codec: Codec | None = None,
    lifespan: Lifespan | None = None,
    allowed_origins: Iterable[str] | None = None,
    max_message_size: int | None = None,
    idle_timeout: float | None = None,
    rate_limit: tuple[int, float] | None = None,
) -> WebSocketApp:
    """Turn ``async def handler(ws: WebSocket) -> None`` into an ASGI 3 application.

    Usable as a decorator. For each websocket connection the handler gets a fresh
    :class:`WebSocket`; it calls ``accept()`` (or ``close()`` / ``send_denial_response()`` to
    refuse). An HTTP request gets ``426 Upgrade Required``; lifespan events are acknowledged.

    A handler that raises is logged (with its traceback, logger ``"typedws"``), and the
    connection is closed with 1011 if it was accepted, or the handshake rejected (HTTP 403) if
    not. A :class:`WebSocketDisconnect` escaping the handler is the client leaving, not an error.

    Args:
        handler: ``async def handler(ws: WebSocket) -> None``, run once per connection.
        codec: msgspec hooks (see :class:`Codec`) given to every connection's WebSocket.
        lifespan: ``lifespan(app)`` gives an async context manager entered at the server's
            lifespan startup and left at its shutdown, after :meth:`WebSocketApp.drain` (connect
            and close a ``Broadcast`` there). A mapping it yields goes into the scope's state.
        allowed_origins: The origins (``"https://example.com"``) whose pages may connect: a
            handshake with another ``Origin`` header is refused (HTTP 403) before the handler
            runs. No ``Origin`` header (a non-browser client) is allowed. None: no check.
        max_message_size: Bytes; a bigger message closes the connection with 1009 and the
            pending receive raises ``WebSocketDisconnect(1009)``; nothing is decoded.
        idle_timeout: Seconds; no message for that long while the handler waits for one closes
            the connection with 1001 (the receive raises ``WebSocketDisconnect(1001)``).
        rate_limit: ``(N, S)``: more than N messages in any S seconds closes with 1008.

    Each refusal and close is logged on the ``typedws`` logger with the path and the client.

    Returns:
        The ASGI 3 application, a :class:`WebSocketApp` (which uvicorn detects as ASGI 3, in
        the compiled build too).

    Raises:
        TypeError: ``handler`` or ``lifespan`` is not callable, or an option has the wrong type.
        ValueError: an option has an impossible value (a size or time that is not positive, an
            origin that is not ``scheme://host[:port]``); the message names it.
    """
    return WebSocketApp(
        handler,
        codec=codec,
        lifespan=lifespan,
        allowed_origins=allowed_origins,
        max_message_size=max_message_size,
        idle_timeout=idle_timeout,
        rate_limit=rate_limit,
    )
