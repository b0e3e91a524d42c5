"""ASGI applications around a handler: :func:`websocket_app` and the denial :class:`Response`.

``websocket_app(handler)`` turns ``async def handler(ws: WebSocket) -> None`` into an ASGI 3
application that any server (uvicorn, hypercorn, daphne, granian) or router (Starlette, Lilya)
can mount. It owns what happens around the handler: the scope types that are not websockets,
and a handler that fails. It knows nothing about frames or events; that is the WebSocket's job.

This module is not compiled (setup.py lists why): its only code is ``async def`` around one
handler call, and compiled ``async def`` is no faster (docs/architecture.md, "mypyc facts").
Keeping it interpreted also makes ASGI 3 detection trivially right: uvicorn looks at the
application and picks ASGI 2 unless ``__call__`` is a coroutine function, which for a plain
Python class it is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Final, TypeAlias

from typedws._codecs import Codec
from typedws._errors import WebSocketDisconnect
from typedws._state import WebSocketState
from typedws._validate import header_pairs
from typedws._websocket import WebSocket
from typedws.types import Message, Receive, Scope, Send

__all__ = ["Handler", "Response", "WebSocketApp", "websocket_app"]

logger: Final = logging.getLogger("typedws")

#: What :func:`websocket_app` wraps: one coroutine per connection.
Handler: TypeAlias = Callable[[WebSocket], Awaitable[None]]

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
    application (uvicorn) detect ASGI 3 (docs/architecture.md, "mypyc facts").
    """

    __slots__ = ("__name__", "__qualname__", "codec", "handler")

    def __init__(self, handler: Handler, *, codec: Codec | None = None) -> None:
        if not callable(handler):
            raise TypeError(
                f"websocket_app() needs an async function taking a WebSocket, got "
                f"{type(handler).__name__}"
            )
        #: The wrapped handler, ``async def handler(ws: WebSocket) -> None``.
        self.handler: Handler = handler
        #: The codec given to every connection's WebSocket (None: the default one).
        self.codec: Codec | None = codec
        self.__name__: str = getattr(handler, "__name__", type(self).__name__)
        self.__qualname__: str = getattr(handler, "__qualname__", self.__name__)

    def __repr__(self) -> str:
        return f"websocket_app({self.__qualname__})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope.get("type")
        if scope_type == "websocket":
            await self._websocket(scope, receive, send)
        elif scope_type == "http":
            await _UPGRADE_REQUIRED(scope, receive, send)
        elif scope_type == "lifespan":
            await _lifespan(receive, send)
        else:
            # ASGI spec: an application should raise for a scope type it does not know.
            raise ValueError(
                f"{self!r} serves websocket connections; it cannot handle scope type {scope_type!r}"
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive, send, codec=self.codec)
        try:
            await self.handler(ws)
        except WebSocketDisconnect as exc:
            # The client left while the handler was talking to it: the normal end of many
            # handlers, not an error.
            logger.debug("%r: client disconnected (code %d)", self, exc.code)
        except Exception:
            logger.exception("%r raised on %s", self, scope.get("path", "?"))
            if RAISE_APP_EXCEPTIONS in (scope.get("extensions") or {}):
                # The test client takes over: it re-raises the error in the test, which says
                # more than a 1011 the test would have to interpret.
                raise
            await _fail(ws)


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


async def _lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown (ASGI lifespan spec) so servers do not warn."""
    while True:
        message: Message = await receive()
        event_type = message.get("type")
        if event_type == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event_type == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def websocket_app(handler: Handler, *, codec: Codec | None = None) -> WebSocketApp:
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

    Returns:
        The ASGI 3 application, a :class:`WebSocketApp` (which uvicorn detects as ASGI 3, in
        the compiled build too).

    Raises:
        TypeError: ``handler`` is not callable.
    """
    return WebSocketApp(handler, codec=codec)
