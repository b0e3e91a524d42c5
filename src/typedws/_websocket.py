"""The WebSocket: a typed, validating shell over one ASGI websocket connection.

This module owns the connection object users hold. It knows the ASGI callables and the scope;
the rules live elsewhere: which event may come when (_state.py), what a well-formed event is
(_validate.py), how payloads are encoded (_codecs.py).

Shape of every operation, for mypyc's sake (design.md section 6): a synchronous native method
checks and builds everything before the ``await`` (so a refused call sends nothing), then one
``await`` of the server's callable, then a synchronous native method checks what came back.
Compiled ``async def`` is no faster than interpreted; compiled synchronous code is, so the await
paths are kept short and the work is done in the synchronous halves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, Final, Generic, Literal, TypeVar, overload

from mypy_extensions import mypyc_attr

from typedws import _codecs
from typedws._errors import (
    PayloadError,
    ProtocolError,
    WebSocketDisconnect,
    WebSocketStateError,
)
from typedws._state import (
    ACCEPT,
    CLOSE,
    CONNECT,
    CONNECTED,
    CONNECTING,
    DISCONNECT,
    DISCONNECTED,
    RECEIVE,
    RESPONSE,
    RESPONSE_BODY,
    RESPONSE_BODY_MORE,
    RESPONSE_START,
    SEND,
    STATES,
    WebSocketState,
    app_state_problem,
    client_state_problem,
    next_app_state,
    next_client_state,
    state_name,
)
from typedws._validate import (
    app_event,
    close_code_problem,
    close_reason_problem,
    data_frame,
    disconnect_fields,
    header_pairs,
    server_event,
)
from typedws.events import (
    Connect,
    Disconnect,
    Receive,
    ReceiveEvent,
    SendEvent,
    SendEventDict,
)
from typedws.types import ASGIApp, Message, Scope
from typedws.types import Receive as ReceiveCallable
from typedws.types import Send as SendCallable

__all__ = ["Mode", "WebSocket"]

T = TypeVar("T")

#: How JSON travels: in text frames (the default) or as UTF-8 in binary frames.
Mode = Literal["text", "binary"]

logger: Final = logging.getLogger("typedws")

#: Fields left out for older servers; each is logged once per process.
_downgrade_logged: set[str] = set()

_CONNECTION_LOST: Final = 1006


def _log_downgrade_once(field: str, needed: str, version: str) -> None:
    if field not in _downgrade_logged:
        _downgrade_logged.add(field)
        logger.warning(
            "the ASGI server speaks websocket spec %s; %s needs %s, so typedws leaves it out",
            version,
            field,
            needed,
        )


def _spec_version(scope: Scope) -> tuple[int, int]:
    """The server's ASGI websocket spec version; "2.0" when it does not say (ASGI spec)."""
    asgi = scope.get("asgi")
    version = asgi.get("spec_version", "2.0") if isinstance(asgi, Mapping) else "2.0"
    if not isinstance(version, str):
        return (2, 0)
    major, _, minor = version.partition(".")
    try:
        return (int(major), int(minor or "0"))
    except ValueError:
        return (2, 0)


def _version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _mode_problem(mode: object) -> str:
    return f"mode must be 'text' or 'binary', got {mode!r}"


@mypyc_attr(allow_interpreted_subclasses=True)
class WebSocket(Mapping[str, Any]):
    """One ASGI 3 websocket connection, typed and validated.

    ``WebSocket(scope, receive, send)`` wraps what the server gave the application. It is also a
    read-only mapping over the scope (``ws["path"]``). Every event that goes in or out is checked
    against :mod:`typedws.events` and the connection's state machine.

    Raises ValueError if ``scope["type"]`` is not ``"websocket"``.
    """

    def __init__(self, scope: Scope, receive: ReceiveCallable, send: SendCallable) -> None:
        # Checked at run time too: a plain-Python caller may pass anything.
        scope_type = scope.get("type") if isinstance(scope, Mapping) else None  # type: ignore[redundant-expr]
        if scope_type != "websocket":
            raise ValueError(f"WebSocket needs a websocket scope, got scope type {scope_type!r}")
        self.scope: Scope = scope
        self._receive = receive
        self._send = send
        self._client_state = CONNECTING
        self._app_state = CONNECTING
        self._close_code: int | None = None
        self._close_reason: str | None = None
        self._spec: tuple[int, int] | None = None
        # Whether websocket.accept was sent: after a rejected handshake (close before accept)
        # no WebSocket exists, so a data frame from the server is out of order.
        self._accepted = False

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

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} path={self.scope.get('path')!r} "
            f"client={state_name(self._client_state)} "
            f"application={state_name(self._app_state)}>"
        )

    # --- state -------------------------------------------------------------------------------

    @property
    def client_state(self) -> WebSocketState:
        """What the server has told the application: CONNECTING, CONNECTED or DISCONNECTED."""
        return STATES[self._client_state]

    @property
    def application_state(self) -> WebSocketState:
        """What the application has told the server: CONNECTING, CONNECTED, RESPONSE or
        DISCONNECTED."""
        return STATES[self._app_state]

    @property
    def close_code(self) -> int | None:
        """The close code once the connection ended (the client's, or the application's if it
        closed first); None while it is open."""
        return self._close_code

    @property
    def close_reason(self) -> str | None:
        """The close reason that went with :attr:`close_code`."""
        return self._close_reason

    @property
    def spec_version(self) -> tuple[int, int]:
        """The server's ASGI websocket spec version as ``(major, minor)``."""
        spec = self._spec
        if spec is None:
            spec = _spec_version(self.scope)
            self._spec = spec
        return spec

    # --- synchronous halves: checks before, and after, each await ---------------------------

    def _record_close(self, code: int, reason: str | None) -> None:
        if self._close_code is None:
            self._close_code = code
            self._close_reason = reason if reason is not None else ""

    def _lost(self) -> WebSocketDisconnect:
        """The server's send raised OSError: the peer is gone without a close frame.

        Only the client side ends: the application closed nothing, and every later send must
        raise WebSocketDisconnect(1006) again (design.md section 1), not a state error.
        """
        self._client_state = DISCONNECTED
        self._record_close(_CONNECTION_LOST, "")
        return WebSocketDisconnect(_CONNECTION_LOST, "")

    def _check_send(self) -> None:
        """Raise unless a data frame may be sent now; the state itself does not change."""
        if next_app_state(self._app_state, SEND) < 0:
            if self._app_state == CONNECTING:
                raise WebSocketStateError(
                    "cannot send before the connection is accepted; call accept() first"
                )
            raise WebSocketStateError(app_state_problem(self._app_state, SEND))
        if self._client_state == DISCONNECTED:
            raise WebSocketDisconnect(self._close_code or 1005, self._close_reason or "")

    def _text_message(self, data: object, method: str) -> dict[str, object]:
        if type(data) is not str and not isinstance(data, str):
            raise TypeError(f"{method}() takes str, got {type(data).__name__}")
        self._check_send()
        return {"type": SEND, "text": data}

    def _bytes_message(self, data: object, method: str) -> dict[str, object]:
        if type(data) is bytes:
            payload: bytes = data
        elif isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
        else:
            raise TypeError(
                f"{method}() takes bytes, bytearray or memoryview, got {type(data).__name__}"
            )
        self._check_send()
        return {"type": SEND, "bytes": payload}

    def _json_message(self, data: object, mode: str) -> dict[str, object]:
        self._check_send()
        encoded = _codecs.encode_json(data)
        if mode == "text":
            return {"type": SEND, "text": encoded.decode("utf-8")}
        if mode == "binary":
            return {"type": SEND, "bytes": encoded}
        raise ValueError(_mode_problem(mode))

    def _check_receive(self, mode: str) -> None:
        """Raise unless a data frame may be received now (and ``mode`` is valid)."""
        if mode != "text" and mode != "binary":
            raise ValueError(_mode_problem(mode))
        if self._app_state == CONNECTING or self._app_state == RESPONSE:
            raise WebSocketStateError(
                "cannot receive data before the connection is accepted; call accept() first "
                f"(application side is {state_name(self._app_state)})"
            )
        if self._client_state != CONNECTED:
            raise WebSocketStateError(
                f"cannot receive: the client side is {state_name(self._client_state)}"
                + (
                    " (the client already disconnected)"
                    if self._client_state == DISCONNECTED
                    else ""
                )
            )

    def _frame(self, message: object) -> str | bytes:
        """Check an event that must be a data frame or a disconnect; return the payload.

        A disconnect moves the client side to DISCONNECTED and raises WebSocketDisconnect.
        """
        event_type, event = server_event(message)
        next_state = next_client_state(self._client_state, self._app_state, event_type)
        if next_state < 0:
            raise ProtocolError(
                client_state_problem(self._client_state, self._app_state, event_type)
            )
        if event_type == RECEIVE:
            self._check_accepted()
            return data_frame(event, RECEIVE)
        code, reason = disconnect_fields(event)
        self._client_state = next_state
        self._record_close(code, reason)
        raise WebSocketDisconnect(code, reason)

    def _text_frame(self, message: object) -> str:
        frame = self._frame(message)
        if isinstance(frame, str):
            return frame
        raise PayloadError("expected a text frame, got a binary frame", frame)

    def _bytes_frame(self, message: object) -> bytes:
        frame = self._frame(message)
        if isinstance(frame, bytes):
            return frame
        raise PayloadError("expected a binary frame, got a text frame", frame)

    def _json_frame(self, message: object, mode: str) -> str | bytes:
        frame = self._frame(message)
        if mode == "text":
            if isinstance(frame, str):
                return frame
            raise PayloadError(
                "expected JSON in a text frame, got a binary frame (use mode='binary')", frame
            )
        if isinstance(frame, bytes):
            return frame
        raise PayloadError(
            "expected JSON in a binary frame, got a text frame (use mode='text')", frame
        )

    def _server_event(self, message: object) -> ReceiveEvent:
        """Check any event from the server for the raw ``receive``; return its Struct."""
        event_type, event = server_event(message)
        next_state = next_client_state(self._client_state, self._app_state, event_type)
        if next_state < 0:
            raise ProtocolError(
                client_state_problem(self._client_state, self._app_state, event_type)
            )
        if event_type == RECEIVE:
            self._check_accepted()
            frame = data_frame(event, RECEIVE)
            result: ReceiveEvent = (
                Receive(text=frame) if isinstance(frame, str) else Receive(bytes=frame)
            )
        elif event_type == DISCONNECT:
            code, reason = disconnect_fields(event)
            self._record_close(code, reason)
            result = Disconnect(code=code, reason=reason)
        else:
            result = Connect()
        self._client_state = next_state
        return result

    def _handshake(self, message: object) -> None:
        """Check the event that opens the connection: it must be ``websocket.connect``."""
        event_type, event = server_event(message)
        if event_type == DISCONNECT:
            code, reason = disconnect_fields(event)
            self._client_state = DISCONNECTED
            self._record_close(code, reason)
            raise WebSocketDisconnect(code, reason)
        if event_type != CONNECT:
            raise ProtocolError(
                client_state_problem(self._client_state, self._app_state, event_type)
            )
        self._client_state = CONNECTED

    def _check_accepted(self) -> None:
        if not self._accepted:
            # Reached only after a rejected handshake: the state table lets websocket.receive
            # through once the application side is DISCONNECTED, as frames in flight may
            # still arrive after a close that followed an accept.
            raise ProtocolError(
                "the server sent 'websocket.receive' although the application rejected the "
                "handshake: no WebSocket was opened"
            )

    def _advance_app(self, event_type: str, error: type[Exception]) -> None:
        next_state = next_app_state(self._app_state, event_type)
        if next_state < 0:
            raise error(app_state_problem(self._app_state, event_type))
        if self._client_state == DISCONNECTED and event_type != CLOSE:
            # Nothing but a (no-op) close goes out once the client is gone: a server would
            # raise OSError (ASGI spec); report the disconnect already seen instead.
            raise WebSocketDisconnect(self._close_code or 1005, self._close_reason or "")
        if event_type == ACCEPT:
            self._accepted = True
        self._app_state = next_state

    def _accept_message(self, subprotocol: str | None, headers: object) -> dict[str, object]:
        if next_app_state(self._app_state, ACCEPT) < 0:
            raise WebSocketStateError(app_state_problem(self._app_state, ACCEPT))
        if subprotocol is not None:
            if not isinstance(subprotocol, str):
                raise TypeError(
                    f"subprotocol must be a str or None, got {type(subprotocol).__name__}"
                )
            offered = self.scope.get("subprotocols") or []
            if subprotocol not in offered:
                raise ValueError(
                    f"subprotocol {subprotocol!r} was not offered by the client "
                    f"(offered: {list(offered)!r})"
                )
        message: dict[str, object] = {"type": ACCEPT, "subprotocol": subprotocol}
        pairs = header_pairs(headers)
        if pairs:
            if self.spec_version >= (2, 1):
                message["headers"] = pairs
            else:
                _log_downgrade_once("accept headers", "2.1", _version_text(self.spec_version))
        return message

    def _close_message(self, code: int, reason: str | None) -> dict[str, object] | None:
        """Build the close event, or None when closing is a no-op (already closed / gone)."""
        problem = close_code_problem(code) or close_reason_problem(reason)
        if problem:
            raise ValueError(problem)
        if self._app_state == DISCONNECTED or self._client_state == DISCONNECTED:
            return None
        if self._app_state == RESPONSE:
            raise WebSocketStateError(app_state_problem(self._app_state, CLOSE))
        code = int(code)  # a plain int on the wire, also for an IntEnum
        self._app_state = DISCONNECTED
        self._record_close(code, reason)
        message: dict[str, object] = {"type": CLOSE, "code": code}
        if reason:
            if self.spec_version >= (2, 3):
                message["reason"] = reason
            else:
                _log_downgrade_once("a close reason", "2.3", _version_text(self.spec_version))
        return message

    def _raw_message(self, message: object) -> dict[str, object] | None:
        """Check an event for the raw ``send`` and advance the state; None means skip it
        (a close after the connection already ended, which is a no-op)."""
        event_type, wire = app_event(message)
        if event_type == SEND:
            self._check_send_raw()
            return wire
        if event_type == CLOSE:
            if self._app_state == DISCONNECTED or self._client_state == DISCONNECTED:
                return None
            self._advance_app(CLOSE, ProtocolError)
            code = wire["code"]
            reason = wire["reason"]
            self._record_close(
                code if isinstance(code, int) else 1000, reason if isinstance(reason, str) else None
            )
            if reason is None or self.spec_version < (2, 3):
                del wire["reason"]
            return wire
        if event_type == ACCEPT:
            subprotocol = wire["subprotocol"]
            if subprotocol is not None and subprotocol not in (
                self.scope.get("subprotocols") or []
            ):
                raise ProtocolError(
                    f"websocket.accept event: subprotocol {subprotocol!r} was not offered "
                    "by the client"
                )
            if self._client_state == CONNECTING:
                raise ProtocolError(
                    "websocket.accept event: the server has not delivered websocket.connect yet; "
                    "receive it first"
                )
            self._advance_app(ACCEPT, ProtocolError)
            if self.spec_version < (2, 1):
                # Not even an empty list: the field does not exist before spec 2.1.
                if wire["headers"]:
                    _log_downgrade_once("accept headers", "2.1", _version_text(self.spec_version))
                del wire["headers"]
            return wire
        if event_type == RESPONSE_START and "websocket.http.response" not in (
            self.scope.get("extensions") or {}
        ):
            raise ProtocolError(
                "websocket.http.response.start event: the server does not support denial "
                "responses (no 'websocket.http.response' in scope['extensions'])"
            )
        if event_type == RESPONSE_BODY and wire["more_body"] is True:
            self._advance_app(RESPONSE_BODY_MORE, ProtocolError)
        else:
            self._advance_app(event_type, ProtocolError)
        return wire

    def _check_send_raw(self) -> None:
        if next_app_state(self._app_state, SEND) < 0:
            raise ProtocolError(app_state_problem(self._app_state, SEND))
        if self._client_state == DISCONNECTED:
            raise WebSocketDisconnect(self._close_code or 1005, self._close_reason or "")

    def _check_can_receive_raw(self) -> None:
        if self._client_state == DISCONNECTED:
            raise WebSocketStateError(
                f"cannot receive: the client already disconnected (code {self._close_code})"
            )

    # --- the handshake -----------------------------------------------------------------------

    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Mapping[str, str] | Mapping[bytes, bytes] | Any | None = None,
    ) -> None:
        """Accept the connection, waiting for ``websocket.connect`` first if it has not come.

        ``subprotocol`` must be one the client offered; ``headers`` are extra response headers,
        as a mapping, a multidict or ``(name, value)`` pairs of bytes or str.

        Raises ValueError for an unoffered subprotocol or a bad header (CR, LF or NUL, a name that
        is not an HTTP token, or ``sec-websocket-protocol``), WebSocketStateError if the connection
        was already accepted or closed, WebSocketDisconnect if the client left before the
        handshake.
        """
        message = self._accept_message(subprotocol, headers)
        if self._client_state == CONNECTING:
            self._handshake(await self._receive())
        self._advance_app(ACCEPT, WebSocketStateError)
        try:
            await self._send(message)
        except OSError:
            raise self._lost() from None

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection; before ``accept()`` this rejects the handshake (HTTP 403).

        A second close, or a close after the client disconnected, does nothing. Raises
        ValueError (and sends nothing) if ``code`` may not be sent per RFC 6455 section 7.4 or
        ``reason`` is longer than 123 UTF-8 bytes.
        """
        message = self._close_message(code, reason)
        if message is None:
            return
        try:
            await self._send(message)
        except OSError:
            # The peer is already gone; the connection is closed either way.
            self._client_state = DISCONNECTED

    async def send_denial_response(self, response: ASGIApp) -> None:
        """Refuse the handshake with an HTTP response (any ASGI app that sends one).

        Needs the server's ``websocket.http.response`` extension: without it, RuntimeError.
        Raises WebSocketStateError if the connection was already accepted or closed.
        """
        extensions = self.scope.get("extensions") or {}
        if "websocket.http.response" not in extensions:
            raise RuntimeError(
                "the ASGI server does not support denial responses "
                "(no 'websocket.http.response' in scope['extensions']); use close() to reject"
            )
        if self._app_state != CONNECTING:
            raise WebSocketStateError(app_state_problem(self._app_state, RESPONSE_START))

        async def send(message: Message) -> None:
            # Some response classes send HTTP event names in a websocket scope; map them.
            event_type = message.get("type")
            if event_type == "http.response.start" or event_type == "http.response.body":
                message = {**message, "type": "websocket." + event_type}
            await self.send(message)  # type: ignore[arg-type]  # validated inside

        await response(self.scope, self._receive, send)
        if self._app_state == RESPONSE:
            raise ProtocolError(
                "the denial response ended without a final websocket.http.response.body "
                "(more_body=False)"
            )

    # --- sending -----------------------------------------------------------------------------

    async def send_text(self, data: str) -> None:
        """Send a text frame. TypeError (before anything is sent) if ``data`` is not a str."""
        message = self._text_message(data, "send_text")
        try:
            await self._send(message)
        except OSError:
            raise self._lost() from None

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send a binary frame. TypeError (before anything is sent) if ``data`` is not
        bytes-like."""
        message = self._bytes_message(data, "send_bytes")
        try:
            await self._send(message)
        except OSError:
            raise self._lost() from None

    async def send_json(self, data: Any, mode: Mode = "text") -> None:
        """Send ``data`` as compact JSON, in a text frame or (``mode="binary"``) a binary one.

        Anything msgspec encodes works (Structs, dataclasses, TypedDicts, datetimes, UUIDs...).
        TypeError naming the type if it cannot be encoded, ValueError for an unknown mode; in
        both cases nothing is sent.
        """
        message = self._json_message(data, mode)
        try:
            await self._send(message)
        except OSError:
            raise self._lost() from None

    async def send_msgpack(self, data: Any) -> None:
        """Send ``data`` encoded as MessagePack in a binary frame."""
        self._check_send()
        message: dict[str, object] = {"type": SEND, "bytes": _codecs.encode_msgpack(data)}
        try:
            await self._send(message)
        except OSError:
            raise self._lost() from None

    async def send(self, message: SendEvent | SendEventDict) -> None:
        """Send a raw ASGI event (a :mod:`typedws.events` Struct or a plain dict).

        The event is validated and must fit the connection's state: ProtocolError otherwise,
        naming the event and the field, and nothing is sent. Sending data after the client
        disconnected raises WebSocketDisconnect; a close then is a no-op.
        """
        wire = self._raw_message(message)
        if wire is None:
            return
        try:
            await self._send(wire)
        except OSError:
            if wire["type"] == CLOSE:
                # As in close(): the peer is already gone; the connection is closed either way.
                self._client_state = DISCONNECTED
                return
            raise self._lost() from None

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self) -> ReceiveEvent:
        """Receive the next raw ASGI event as a validated :mod:`typedws.events` Struct.

        A disconnect is returned (as ``Disconnect``), not raised. ProtocolError for a malformed
        or out-of-order event; WebSocketStateError if the client already disconnected.
        """
        self._check_can_receive_raw()
        return self._server_event(await self._receive())

    async def receive_text(self) -> str:
        """Receive a text frame.

        PayloadError if a binary frame came (it is consumed; the connection stays usable),
        WebSocketDisconnect when the client disconnects.
        """
        self._check_receive("text")
        return self._text_frame(await self._receive())

    async def receive_bytes(self) -> bytes:
        """Receive a binary frame (PayloadError for a text frame, as in receive_text)."""
        self._check_receive("binary")
        return self._bytes_frame(await self._receive())

    @overload
    async def receive_json(self, mode: Mode = "text") -> Any: ...
    @overload
    async def receive_json(self, mode: Mode = "text", *, type: type[T]) -> T: ...
    async def receive_json(self, mode: Mode = "text", *, type: Any = None) -> Any:
        """Receive a JSON message, decoded into ``type`` if given (validated by msgspec).

        PayloadError, with msgspec's message and the path of the bad field, for invalid JSON,
        invalid UTF-8, the wrong frame kind or a value that does not match ``type``.
        """
        self._check_receive(mode)
        frame = self._json_frame(await self._receive(), mode)
        return _codecs.decode_json(frame, type)

    @overload
    async def receive_msgpack(self) -> Any: ...
    @overload
    async def receive_msgpack(self, *, type: type[T]) -> T: ...
    async def receive_msgpack(self, *, type: Any = None) -> Any:
        """Receive a MessagePack binary frame, decoded into ``type`` if given."""
        self._check_receive("binary")
        frame = self._bytes_frame(await self._receive())
        return _codecs.decode_msgpack(frame, type)

    # --- iterating ---------------------------------------------------------------------------

    def iter_text(self) -> TextIterator:
        """Iterate over text frames until the client disconnects."""
        return TextIterator(self)

    def iter_bytes(self) -> BytesIterator:
        """Iterate over binary frames until the client disconnects."""
        return BytesIterator(self)

    @overload
    def iter_json(self, mode: Mode = "text") -> JSONIterator[Any]: ...
    @overload
    def iter_json(self, mode: Mode = "text", *, type: type[T]) -> JSONIterator[T]: ...
    def iter_json(self, mode: Mode = "text", *, type: Any = None) -> JSONIterator[Any]:
        """Iterate over JSON messages (decoded into ``type`` if given) until the client
        disconnects. A bad message raises PayloadError out of the loop; it is not skipped."""
        if mode != "text" and mode != "binary":
            raise ValueError(_mode_problem(mode))
        return JSONIterator(self, mode, type)

    @overload
    def iter_msgpack(self) -> MsgpackIterator[Any]: ...
    @overload
    def iter_msgpack(self, *, type: type[T]) -> MsgpackIterator[T]: ...
    def iter_msgpack(self, *, type: Any = None) -> MsgpackIterator[Any]:
        """Iterate over MessagePack messages until the client disconnects."""
        return MsgpackIterator(self, type)


# Async generators cannot be compiled by mypyc (design.md section 6): the iterators are native
# classes with __anext__, turning the end of the connection into StopAsyncIteration. They call
# the public receive_* methods so that a subclass overriding those is honoured.


class TextIterator:
    """``async for text in ws.iter_text()``: text frames until the client disconnects."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    def __aiter__(self) -> TextIterator:
        return self

    async def __anext__(self) -> str:
        if self._websocket._client_state == DISCONNECTED:
            raise StopAsyncIteration
        try:
            return await self._websocket.receive_text()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None


class BytesIterator:
    """``async for data in ws.iter_bytes()``: binary frames until the client disconnects."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    def __aiter__(self) -> BytesIterator:
        return self

    async def __anext__(self) -> bytes:
        if self._websocket._client_state == DISCONNECTED:
            raise StopAsyncIteration
        try:
            return await self._websocket.receive_bytes()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None


class JSONIterator(Generic[T]):
    """``async for message in ws.iter_json(type=T)``: decoded messages until disconnect."""

    def __init__(self, websocket: WebSocket, mode: Mode, target: Any) -> None:
        self._websocket = websocket
        self._mode: Mode = mode
        self._target = target

    def __aiter__(self) -> JSONIterator[T]:
        return self

    async def __anext__(self) -> T:
        websocket = self._websocket
        if websocket._client_state == DISCONNECTED:
            raise StopAsyncIteration
        try:
            result: T = await websocket.receive_json(self._mode, type=self._target)
        except WebSocketDisconnect:
            raise StopAsyncIteration from None
        return result


class MsgpackIterator(Generic[T]):
    """``async for message in ws.iter_msgpack(type=T)``: decoded messages until disconnect."""

    def __init__(self, websocket: WebSocket, target: Any) -> None:
        self._websocket = websocket
        self._target = target

    def __aiter__(self) -> MsgpackIterator[T]:
        return self

    async def __anext__(self) -> T:
        websocket = self._websocket
        if websocket._client_state == DISCONNECTED:
            raise StopAsyncIteration
        try:
            result: T = await websocket.receive_msgpack(type=self._target)
        except WebSocketDisconnect:
            raise StopAsyncIteration from None
        return result
