"""An in-memory client for testing ASGI websocket applications, typedws or not.

``async with connect(app, "/chat") as session:`` runs ``app`` in a task next to the test, plays
the part of a strict ASGI server (spec 2.4, with the denial-response extension) between them,
and hands the test a typed client :class:`Session`. No network, no server, no threads.

It never hangs: every wait (for the handshake, for a message, for the application to return
after the client left) is bounded by ``timeout`` seconds and fails with a TimeoutError that
says what was awaited. An exception raised by the application is re-raised in the test.

Why anyio: the application has to run concurrently with the test, and every wait needs a
deadline; spawning, cancelling and timing out tasks are exactly the parts that differ between
asyncio and trio. anyio is the portable layer for them (the pytest plugin the tests already use
comes from it). It is needed only here, so it is an optional dependency:
``pip install "typedws[testing]"``; the library itself does not import it.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, cast, overload

from multidict import CIMultiDict, CIMultiDictProxy

from typedws import _codecs
from typedws._endpoint import Endpoint
from typedws._errors import PayloadError, ProtocolError, WebSocketDisconnect, WebSocketStateError
from typedws._validate import app_event, close_code_problem, close_reason_problem, header_pairs
from typedws._websocket import Mode
from typedws.app import RAISE_APP_EXCEPTIONS
from typedws.types import ASGIApp, Message, Scope

try:
    import anyio
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        'typedws.testing needs anyio: install it with  pip install "typedws[testing]"'
    ) from exc

if TYPE_CHECKING:
    # PEP 747, for ``receive_json(type=...)`` as on WebSocket (type checkers only).
    from typing_extensions import TypeForm

__all__ = [
    "DEFAULT_TIMEOUT",
    "ClientDisconnected",
    "Closed",
    "Rejected",
    "Session",
    "TypedSession",
    "connect",
]

T = TypeVar("T")
In = TypeVar("In")
Out = TypeVar("Out")

#: Seconds any single wait may take before the test fails with TimeoutError.
DEFAULT_TIMEOUT: Final = 5.0

_HOST: Final = "testserver"


class Rejected(Exception):
    """The application refused the handshake.

    By closing before accepting (``status`` 403, no headers, empty body, as an ASGI server
    answers), or with a denial response (its ``status``, ``headers`` and ``body``).
    ``headers`` is a case-insensitive multidict; ``raw_headers`` the pairs as sent.
    """

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(status, body)
        #: The HTTP status (403 for a close before accept).
        self.status = status
        #: The response headers as the application sent them.
        self.raw_headers = raw_headers
        #: The response headers, case-insensitive (a multidict, latin-1 decoded).
        self.headers: CIMultiDictProxy[str] = _header_view(raw_headers)
        #: The response body.
        self.body = body

    @property
    def status_code(self) -> int:
        """Same as ``status`` (the name Starlette and typedws.Response use)."""
        return self.status

    def __str__(self) -> str:
        detail = f": {self.body[:200]!r}" if self.body else ""
        return f"the application rejected the handshake with HTTP {self.status}{detail}"


class Closed(WebSocketDisconnect):
    """The application closed the connection (or returned, which closes it with 1000).

    A :class:`typedws.WebSocketDisconnect`, so ``code`` and ``reason`` are there.
    """

    def __str__(self) -> str:
        if self.reason:
            return f"the application closed the connection with code {self.code}: {self.reason!r}"
        return f"the application closed the connection with code {self.code}"


class ClientDisconnected(OSError):
    """Raised into the application when it sends after the client left (ASGI spec 2.4:
    ``send`` on a closed connection raises an ``OSError`` subclass)."""


class _AppEnded:
    """Queued for the client when the application's coroutine is over."""

    __slots__ = ("error",)

    def __init__(self, error: Exception | None) -> None:
        self.error = error


def _header_view(pairs: Iterable[tuple[bytes, bytes]]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(
        CIMultiDict((name.decode("latin-1"), value.decode("latin-1")) for name, value in pairs)
    )


# The server's view of the application side, as a strict ASGI server tracks it.
_HANDSHAKE: Final = 0
_OPEN: Final = 1
_RESPONDING: Final = 2
_CLOSED: Final = 3


class _Server:
    """The server half: the ``receive``/``send`` callables the application gets, and the
    queues between them and the client half."""

    def __init__(self, app: ASGIApp, scope: Scope, timeout: float) -> None:
        self.app = app
        self.scope = scope
        self.timeout = timeout
        self.to_app: MemoryObjectSendStream[Message]
        self.app_inbox: MemoryObjectReceiveStream[Message]
        self.to_app, self.app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self.from_app: MemoryObjectSendStream[Message | _AppEnded]
        self.client_inbox: MemoryObjectReceiveStream[Message | _AppEnded]
        self.from_app, self.client_inbox = anyio.create_memory_object_stream[Message | _AppEnded](
            math.inf
        )
        self.app_state = _HANDSHAKE
        self.client_gone = False
        self.ended: _AppEnded | None = None

    async def run_app(self) -> None:
        error: Exception | None = None
        try:
            await self.app(self.scope, self.receive, self.send)
        except Exception as exc:
            error = exc
        self.from_app.send_nowait(_AppEnded(error))

    async def receive(self) -> Message:
        return await self.app_inbox.receive()

    async def send(self, message: Message) -> None:
        """Check one event from the application the way a strict server would, then queue it."""
        if self.client_gone and self.app_state == _OPEN and message.get("type") == "websocket.send":
            raise ClientDisconnected(f"cannot send {message.get('type')!r}: the client is gone")
        event_type, wire = app_event(message)
        state = self.app_state
        if state == _HANDSHAKE and event_type == "websocket.accept":
            self.app_state = _OPEN
        elif state == _HANDSHAKE and event_type == "websocket.http.response.start":
            if "websocket.http.response" not in self.scope["extensions"]:
                raise ProtocolError(
                    "websocket.http.response.start: this test server was started without the "
                    "websocket.http.response extension (connect(..., denial_response=False))"
                )
            self.app_state = _RESPONDING
        elif state == _RESPONDING and event_type == "websocket.http.response.body":
            if wire["more_body"] is False:
                self.app_state = _CLOSED
                self.to_app.send_nowait({"type": "websocket.disconnect", "code": 1006})
        elif state in (_HANDSHAKE, _OPEN) and event_type == "websocket.close":
            self.app_state = _CLOSED
            # After a close the application's receive reports the end (ASGI spec); before
            # accept the handshake failed, which servers report as 1006.
            code = wire["code"] if state == _OPEN else 1006
            self.to_app.send_nowait(
                {"type": "websocket.disconnect", "code": code, "reason": wire["reason"] or ""}
            )
        elif state == _OPEN and event_type == "websocket.send":
            pass
        else:
            names = {
                _HANDSHAKE: "before the handshake completed",
                _OPEN: "on an open connection",
                _RESPONDING: "during a denial response",
                _CLOSED: "after the connection was closed",
            }
            raise ProtocolError(f"the application sent {event_type!r} {names[state]}")
        self.from_app.send_nowait(wire)

    def close_streams(self) -> None:
        for stream in (self.to_app, self.app_inbox, self.from_app, self.client_inbox):
            stream.close()

    async def next_event(self, waiting_for: str) -> Message | _AppEnded:
        """The next thing the application did, within the timeout."""
        if self.ended is not None:
            return self.ended
        try:
            with anyio.fail_after(self.timeout):
                item = await self.client_inbox.receive()
        except TimeoutError:
            raise TimeoutError(
                f"{waiting_for}: the application sent nothing within {self.timeout} s "
                "(raise the limit with connect(..., timeout=...))"
            ) from None
        if isinstance(item, _AppEnded):
            self.ended = item
            if item.error is not None:
                raise item.error
        return item


class Session:
    """The client side of one in-memory connection, as yielded by :func:`connect`.

    Receiving methods raise :class:`Closed` when the application closes the connection,
    re-raise the application's exception if it failed, and TimeoutError if nothing comes
    within the timeout. ``subprotocol`` and ``accept_headers`` are what the application
    accepted with.
    """

    def __init__(self, server: _Server, subprotocol: str | None, headers: object) -> None:
        self._server = server
        #: The subprotocol the application accepted, or None.
        self.subprotocol: str | None = subprotocol
        # (The accept event was validated: its headers are a list of byte pairs.)
        raw = cast("list[tuple[bytes, bytes]]", headers) if isinstance(headers, list) else []
        #: The headers the application accepted with, as it sent them.
        self.raw_accept_headers: list[tuple[bytes, bytes]] = raw
        #: The headers the application accepted with, case-insensitive (a multidict).
        self.accept_headers: CIMultiDictProxy[str] = _header_view(raw)
        #: Code and reason of the close, once the connection is closed (by either side).
        self.close_code: int | None = None
        #: The close reason that went with :attr:`close_code`.
        self.close_reason: str | None = None
        self._client_closed = False

    def __repr__(self) -> str:
        return f"<typedws.testing.Session path={self._server.scope['path']!r}>"

    # --- sending -----------------------------------------------------------------------------

    def _check_open(self, method: str) -> None:
        if self._client_closed:
            raise WebSocketStateError(f"{method}(): the client already closed this session")
        ended = self._server.ended
        if ended is not None and ended.error is not None:
            raise ended.error
        if self.close_code is not None:
            raise Closed(self.close_code, self.close_reason or "")

    def _deliver(self, event: Message) -> None:
        self._server.to_app.send_nowait(event)

    async def send_text(self, data: str) -> None:
        """Send a text frame to the application.

        Args:
            data: The text.

        Raises:
            TypeError: ``data`` is not a str.
            WebSocketStateError: The session is closed.
        """
        if not isinstance(data, str):
            raise TypeError(f"send_text() takes str, got {type(data).__name__}")
        self._check_open("send_text")
        self._deliver({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary frame to the application.

        Args:
            data: The bytes.

        Raises:
            TypeError: ``data`` is not bytes-like.
            WebSocketStateError: The session is closed.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"send_bytes() takes bytes, bytearray or memoryview, got {type(data).__name__}"
            )
        self._check_open("send_bytes")
        self._deliver({"type": "websocket.receive", "bytes": bytes(data)})

    async def send_json(self, data: Any, mode: Mode = "text") -> None:
        """Send ``data`` as JSON (msgspec-encoded) in a text or binary frame.

        Args:
            data: Anything msgspec encodes.
            mode: ``"text"`` (a text frame) or ``"binary"`` (UTF-8 JSON in a binary frame).

        Raises:
            TypeError: msgspec cannot encode ``data``.
            ValueError: ``mode`` is neither value.
            WebSocketStateError: The session is closed.
        """
        if mode not in ("text", "binary"):
            raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}")
        self._check_open("send_json")
        encoded = _codecs.DEFAULT_CODEC.encode_json(data)
        if mode == "text":
            self._deliver({"type": "websocket.receive", "text": encoded.decode("utf-8")})
        else:
            self._deliver({"type": "websocket.receive", "bytes": encoded})

    async def send_msgpack(self, data: Any) -> None:
        """Send ``data`` as MessagePack in a binary frame.

        Args:
            data: Anything msgspec encodes.

        Raises:
            TypeError: msgspec cannot encode ``data``.
            WebSocketStateError: The session is closed.
        """
        self._check_open("send_msgpack")
        self._deliver(
            {"type": "websocket.receive", "bytes": _codecs.DEFAULT_CODEC.encode_msgpack(data)}
        )

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client side: the application receives ``websocket.disconnect``.

        Closing twice, or after the application closed, does nothing.

        Args:
            code: The close code (RFC 6455 section 7.4).
            reason: The close reason, at most 123 UTF-8 bytes.

        Raises:
            ValueError: RFC 6455 does not allow the code or the reason.
        """
        problem = close_code_problem(code) or close_reason_problem(reason)
        if problem:
            raise ValueError(problem)
        if self._client_closed or self.close_code is not None:
            return
        self._client_closed = True
        self.close_code = code
        self.close_reason = reason
        self._server.client_gone = True
        self._deliver({"type": "websocket.disconnect", "code": code, "reason": reason})

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self) -> Message:
        """The next ``websocket.send`` event from the application, as a dict.

        Returns:
            The event (``{"type": "websocket.send", "text": ...}`` or ``"bytes"``).

        Raises:
            Closed: The application closed the connection (or returned).
            WebSocketStateError: This client already closed the session.
            TimeoutError: Nothing came within the timeout.
            Exception: The application's own exception, if it raised.
        """
        if self._client_closed:
            raise WebSocketStateError("receive(): the client already closed this session")
        if self.close_code is not None:
            raise Closed(self.close_code, self.close_reason or "")
        event = await self._server.next_event("waiting for a message")
        if isinstance(event, _AppEnded):
            self.close_code, self.close_reason = 1000, ""
            raise Closed(1000, "")
        if event["type"] == "websocket.close":
            reason: str = event["reason"] or ""
            self.close_code, self.close_reason = event["code"], reason
            raise Closed(event["code"], reason)
        return event

    async def receive_text(self) -> str:
        """The next message, which must be a text frame.

        Returns:
            The text.

        Raises:
            PayloadError: The message is a binary frame.
            Closed: The application closed the connection (or returned).
            WebSocketStateError: This client already closed the session.
            TimeoutError: Nothing came within the timeout.
        """
        return _text_of(await self.receive())

    async def receive_bytes(self) -> bytes:
        """The next message, which must be a binary frame.

        Returns:
            The bytes.

        Raises:
            PayloadError: The message is a text frame.
            Closed: The application closed the connection (or returned).
            WebSocketStateError: This client already closed the session.
            TimeoutError: Nothing came within the timeout.
        """
        return _bytes_of(await self.receive())

    # ``type=`` is typed as on WebSocket: no type gives Any, a class or any other type form
    # (PEP 747 ``TypeForm``: ``A | B``, ``list[int]``...) gives exactly that type.
    @overload
    async def receive_json(self, mode: Mode = "text", *, type: None = None) -> Any: ...
    @overload
    async def receive_json(self, mode: Mode = "text", *, type: type[T]) -> T: ...
    @overload
    async def receive_json(self, mode: Mode = "text", *, type: TypeForm[T]) -> T: ...
    async def receive_json(self, mode: Mode = "text", *, type: Any = None) -> Any:
        """The next message as JSON, decoded into ``type`` if given.

        Args:
            mode: ``"text"`` (a text frame) or ``"binary"`` (UTF-8 JSON in a binary frame).
            type: Any type msgspec decodes into; None gives plain JSON values.

        Returns:
            The decoded message, of type ``type``.

        Raises:
            PayloadError: The frame is of the other kind, is not JSON, or does not match
                ``type``.
            TypeError: msgspec cannot decode into ``type``.
            ValueError: ``mode`` is neither value.
            Closed: The application closed the connection (or returned).
            WebSocketStateError: This client already closed the session.
            TimeoutError: Nothing came within the timeout.
        """
        if mode not in ("text", "binary"):
            raise ValueError(f"mode must be 'text' or 'binary', got {mode!r}")
        decoder = _codecs.DEFAULT_CODEC.json_decoder(type)
        event = await self.receive()
        frame = _text_of(event) if mode == "text" else _bytes_of(event)
        return _codecs.decode_json(decoder, frame)

    @overload
    async def receive_msgpack(self, *, type: None = None) -> Any: ...
    @overload
    async def receive_msgpack(self, *, type: type[T]) -> T: ...
    @overload
    async def receive_msgpack(self, *, type: TypeForm[T]) -> T: ...
    async def receive_msgpack(self, *, type: Any = None) -> Any:
        """The next message as MessagePack (a binary frame), decoded into ``type`` if given.

        Args:
            type: Any type msgspec decodes into; None gives plain values.

        Returns:
            The decoded message, of type ``type``.

        Raises:
            PayloadError: The frame is a text frame, is not MessagePack, or does not match
                ``type``.
            TypeError: msgspec cannot decode into ``type``.
            Closed: The application closed the connection (or returned).
            WebSocketStateError: This client already closed the session.
            TimeoutError: Nothing came within the timeout.
        """
        decoder = _codecs.DEFAULT_CODEC.msgpack_decoder(type)
        return _codecs.decode_msgpack(decoder, _bytes_of(await self.receive()))


def _text_of(event: Message) -> str:
    text = event.get("text")
    if isinstance(text, str):
        return text
    problem = "expected a text frame, got a binary frame"
    raise PayloadError(problem, event.get("bytes"), kind="frame")


def _bytes_of(event: Message) -> bytes:
    data = event.get("bytes")
    if isinstance(data, bytes):
        return data
    problem = "expected a binary frame, got a text frame"
    raise PayloadError(problem, event.get("text"), kind="frame")


def _build_scope(
    target: object,
    headers: object,
    subprotocols: Iterable[str] | None,
    query_string: bytes | str,
    denial_response: bool,
) -> Scope:
    # ``target`` is typed object: callers from plain Python may pass anything.
    if not isinstance(target, str) or not target.startswith("/"):
        raise ValueError(f"path must be a str starting with '/', got {target!r}")
    path, question, query = target.partition("?")
    if isinstance(query_string, str):
        query_string = query_string.encode("latin-1")
    if question:
        if query_string:
            raise ValueError(
                "give the query either in path ('/x?a=1') or as query_string, not both"
            )
        query_string = query.encode("latin-1")
    offered: list[object] = (
        [subprotocols] if isinstance(subprotocols, str) else list(subprotocols or ())
    )
    for name in offered:
        if not isinstance(name, str) or not name or "," in name:
            raise ValueError(f"each subprotocol must be a non-empty str without commas: {name!r}")
    extra = header_pairs(headers)
    given = {name for name, _ in extra}
    wire_headers = [
        (name, value)
        for name, value in (
            (b"host", _HOST.encode()),
            (b"connection", b"Upgrade"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-version", b"13"),
            (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),  # RFC 6455 section 1.3
        )
        if name not in given
    ]
    wire_headers.extend(extra)
    if offered:
        joined = ", ".join(str(name) for name in offered)
        wire_headers.append((b"sec-websocket-protocol", joined.encode("latin-1")))
    extensions: dict[str, object] = {RAISE_APP_EXCEPTIONS: {}}
    if denial_response:
        extensions["websocket.http.response"] = {}
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": (_HOST, 80),
        "client": ("testclient", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query_string,
        "headers": wire_headers,
        "subprotocols": offered,
        "extensions": extensions,
        "state": {},
    }


async def _handshake(server: _Server) -> Session:
    event = await server.next_event("waiting for the application to accept or reject")
    if isinstance(event, _AppEnded):
        # ASGI spec: an application that returns without accepting rejects the handshake.
        raise Rejected(403, [], b"")
    if event["type"] == "websocket.accept":
        return Session(server, event["subprotocol"], event["headers"])
    if event["type"] == "websocket.close":
        raise Rejected(403, [], b"")
    # websocket.http.response.start, then body events until more_body is False.
    status: int = event["status"]
    headers: list[tuple[bytes, bytes]] = event["headers"]
    body = bytearray()
    while True:
        part = await server.next_event("waiting for the denial response body")
        if isinstance(part, _AppEnded):
            raise ProtocolError("the application returned in the middle of its denial response")
        body += part["body"]
        if not part["more_body"]:
            raise Rejected(status, headers, bytes(body))


async def _finish(server: _Server, session: Session) -> None:
    """The client leaves: tell the application, then wait for it to return."""
    if session.close_code is None:
        await session.close(1000)
    else:
        server.client_gone = True
    while server.ended is None:
        try:
            await server.next_event("waiting for the application to return after the client left")
        except TimeoutError:
            raise TimeoutError(
                f"the application did not return within {server.timeout} s after the client "
                "disconnected; a handler should end once receive() reports websocket.disconnect"
            ) from None


@overload
def connect(
    app: ASGIApp,
    path: str = "/",
    *,
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None = None,
    subprotocols: Iterable[str] | None = None,
    query_string: bytes | str = b"",
    timeout: float = DEFAULT_TIMEOUT,
    denial_response: bool = True,
    endpoint: None = None,
) -> AbstractAsyncContextManager[Session]: ...
@overload
def connect(
    app: ASGIApp,
    path: str = "/",
    *,
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None = None,
    subprotocols: Iterable[str] | None = None,
    query_string: bytes | str = b"",
    timeout: float = DEFAULT_TIMEOUT,
    denial_response: bool = True,
    endpoint: Endpoint[In, Out],
) -> AbstractAsyncContextManager[TypedSession[Out, In]]: ...
def connect(
    app: ASGIApp,
    path: str = "/",
    *,
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None = None,
    subprotocols: Iterable[str] | None = None,
    query_string: bytes | str = b"",
    timeout: float = DEFAULT_TIMEOUT,
    denial_response: bool = True,
    endpoint: Endpoint[Any, Any] | None = None,
) -> AbstractAsyncContextManager[Session] | AbstractAsyncContextManager[TypedSession[Any, Any]]:
    """Run ``app`` in memory and connect to it; yields a :class:`Session`.

    ``path`` may carry the query (``"/chat?room=1"``) or give it as ``query_string``.
    ``headers`` are request headers; ``subprotocols`` are offered in order. The server speaks
    ASGI websocket spec 2.4 and offers the ``websocket.http.response`` extension unless
    ``denial_response=False``. On leaving the block the client disconnects with 1000 (unless
    a side closed already) and waits for the application to return.

    Args:
        app: Any ASGI 3 application.
        path: The request path, with or without a query (``"/chat?room=1"``).
        headers: Request headers: a mapping, or ``(name, value)`` pairs of str or bytes.
        subprotocols: The subprotocols the client offers, in order.
        query_string: The query, if ``path`` has none.
        timeout: Seconds any single wait may take.
        denial_response: Whether the server offers the ``websocket.http.response`` extension.
        endpoint: A :class:`typedws.Endpoint`: the block then gets a :class:`TypedSession`,
            which sends the endpoint's ``receives`` and receives its ``sends``.

    Returns:
        An async context manager that yields the client side: a :class:`Session`, or a
        :class:`TypedSession` with ``endpoint=``.

    Raises:
        Rejected: The application closed before accepting, or sent a denial response.
        TimeoutError: A wait exceeded ``timeout`` seconds (the message says what was awaited).
        TypeError: ``app`` is not callable.
        Exception: The application's own exception, if it raised (at the handshake, at the
            next receive, or on leaving the block).
    """
    session = _connect(
        app,
        path,
        headers=headers,
        subprotocols=subprotocols,
        query_string=query_string,
        timeout=timeout,
        denial_response=denial_response,
    )
    if endpoint is None:
        return session
    return _typed(session, endpoint)


@asynccontextmanager
async def _typed(
    session: AbstractAsyncContextManager[Session], endpoint: Endpoint[In, Out]
) -> AsyncGenerator[TypedSession[Out, In], None]:
    async with session as untyped:
        yield TypedSession(untyped, endpoint)


class TypedSession(Generic[In, Out]):
    """The client side of an :class:`typedws.Endpoint`, in memory: receives ``In`` (the
    endpoint's ``sends``) and sends ``Out`` (its ``receives``).

    As :class:`typedws.client.Client` over the network: ``await c.receive()``, ``async for msg
    in c``, ``await c.send(msg)``, ``await c.close(code)``; ``session`` is the untyped
    :class:`Session` underneath (for sending invalid frames in tests).
    """

    def __init__(self, session: Session, endpoint: Endpoint[Any, Any]) -> None:
        #: The untyped :class:`Session` underneath (to send invalid frames in tests).
        self.session = session
        #: The endpoint whose client this is.
        self.endpoint = endpoint
        self._json = endpoint.format == "json"
        self._text = endpoint.mode == "text"

    def __repr__(self) -> str:
        return f"<typedws.testing.TypedSession {self.endpoint!r}>"

    async def receive(self) -> In:
        """The next message from the application, validated as the endpoint's ``sends``.

        Returns:
            The message, a member of the endpoint's ``sends``.

        Raises:
            PayloadError: The message is not one (``kind``, ``path`` say why).
            Closed: The application closed (a WebSocketDisconnect with the code and reason).
        """
        event = await self.session.receive()
        sends: Any = self.endpoint.sends
        if self._json:
            frame = _text_of(event) if self._text else _bytes_of(event)
            return _codecs.decode_json(_codecs.DEFAULT_CODEC.json_decoder(sends), frame)  # type: ignore[no-any-return]
        decoder = _codecs.DEFAULT_CODEC.msgpack_decoder(sends)
        return _codecs.decode_msgpack(decoder, _bytes_of(event))  # type: ignore[no-any-return]

    async def send(self, message: Out) -> None:
        """Send ``message`` to the application.

        Args:
            message: A member of the endpoint's ``receives``.

        Raises:
            TypeError: ``message`` is not a member of ``receives``.
        """
        self.endpoint._in.check(message, _codecs.DEFAULT_CODEC, "cannot send")
        if not self._json:
            await self.session.send_msgpack(message)
        else:
            await self.session.send_json(message, "text" if self._text else "binary")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client side (as :meth:`Session.close`).

        Args:
            code: The close code (RFC 6455 section 7.4).
            reason: The close reason, at most 123 UTF-8 bytes.
        """
        await self.session.close(code, reason)

    def __aiter__(self) -> TypedSession[In, Out]:
        return self

    async def __anext__(self) -> In:
        try:
            return await self.receive()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None


@asynccontextmanager
async def _connect(
    app: ASGIApp,
    path: str = "/",
    *,
    headers: Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None = None,
    subprotocols: Iterable[str] | None = None,
    query_string: bytes | str = b"",
    timeout: float = DEFAULT_TIMEOUT,
    denial_response: bool = True,
) -> AsyncGenerator[Session, None]:
    """The untyped :func:`connect`."""
    if not callable(app):
        raise TypeError(f"connect() needs an ASGI application, got {type(app).__name__}")
    scope = _build_scope(path, headers, subprotocols, query_string, denial_response)
    server = _Server(app, scope, timeout)
    server.to_app.send_nowait({"type": "websocket.connect"})
    failure: Exception | None = None
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.run_app)
        try:
            session = await _handshake(server)
            yield session
            await _finish(server, session)
        except Exception as exc:
            # Raised again below, outside the task group, so the test sees the exception
            # itself rather than an ExceptionGroup wrapping it.
            failure = exc
        tasks.cancel_scope.cancel()
    server.close_streams()
    if failure is not None:
        raise failure
