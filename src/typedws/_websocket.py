"""The WebSocket: the async API over one ASGI websocket connection.

This module owns the object users hold and the only ``await``s of the server's callables. The
deciding is done in typedws._connection (the base class :class:`Connection` and the per-message
functions beside it): every operation here is one synchronous call that checks and builds (so a
refused call sends nothing), one ``await`` of the server's ``receive`` or ``send``, and one
synchronous call that checks what came back.

Compiled with mypyc, like its base, so that each coroutine calls the native checks directly:
an interpreted shell calling the same compiled checks, or compiled sync methods returning
interpreted coroutines, cost more per message, all in the calls between interpreted and native
code (benchmarks/RESULTS.md, "Code shape"). Stock mypyc awaits a coroutine through a wrapper
object and a StopIteration; the build edits that away (build_support/mypyc_tuning.py), which
brings a compiled coroutine to the cost of an interpreted one. The price is mypyc's own argument
checks, worked around below where they would hide our error messages. docs/architecture.md
tells how a message travels through this module and _connection.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar, overload

from typedws._codecs import Codec
from typedws._compat import mypyc_attr
from typedws._connection import (
    Connection,
    bytes_frame,
    bytes_message,
    check_receive,
    json_decoder,
    json_message,
    json_payload,
    mode_problem,
    msgpack_decoder,
    msgpack_message,
    msgpack_payload,
    text_frame,
    text_message,
)
from typedws._errors import ProtocolError, WebSocketDisconnect, WebSocketStateError, raise_from
from typedws._state import (
    ACCEPT,
    CONNECTING,
    RESPONSE_START,
    WebSocketState,
    app_state_problem,
    client_ended,
)
from typedws.events import ReceiveEvent, ReceiveEventDict, SendEvent, SendEventDict
from typedws.types import ASGIApp, Message, Scope
from typedws.types import Receive as ReceiveCallable
from typedws.types import Send as SendCallable

if TYPE_CHECKING:
    # PEP 747: lets ``type=Chat | Join`` bind T to the union (mypy 2.x supports it natively).
    # Needed by the type checker only, so typing_extensions is not a run-time dependency.
    from typing_extensions import LiteralString, TypeForm

__all__ = ["Mode", "WebSocket"]

T = TypeVar("T")

# mypyc checks annotated argument types itself, with messages that name neither the method nor
# the rule ("str object expected; got bytes"). A *constrained* type variable keeps mypy's check
# for callers (``send_text(b"x")`` is an error) while mypyc erases it to ``object``, so the
# method's own TypeError, naming the method and the type given, is the one users see. (A type
# variable with only a bound would not do: mypyc maps it to its bound and checks that.)
_Text = TypeVar("_Text", str, "LiteralString")
_Bytes = TypeVar("_Bytes", bytes, bytearray, memoryview)

#: How JSON travels: in text frames (the default) or as UTF-8 in binary frames.
Mode = Literal["text", "binary"]


@mypyc_attr(allow_interpreted_subclasses=True)
class WebSocket(Connection):
    """One ASGI 3 websocket connection, typed and validated.

    ``WebSocket(scope, receive, send)`` wraps what the server gave the application. It is also a
    read-only mapping over the scope (``ws["path"]``). Every event that goes in or out is checked
    against :mod:`typedws.events` and the connection's state machine.

    ``codec`` (a :class:`Codec`) gives msgspec hooks to the JSON and MessagePack methods;
    without one the connection uses the shared hook-less codec.

    Args:
        scope: The ASGI connection scope; its ``type`` must be ``"websocket"``.
        receive: The server's ``receive`` callable.
        send: The server's ``send`` callable.
        codec: The msgspec hooks of the JSON and MessagePack methods; None for the shared
            hook-less codec.

    Raises:
        ValueError: ``scope["type"]`` is not ``"websocket"``.
        TypeError: ``codec`` is neither a Codec nor None, or the class is a subclass that a
            user's mypyc compiled as a native class (which would crash; see the README).
    """

    def __init__(
        self,
        scope: Scope,
        receive: ReceiveCallable,
        send: SendCallable,
        *,
        codec: Codec | None = None,
    ) -> None:
        cls = type(self)
        if cls is not WebSocket and cls.__basicsize__ < _WEBSOCKET_SIZE:
            raise TypeError(native_subclass_problem(cls))
        super().__init__(scope, codec)
        self._receive = receive
        self._send = send

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

        Args:
            subprotocol: The subprotocol to select, one of :attr:`subprotocols`; None for none.
            headers: Extra response headers; None for none.

        Raises:
            ValueError: ``subprotocol`` was not offered, or a header is malformed.
            TypeError: ``subprotocol`` is not a str, or ``headers`` is not a mapping or pairs.
            WebSocketStateError: The connection was already accepted, denied or closed.
            WebSocketDisconnect: The client left before the handshake, or the server's ``send``
                failed (code 1006).
            ProtocolError: The server's first event was neither ``websocket.connect`` nor
                ``websocket.disconnect``.
        """
        message = self._accept_message(subprotocol, headers)
        if self._client_state == CONNECTING:
            self._handshake(await self._receive())
        self._advance_app(ACCEPT, WebSocketStateError)
        try:
            await self._send(message)
        except OSError:
            raise_from(self._send_failed(), None)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection; before ``accept()`` this rejects the handshake (HTTP 403).

        A second close, or a close after the client disconnected, does nothing. Raises
        ValueError (and sends nothing) if ``code`` may not be sent per RFC 6455 section 7.4 or
        ``reason`` is longer than 123 UTF-8 bytes.

        Args:
            code: The close code (an int, RFC 6455 section 7.4); 1000 is a normal closure.
            reason: The close reason; None for none. Servers older than ASGI spec 2.3 do not
                carry it (it is dropped, and logged once).

        Raises:
            ValueError: ``code`` may not be sent or is not an int, or ``reason`` is not a str
                or is too long.
            WebSocketStateError: A denial response is under way.
        """
        message = self._close_message(code, reason)
        if message is None:
            return
        try:
            await self._send(message)
        except OSError:
            # The peer is already gone; the connection is closed either way: quietly.
            self._send_failed()

    async def send_denial_response(self, response: ASGIApp) -> None:
        """Refuse the handshake with an HTTP response (any ASGI app that sends one).

        Needs the server's ``websocket.http.response`` extension: without it, ProtocolError (a
        RuntimeError), as for a raw ``websocket.http.response.start``. Raises
        WebSocketStateError if the connection was already accepted or closed.

        Args:
            response: An ASGI application (a Starlette or Lilya ``Response``, for example) that
                sends one HTTP response; ``http.response.*`` events are mapped to their
                ``websocket.http.response.*`` names.

        Raises:
            ProtocolError: The server lacks the extension, the response sent a malformed or
                out-of-order event, or it ended without a final body event.
            WebSocketStateError: The connection was already accepted, denied or closed.
        """
        problem = self.denial_problem()
        if problem is not None:
            raise ProtocolError(problem)
        if self._app_state != CONNECTING:
            raise WebSocketStateError(app_state_problem(self._app_state, RESPONSE_START))

        async def send(message: Message | SendEvent) -> None:
            # Some response classes send HTTP event names in a websocket scope; map them.
            if isinstance(message, Mapping):
                event_type = message.get("type")
                if event_type == "http.response.start" or event_type == "http.response.body":
                    message = {**message, "type": "websocket." + event_type}
            await self.send(message)  # type: ignore[arg-type]  # validated inside

        await response(self.scope, self._receive, send)
        # Through the property: the type checkers would keep _app_state narrowed to CONNECTING
        # across the await, although the response's sends moved it.
        if self.application_state is WebSocketState.RESPONSE:
            raise ProtocolError(
                "the denial response ended without a final websocket.http.response.body "
                "(more_body=False)"
            )

    # --- sending -----------------------------------------------------------------------------

    async def send_text(self, data: _Text) -> None:
        """Send a text frame.

        Args:
            data: The text.

        Raises:
            TypeError: ``data`` is not a str (nothing is sent).
            WebSocketStateError: The connection is not accepted yet, or the application
                closed it.
            WebSocketDisconnect: The client already disconnected, or the server's ``send``
                failed (code 1006).
        """
        message = text_message(self, data, "send_text")
        try:
            await self._send(message)
        except OSError:
            raise_from(self._send_failed(), None)

    async def send_bytes(self, data: _Bytes) -> None:
        """Send a binary frame.

        Args:
            data: The payload: bytes, bytearray or memoryview.

        Raises:
            TypeError: ``data`` is not bytes-like (nothing is sent).
            WebSocketStateError: The connection is not accepted yet, or the application
                closed it.
            WebSocketDisconnect: The client already disconnected, or the server's ``send``
                failed (code 1006).
        """
        message = bytes_message(self, data, "send_bytes")
        try:
            await self._send(message)
        except OSError:
            raise_from(self._send_failed(), None)

    async def send_json(self, data: Any, mode: Mode = "text") -> None:
        """Send ``data`` as compact JSON, in a text frame or (``mode="binary"``) a binary one.

        Anything msgspec encodes works (Structs, dataclasses, TypedDicts, datetimes, UUIDs...).
        TypeError naming the type if it cannot be encoded, ValueError for an unknown mode; in
        both cases nothing is sent.

        Args:
            data: Anything msgspec encodes (with the connection's :attr:`codec` hooks).
            mode: ``"text"`` (a text frame) or ``"binary"`` (UTF-8 JSON in a binary frame).

        Raises:
            TypeError: msgspec cannot encode ``data``.
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            WebSocketStateError: The connection is not accepted yet, or the application
                closed it.
            WebSocketDisconnect: The client already disconnected, or the server's ``send``
                failed (code 1006).
        """
        message = json_message(self, data, mode)
        try:
            await self._send(message)
        except OSError:
            raise_from(self._send_failed(), None)

    async def send_msgpack(self, data: Any) -> None:
        """Send ``data`` encoded as MessagePack in a binary frame.

        TypeError naming the type if it cannot be encoded; nothing is sent then.

        Args:
            data: Anything msgspec encodes (with the connection's :attr:`codec` hooks).

        Raises:
            TypeError: msgspec cannot encode ``data``.
            WebSocketStateError: The connection is not accepted yet, or the application
                closed it.
            WebSocketDisconnect: The client already disconnected, or the server's ``send``
                failed (code 1006).
        """
        message = msgpack_message(self, data)
        try:
            await self._send(message)
        except OSError:
            raise_from(self._send_failed(), None)

    # Two overloads rather than one union: the implementation takes ``object`` so that mypyc does
    # not reject a malformed event with its own TypeError before ours can name the problem.
    @overload
    async def send(self, message: SendEvent) -> None: ...
    @overload
    async def send(self, message: SendEventDict) -> None: ...
    async def send(self, message: object) -> None:
        """Send a raw ASGI event (a :mod:`typedws.events` Struct or a plain dict).

        The event is validated and must fit the connection's state: ProtocolError otherwise,
        naming the event and the field, and nothing is sent. Sending data after the client
        disconnected raises WebSocketDisconnect; a close then is a no-op.

        Args:
            message: A send event: ``websocket.accept``, ``websocket.send``,
                ``websocket.close``, ``websocket.http.response.start`` or
                ``websocket.http.response.body``, as a Struct or a dict.

        Raises:
            ProtocolError: The event is malformed or not allowed in the current state.
            ValueError: An accept event names a subprotocol the client did not offer.
            WebSocketDisconnect: A data event after the client disconnected, or the server's
                ``send`` failed (code 1006) for anything but a close.
        """
        wire = self._raw_message(message)
        if wire is None:
            return
        try:
            await self._send(wire)
        except OSError:
            error = self._send_failed()
            if wire["type"] == "websocket.close":
                # As in close(): the peer is already gone; the connection is closed either way.
                return
            raise_from(error, None)

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self) -> ReceiveEventDict:
        """Receive the next raw ASGI event, validated, as the plain dict the ASGI spec documents.

        Code written for Starlette's or Lilya's raw ``receive()`` runs unchanged
        (``message["type"]``, ``message.get("text")``, ``message["code"]``), and a type checker
        narrows the TypedDict union on ``message["type"]``. A data frame has both ``bytes`` and
        ``text`` keys (one None); a disconnect has ``code`` and ``reason``. A disconnect is
        returned, not raised. ProtocolError for a malformed or out-of-order event;
        WebSocketStateError if the client already disconnected. :meth:`receive_event` gives
        the same events as :mod:`typedws.events` Structs.

        Returns:
            The event as a ``websocket.connect``, ``websocket.receive`` or
            ``websocket.disconnect`` TypedDict.

        Raises:
            ProtocolError: The server's event is malformed or out of order.
            WebSocketStateError: The client already disconnected.
        """
        self._check_can_receive_raw()
        return self._server_message(await self._receive())

    async def receive_event(self) -> ReceiveEvent:
        """Receive the next raw ASGI event as a validated :mod:`typedws.events` Struct
        (``Connect``, ``Receive`` or ``Disconnect``), for ``match`` and ``isinstance``.

        The same checks and errors as :meth:`receive`; only the shape differs.

        Returns:
            A :class:`~typedws.events.Connect`, :class:`~typedws.events.Receive` or
            :class:`~typedws.events.Disconnect`.

        Raises:
            ProtocolError: The server's event is malformed or out of order.
            WebSocketStateError: The client already disconnected.
        """
        self._check_can_receive_raw()
        return self._server_event(await self._receive())

    async def receive_text(self) -> str:
        """Receive a text frame.

        PayloadError if a binary frame came (it is consumed; the connection stays usable),
        WebSocketDisconnect when the client disconnects.

        Returns:
            The frame's text.

        Raises:
            PayloadError: A binary frame came (``kind="frame"``).
            WebSocketDisconnect: The client disconnected.
            WebSocketStateError: The connection is not accepted yet, or the client already
                disconnected (a disconnect is raised once; receiving again is this error).
            ProtocolError: The server's event is malformed or out of order.
        """
        check_receive(self, "text")
        return text_frame(self, await self._receive())

    async def receive_bytes(self) -> bytes:
        """Receive a binary frame (PayloadError for a text frame, as in receive_text).

        Returns:
            The frame's payload.

        Raises:
            PayloadError: A text frame came (``kind="frame"``).
            WebSocketDisconnect: The client disconnected.
            WebSocketStateError: The connection is not accepted yet, or the client already
                disconnected.
            ProtocolError: The server's event is malformed or out of order.
        """
        check_receive(self, "binary")
        return bytes_frame(self, await self._receive())

    # Typing of ``type=``: the first overload (no type) gives Any. ``type[T]`` matches a class
    # for every type checker; ``TypeForm[T]`` (PEP 747) matches any other type expression --
    # ``Chat | Join``, ``list[int]``, ``Literal["a"]``, ``Chat | None`` -- and gives exactly
    # that type. Checkers without TypeForm support still type class arguments exactly.

    @overload
    async def receive_json(self, mode: Mode = "text", *, type: None = None) -> Any: ...
    @overload
    async def receive_json(self, mode: Mode = "text", *, type: type[T]) -> T: ...
    @overload
    async def receive_json(self, mode: Mode = "text", *, type: TypeForm[T]) -> T: ...
    async def receive_json(self, mode: Mode = "text", *, type: Any = None) -> Any:
        """Receive a JSON message, decoded into ``type`` if given (validated by msgspec).

        ``mode="binary"`` reads UTF-8 JSON from a binary frame. PayloadError, with msgspec's
        message and the path of the bad field, for invalid JSON, invalid UTF-8, the wrong frame
        kind or a value that does not match ``type``; the message is consumed and the
        connection stays usable. TypeError (before anything is received) if msgspec cannot
        decode into ``type``; ValueError for an unknown mode.

        Args:
            mode: ``"text"`` (a text frame) or ``"binary"`` (UTF-8 JSON in a binary frame).
            type: The type to decode into (a class or any type expression, such as
                ``Chat | Join``); None for plain JSON values.

        Returns:
            The decoded value: an instance of ``type`` (typed as such), or dicts, lists, str,
            int, float, bool and None without one.

        Raises:
            PayloadError: The frame kind is wrong (``kind="frame"``), the payload is not
                valid UTF-8 or Unicode (``"encoding"``), the JSON is invalid (``"syntax"``) or
                too deep (``"depth"``), or the value does not match ``type`` (``"schema"``,
                with ``path``).
            TypeError: msgspec cannot decode into ``type``.
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            WebSocketDisconnect: The client disconnected.
            WebSocketStateError: The connection is not accepted yet, or the client already
                disconnected.
            ProtocolError: The server's event is malformed or out of order.
        """
        decoder = json_decoder(self, mode, type)  # checks the mode
        return json_payload(self, await self._receive(), mode == "text", decoder)

    @overload
    async def receive_msgpack(self, *, type: None = None) -> Any: ...
    @overload
    async def receive_msgpack(self, *, type: type[T]) -> T: ...
    @overload
    async def receive_msgpack(self, *, type: TypeForm[T]) -> T: ...
    async def receive_msgpack(self, *, type: Any = None) -> Any:
        """Receive a MessagePack binary frame, decoded into ``type`` if given.

        PayloadError (as in :meth:`receive_json`) for a text frame, bad MessagePack or a value
        that does not match ``type``; TypeError if msgspec cannot decode into ``type``.

        Args:
            type: The type to decode into (a class or any type expression); None for plain
                MessagePack values.

        Returns:
            The decoded value: an instance of ``type`` (typed as such), or plain values without
            one.

        Raises:
            PayloadError: A text frame came (``kind="frame"``), the MessagePack is invalid
                (``"syntax"``), holds a string that is not UTF-8 (``"encoding"``) or is too
                deep (``"depth"``), or the value does not match ``type`` (``"schema"``, with
                ``path``).
            TypeError: msgspec cannot decode into ``type``.
            WebSocketDisconnect: The client disconnected.
            WebSocketStateError: The connection is not accepted yet, or the client already
                disconnected.
            ProtocolError: The server's event is malformed or out of order.
        """
        decoder = msgpack_decoder(self, type)
        return msgpack_payload(self, await self._receive(), decoder)

    # --- iterating ---------------------------------------------------------------------------

    def iter_text(self) -> TextIterator:
        """Iterate over text frames until the client disconnects.

        The loop ends (StopAsyncIteration) at the disconnect; each step raises what
        :meth:`receive_text` raises otherwise (PayloadError for a binary frame).

        Returns:
            An async iterator of the frames' text.
        """
        return TextIterator(self)

    def iter_bytes(self) -> BytesIterator:
        """Iterate over binary frames until the client disconnects.

        The loop ends (StopAsyncIteration) at the disconnect; each step raises what
        :meth:`receive_bytes` raises otherwise (PayloadError for a text frame).

        Returns:
            An async iterator of the frames' payloads.
        """
        return BytesIterator(self)

    @overload
    def iter_json(self, mode: Mode = "text", *, type: None = None) -> JSONIterator[Any]: ...
    @overload
    def iter_json(self, mode: Mode = "text", *, type: type[T]) -> JSONIterator[T]: ...
    @overload
    def iter_json(self, mode: Mode = "text", *, type: TypeForm[T]) -> JSONIterator[T]: ...
    def iter_json(self, mode: Mode = "text", *, type: Any = None) -> JSONIterator[Any]:
        """Iterate over JSON messages (decoded into ``type`` if given) until the client
        disconnects. A bad message raises PayloadError out of the loop; it is not skipped.

        ValueError for an unknown mode and TypeError for an unusable ``type``, both raised here
        rather than at the first message.

        Args:
            mode: ``"text"`` (text frames) or ``"binary"`` (UTF-8 JSON in binary frames).
            type: The type to decode into, as in :meth:`receive_json`; None for plain values.

        Returns:
            An async iterator of decoded values (of ``type`` when given); each step raises
            what :meth:`receive_json` raises, except that the disconnect ends the loop.

        Raises:
            ValueError: ``mode`` is neither ``"text"`` nor ``"binary"``.
            TypeError: msgspec cannot decode into ``type``.
        """
        if mode != "text" and mode != "binary":
            raise ValueError(mode_problem(mode))
        self._codec.json_decoder(type)
        return JSONIterator(self, mode, type)

    @overload
    def iter_msgpack(self, *, type: None = None) -> MsgpackIterator[Any]: ...
    @overload
    def iter_msgpack(self, *, type: type[T]) -> MsgpackIterator[T]: ...
    @overload
    def iter_msgpack(self, *, type: TypeForm[T]) -> MsgpackIterator[T]: ...
    def iter_msgpack(self, *, type: Any = None) -> MsgpackIterator[Any]:
        """Iterate over MessagePack messages until the client disconnects (PayloadError and
        TypeError as in :meth:`iter_json`).

        Args:
            type: The type to decode into, as in :meth:`receive_msgpack`; None for plain
                values.

        Returns:
            An async iterator of decoded values (of ``type`` when given); each step raises
            what :meth:`receive_msgpack` raises, except that the disconnect ends the loop.

        Raises:
            TypeError: msgspec cannot decode into ``type``.
        """
        self._codec.msgpack_decoder(type)
        return MsgpackIterator(self, type)


#: The C size of a WebSocket. A subclass is never smaller, unless a user's mypyc compiled it as
#: a native class: mypyc lays such a class out without the fields of a base compiled in another
#: extension module, and writing them would corrupt memory (README, "Compiling your own code
#: with mypyc").
_WEBSOCKET_SIZE: Final = WebSocket.__basicsize__


def native_subclass_problem(cls: type) -> str:
    """The TypeError message for a mypyc-native subclass of WebSocket (see _WEBSOCKET_SIZE)."""
    return (
        f"{cls.__module__}.{cls.__qualname__} was compiled by mypyc as a native subclass of "
        "typedws.WebSocket, which mypyc lays out without WebSocket's own fields (they live in "
        "another extension module): using it would crash the interpreter. Mark the class "
        "@mypyc_attr(native_class=False) (from mypy_extensions), or define it in a module "
        "that is not compiled"
    )


# The iterators are native classes with __anext__: mypyc cannot compile async generators
# (docs/architecture.md, "mypyc facts"), and a class needs no aclose() to be cleaned up
# promptly. They turn the end of the connection into StopAsyncIteration, and call the public
# receive_* methods so that a subclass overriding those is honoured.


class TextIterator:
    """``async for text in ws.iter_text()``: text frames until the client disconnects."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    def __aiter__(self) -> TextIterator:
        return self

    async def __anext__(self) -> str:
        if client_ended(self._websocket._client_state):
            raise StopAsyncIteration
        try:
            return await self._websocket.receive_text()
        except WebSocketDisconnect:
            raise_from(StopAsyncIteration(), None)


class BytesIterator:
    """``async for data in ws.iter_bytes()``: binary frames until the client disconnects."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    def __aiter__(self) -> BytesIterator:
        return self

    async def __anext__(self) -> bytes:
        if client_ended(self._websocket._client_state):
            raise StopAsyncIteration
        try:
            return await self._websocket.receive_bytes()
        except WebSocketDisconnect:
            raise_from(StopAsyncIteration(), None)


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
        if client_ended(websocket._client_state):
            raise StopAsyncIteration
        try:
            result: T = await websocket.receive_json(self._mode, type=self._target)
        except WebSocketDisconnect:
            raise_from(StopAsyncIteration(), None)
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
        if client_ended(websocket._client_state):
            raise StopAsyncIteration
        try:
            result: T = await websocket.receive_msgpack(type=self._target)
        except WebSocketDisconnect:
            raise_from(StopAsyncIteration(), None)
        return result
