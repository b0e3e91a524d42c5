"""TypedWebSocket and the per-message dispatch loop of an Endpoint: the hot half of endpoints.

The declaration (:class:`typedws.Endpoint`: overloads, decorators, hooks) lives in
typedws._endpoint, interpreted; what runs once per message lives here and is compiled with
mypyc, like the WebSocket it drives, so that its calls into the WebSocket are native calls.
Measured (benchmarks/bench_endpoint.py, compiled build): a typed send written as a wrapper
around ``ws.send_json`` cost 1.3x ``send_json`` itself, one call layer on a ~400 ns path;
written as ``send_json``'s own three steps (check and encode, await the server's send, map a
dead peer), it costs one set lookup more.

This module knows the WebSocket's internals (the message builders of typedws._connection) and
nothing of the declaration but the few values an Endpoint hands over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from typedws._codecs import Codec
from typedws._connection import json_message, msgpack_message
from typedws._errors import PayloadError, WebSocketDisconnect, raise_from
from typedws._state import client_ended
from typedws._websocket import Mode, WebSocket

if TYPE_CHECKING:
    from typedws._endpoint import Endpoint

__all__ = ["TypedWebSocket", "close_code_for", "dispatch"]

In = TypeVar("In")
Out = TypeVar("Out")

# RFC 6455 section 7.4.1, per PayloadError.kind: 1003 "a type of data it cannot accept" (the
# wrong frame kind), 1007 "data within a message that was not consistent with the type of the
# message" (not UTF-8, not JSON or MessagePack, nested too deeply), 1008 "a message that violates
# its policy" (not a member of ``receives``), 1009 "a message that is too big".
_CLOSE_CODES: Final[dict[str, int]] = {
    "frame": 1003,
    "encoding": 1007,
    "syntax": 1007,
    "depth": 1007,
    "schema": 1008,
    "size": 1009,
}
# RFC 6455 section 5.5: a control frame's payload is at most 125 bytes, 2 of them the code.
_MAX_REASON: Final = 123


def close_code_for(error: PayloadError) -> tuple[int, str]:
    """The close code and reason an endpoint closes with for an invalid message.

    The reason is the error's message, cut (on a character boundary) to 123 UTF-8 bytes.
    """
    reason = str(error)
    encoded = reason.encode("utf-8")
    if len(encoded) > _MAX_REASON:
        reason = encoded[: _MAX_REASON - 3].decode("utf-8", "ignore") + "..."
    return _CLOSE_CODES.get(error.kind, 1008), reason


class TypedWebSocket(Generic[In, Out]):
    """A connection of an :class:`Endpoint`: receives ``In`` and sends ``Out``.

    ``await conn.receive()`` gives the next message (validated as ``In``), ``async for msg in
    conn`` iterates until the client disconnects, ``await conn.send(msg)`` sends a member of
    ``Out``, ``await conn.close(code, reason)`` closes; ``conn.ws`` is the :class:`WebSocket`.
    Get one from :meth:`Endpoint.wrap` or as a handler's first argument.

    Args:
        ws: The connection.
        endpoint: The endpoint whose ``receives``, ``sends``, ``format`` and ``mode`` apply.
    """

    def __init__(self, ws: WebSocket, endpoint: Endpoint[In, Out]) -> None:
        self._ws = ws
        self._endpoint = endpoint
        self._receives: Any = endpoint.receives
        self._json: bool = endpoint.format == "json"
        self._mode: Mode = endpoint.mode
        outbound = endpoint._out
        #: The classes of ``sends`` when it is a union of classes (the one-lookup check).
        self._out_classes: frozenset[type] = outbound.classes
        #: The full check, for a value whose class is not one of those (raises TypeError).
        self._out_check: Callable[[object, Codec, str], None] = outbound.check

    def __repr__(self) -> str:
        return f"<TypedWebSocket {self._endpoint!r}>"

    @property
    def ws(self) -> WebSocket:
        """The underlying :class:`WebSocket` (accept, close, headers, the scope...)."""
        return self._ws

    @property
    def endpoint(self) -> Endpoint[In, Out]:
        """The endpoint this connection belongs to."""
        return self._endpoint

    async def send(self, message: Out) -> None:
        """Send ``message``, a member of the endpoint's ``sends``.

        TypeError (nothing is sent) if it is not one; otherwise as ``WebSocket.send_json``
        (``send_msgpack`` for a MessagePack endpoint), with the connection's codec.

        Args:
            message: A member of ``sends``.

        Raises:
            TypeError: ``message`` is not a member of ``sends``, or msgspec cannot encode it.
            WebSocketStateError: The connection is not accepted yet, or the application
                closed it.
            WebSocketDisconnect: The client already disconnected, or the server's ``send``
                failed (code 1006).
        """
        if type(message) not in self._out_classes:
            self._out_check(message, self._ws._codec, "cannot send")
        # WebSocket.send_json's own steps (see the module docstring for why not a call to it).
        if self._json:
            wire = json_message(self._ws, message, self._mode)
        else:
            wire = msgpack_message(self._ws, message)
        try:
            await self._ws._send(wire)
        except OSError:
            raise_from(self._ws._send_failed(), None)

    async def receive(self) -> In:
        """Receive the next message, validated as the endpoint's ``receives``.

        PayloadError (``kind``, ``path``) for an invalid message (it is consumed; the
        connection stays usable), WebSocketDisconnect when the client disconnects.

        Returns:
            The decoded message, a member of ``receives``.

        Raises:
            PayloadError: The message is invalid: the wrong frame kind, bad UTF-8, JSON or
                MessagePack, nested too deeply, or not a member of ``receives``.
            WebSocketDisconnect: The client disconnected.
            WebSocketStateError: The connection is not accepted yet, or the client already
                disconnected.
            ProtocolError: The server's event is malformed or out of order.
        """
        if self._json:
            result: In = await self._ws.receive_json(self._mode, type=self._receives)
        else:
            result = await self._ws.receive_msgpack(type=self._receives)
        return result

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection (as ``WebSocket.close``).

        Args:
            code: The close code; 1000 is a normal closure.
            reason: The close reason; None for none.

        Raises:
            ValueError: ``code`` may not be sent, or ``reason`` is longer than 123 UTF-8 bytes.
            WebSocketStateError: A denial response is under way.
        """
        await self._ws.close(code, reason)

    def __aiter__(self) -> TypedWebSocket[In, Out]:
        return self

    async def __anext__(self) -> In:
        if client_ended(self._ws._client_state):
            raise StopAsyncIteration
        try:
            result: In = await self.receive()
        except WebSocketDisconnect:
            raise_from(StopAsyncIteration(), None)
        return result


def _handler_of(
    handlers: dict[type, Callable[[Any, Any], Awaitable[Any]]], message: object
) -> Callable[[Any, Any], Awaitable[Any]]:
    """The slow path of the handler lookup: a decoded value whose class is not a dispatch key
    itself (a subclass, from a ``dec_hook``). TypeError when no handler takes it."""
    for cls, handler in handlers.items():
        if isinstance(message, cls):
            return handler
    raise TypeError(f"no handler for a decoded {type(message).__name__}")


async def dispatch(
    conn: TypedWebSocket[Any, Any],
    handlers: dict[type, Callable[[Any, Any], Awaitable[Any]]],
    on_invalid: Callable[[Any, PayloadError], Awaitable[None]] | None,
) -> int:
    """Receive, decode, dispatch by ``type(message)`` and send replies until the connection
    ends; returns the close code. A handler's exception propagates."""
    ws = conn._ws
    receives = conn._receives
    mode = conn._mode
    json = conn._json
    message: object
    while True:
        try:
            if json:
                message = await ws.receive_json(mode, type=receives)
            else:
                message = await ws.receive_msgpack(type=receives)
        except PayloadError as error:
            if on_invalid is not None:
                await on_invalid(conn, error)
            else:
                code, reason = close_code_for(error)
                await ws.close(code, reason)
            continue
        except WebSocketDisconnect as exc:
            return exc.code
        handler = handlers.get(type(message))
        if handler is None:
            handler = _handler_of(handlers, message)
        try:
            reply = await handler(conn, message)
            if reply is not None:
                await conn.send(reply)
        except WebSocketDisconnect as exc:
            return exc.code  # the client left while the handler was talking to it
