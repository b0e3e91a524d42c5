"""A typed client for an :class:`typedws.Endpoint`, over the network with ``websockets``.

``async with connect("ws://host:8000/chat", chat) as c:`` opens a connection and yields a
:class:`Client` that sends what the endpoint receives and receives what it sends, both validated
with msgspec exactly as the server side is: the same methods as the endpoint's own
:class:`typedws.TypedWebSocket`, the other way round, and as the in-memory
``typedws.testing.connect(app, path, endpoint=chat)``.

Needs the ``websockets`` library (``pip install "typedws[client]"``); it runs on asyncio.
Not compiled: every call here is an await on ``websockets``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from typedws import _codecs
from typedws._endpoint import Endpoint
from typedws._errors import PayloadError, WebSocketDisconnect

try:
    from websockets.asyncio.client import ClientConnection
    from websockets.asyncio.client import connect as _ws_connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Subprotocol
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        'typedws.client needs websockets: install it with  pip install "typedws[client]"'
    ) from exc

__all__ = ["Client", "connect"]

In = TypeVar("In")
Out = TypeVar("Out")


def _disconnect(exc: ConnectionClosed) -> WebSocketDisconnect:
    """The server's close (code and reason), or 1006 when the connection broke without one."""
    received = exc.rcvd
    if received is None:
        return WebSocketDisconnect(1006, "")
    return WebSocketDisconnect(received.code, received.reason)


class Client(Generic[In, Out]):
    """The client side of an endpoint: receives ``In`` (its ``sends``) and sends ``Out`` (its
    ``receives``). Made by :func:`connect`.

    ``connection`` is the ``websockets`` connection underneath, ``subprotocol`` the one the
    server accepted.

    Args:
        connection: The open ``websockets`` client connection.
        endpoint: The endpoint served at the other end.
    """

    def __init__(self, connection: ClientConnection, endpoint: Endpoint[Any, Any]) -> None:
        #: The ``websockets`` connection underneath.
        self.connection = connection
        #: The endpoint served at the other end.
        self.endpoint = endpoint
        self._json = endpoint.format == "json"
        self._text = endpoint.mode == "text"
        self._sends: Any = endpoint.sends

    def __repr__(self) -> str:
        return f"<typedws.client.Client {self.endpoint!r}>"

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server accepted, if any."""
        return self.connection.subprotocol

    async def receive(self) -> In:
        """The next message from the server, validated as the endpoint's ``sends``.

        PayloadError (``kind``, ``path``) for a message that is not one (it is consumed; the
        connection stays open); WebSocketDisconnect with the server's code and reason once the
        connection is closed.

        Returns:
            The decoded message, a member of the endpoint's ``sends``.

        Raises:
            PayloadError: The message is invalid: the wrong frame kind, bad JSON or
                MessagePack, or not a member of ``sends``.
            WebSocketDisconnect: The connection is closed (code 1006 if it broke without a
                close frame).
        """
        try:
            frame = await self.connection.recv()
        except ConnectionClosed as exc:
            raise _disconnect(exc) from None
        if not self._json:
            if isinstance(frame, str):
                raise PayloadError(
                    "expected MessagePack in a binary frame, got a text frame", frame, kind="frame"
                )
            decoder = _codecs.DEFAULT_CODEC.msgpack_decoder(self._sends)
            return _codecs.decode_msgpack(decoder, frame)  # type: ignore[no-any-return]
        if isinstance(frame, str) != self._text:
            expected, got = ("text", "binary") if self._text else ("binary", "text")
            problem = f"expected JSON in a {expected} frame, got a {got} frame"
            raise PayloadError(problem, frame, kind="frame")
        decoder_json = _codecs.DEFAULT_CODEC.json_decoder(self._sends)
        return _codecs.decode_json(decoder_json, frame)  # type: ignore[no-any-return]

    async def send(self, message: Out) -> None:
        """Send ``message``, a member of the endpoint's ``receives``.

        TypeError (nothing is sent) if it is not one; WebSocketDisconnect if the connection is
        closed.

        Args:
            message: A member of the endpoint's ``receives``.

        Raises:
            TypeError: ``message`` is not a member of ``receives``, or msgspec cannot encode it.
            WebSocketDisconnect: The connection is closed.
        """
        self.endpoint._in.check(message, _codecs.DEFAULT_CODEC, "cannot send")
        data: str | bytes
        if not self._json:
            data = _codecs.DEFAULT_CODEC.encode_msgpack(message)
        else:
            encoded = _codecs.DEFAULT_CODEC.encode_json(message)
            data = encoded.decode("utf-8") if self._text else encoded
        try:
            await self.connection.send(data)
        except ConnectionClosed as exc:
            raise _disconnect(exc) from None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with ``code`` and ``reason`` (a second close does nothing).

        Args:
            code: The close code; 1000 is a normal closure.
            reason: The close reason; empty for none.
        """
        await self.connection.close(code, reason)

    def __aiter__(self) -> Client[In, Out]:
        return self

    async def __anext__(self) -> In:
        try:
            return await self.receive()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None


@asynccontextmanager
async def connect(
    url: str,
    endpoint: Endpoint[Out, In],
    *,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    subprotocols: Sequence[str] | None = None,
) -> AsyncGenerator[Client[In, Out], None]:
    """Connect to ``url`` (``ws://`` or ``wss://``), where ``endpoint`` is served.

    Yields a :class:`Client` that sends the endpoint's ``receives`` and receives its
    ``sends``; the connection is closed (1000) on leaving the block. ``headers`` are extra
    request headers, ``subprotocols`` offered in order. Raises what ``websockets`` raises when
    the handshake fails (``websockets.exceptions.InvalidStatus`` for a rejection, OSError when
    nothing listens).

    Args:
        url: The ``ws://`` or ``wss://`` URL of the endpoint.
        endpoint: The endpoint served there: its ``receives`` is what the client sends, its
            ``sends`` what it receives.
        headers: Extra request headers; None for none.
        subprotocols: The subprotocols to offer, in order of preference; None for none.

    Yields:
        The connected :class:`Client`.

    Raises:
        websockets.exceptions.InvalidStatus: The server refused the handshake.
        OSError: Nothing listens at ``url``, or the connection failed.
    """
    offered = [Subprotocol(name) for name in subprotocols] if subprotocols else None
    async with _ws_connect(url, additional_headers=headers, subprotocols=offered) as connection:
        yield Client(connection, endpoint)
