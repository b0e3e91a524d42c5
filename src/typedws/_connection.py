"""The synchronous half of a connection: its state, and the checks on each side of an await.

``Connection`` is a mypyc native class on top of the scope view (``ScopeView``, in
_datastructures.py: the mapping over the scope and the connection data parsed from it). It owns
the two state numbers and their only writers, the close code and reason, and every decision: is
this call allowed now, is this event well formed, what event do we send. It never awaits;
``WebSocket`` (_websocket.py) calls one method or function here before each ``await`` of the
server and one after. Compiled synchronous code is where mypyc pays (docs/architecture.md).

The rules themselves live in _state.py (which move is legal) and _validate.py (what a
well-formed event is); this module applies them to one connection.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import msgspec

from typedws._codecs import DEFAULT_CODEC, Codec, decode_json, decode_msgpack
from typedws._compat import mypyc_attr
from typedws._datastructures import ScopeView
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
    LOST,
    RECEIVE,
    RESPONSE,
    RESPONSE_BODY,
    RESPONSE_BODY_MORE,
    RESPONSE_START,
    SEND,
    STATES,
    TRANSPORT_LOST,
    WebSocketState,
    app_ended,
    app_state_problem,
    client_ended,
    client_state_problem,
    next_app_state,
    next_client_state,
    receive_allowed,
    send_allowed,
    state_name,
)
from typedws._validate import (
    app_event,
    close_code_problem,
    close_reason_problem,
    data_frame,
    disconnect_fields,
    header_pairs,
    int_code,
    server_event,
)
from typedws.events import Connect, Disconnect, Receive, ReceiveEvent, ReceiveEventDict, Send
from typedws.types import Scope

__all__ = [
    "Connection",
    "bytes_frame",
    "bytes_message",
    "check_receive",
    "json_decoder",
    "json_message",
    "json_payload",
    "msgpack_decoder",
    "msgpack_message",
    "msgpack_payload",
    "text_frame",
    "text_message",
]

logger: Final = logging.getLogger("typedws")

#: Fields left out for older servers; each is logged once per process.
_downgrade_logged: set[str] = set()

# The Struct classes of the raw fast paths, bound once as Final names: compiled code keeps those
# in C statics, where a name imported from an interpreted module is looked up in the module's
# globals dict on every use.
_RECEIVE_STRUCT: Final = Receive
_SEND_STRUCT: Final = Send

# ``dict`` itself, typed as the event dicts of ASGI (str keys): the fast paths test
# ``type(message) is _EVENT_DICT``, the same pointer compare as ``is dict``, which both checkers
# narrow to ``dict[str, object]`` (pyright narrows ``is dict`` on an ``object`` to
# ``dict[Unknown, Unknown]``, which its strict mode reports at every read).
_EVENT_DICT: Final[type[dict[str, object]]] = dict

#: The close code of a connection lost without a close frame (RFC 6455 section 7.1.5).
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


def _version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def mode_problem(mode: object) -> str:
    """The error message for a JSON mode that is neither "text" nor "binary"."""
    return f"mode must be 'text' or 'binary', got {mode!r}"


@mypyc_attr(allow_interpreted_subclasses=True)
class Connection(ScopeView):
    """State and synchronous checks of one ASGI websocket connection (see module docstring).

    The read-only view of the scope (the mapping, ``url``, ``headers``...) is the base class,
    :class:`typedws._datastructures.ScopeView`. Raises ValueError if ``scope["type"]`` is not
    ``"websocket"``, TypeError if ``codec`` is neither a Codec nor None.
    """

    def __init__(self, scope: Scope, codec: Codec | None = None) -> None:
        super().__init__(scope)
        self._client_state = CONNECTING
        self._app_state = CONNECTING
        self._close_code: int | None = None
        self._close_reason: str | None = None
        if codec is None:
            codec = DEFAULT_CODEC
        elif not isinstance(codec, Codec):  # checked at run time: callers may be untyped
            raise TypeError(f"codec must be a typedws.Codec or None, got {type(codec).__name__}")
        self._codec: Codec = codec

    # --- state -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} path={self.scope.get('path')!r} "
            f"client={state_name(self._client_state)} "
            f"application={state_name(self._app_state)}>"
        )

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
    def codec(self) -> Codec:
        """The :class:`Codec` (msgspec hooks, decoder cache) of the JSON and MessagePack calls."""
        return self._codec

    def _spec_below(self, minor: int) -> bool:
        """Whether the server *declares* a spec version below 2.``minor``: only then is a
        field it cannot read left out. A server that declares none (daphne; the test clients
        of Starlette, Lilya and Litestar) gets every field, as Starlette and Lilya send them:
        servers ignore keys they do not know (int compares, not tuples)."""
        declared = self._declared_spec()
        if declared is None:
            return False
        major, server_minor = declared
        return major < 2 or (major == 2 and server_minor < minor)

    # --- synchronous halves: checks before, and after, each await ---------------------------

    def _record_close(self, code: int, reason: str | None) -> None:
        if self._close_code is None:
            self._close_code = code
            self._close_reason = reason if reason is not None else ""

    # The two writers of the state: every change of either side goes through one of them, and
    # each looks the move up in _state.py's tables (h11's rule: one table, one writer).

    def _move_client(self, event_type: str) -> None:
        """Move the client side on ``event_type``; ProtocolError if the table forbids it."""
        next_state = next_client_state(self._client_state, self._app_state, event_type)
        if next_state < 0:
            raise ProtocolError(
                client_state_problem(self._client_state, self._app_state, event_type)
            )
        self._client_state = next_state

    def _move_app(self, event_type: str, error: type[Exception]) -> None:
        """Move the application side on ``event_type``; ``error`` if the table forbids it."""
        next_state = next_app_state(self._app_state, event_type)
        if next_state < 0:
            raise error(app_state_problem(self._app_state, event_type))
        self._app_state = next_state

    def _send_failed(self) -> WebSocketDisconnect:
        """The one path of an OSError from the server's ``send``: the peer is gone without a
        close frame (ASGI spec). Both sides take the TRANSPORT_LOST move (legal in every
        state); the caller raises the returned error, or (for a close) drops it."""
        self._move_app(TRANSPORT_LOST, ProtocolError)
        self._move_client(TRANSPORT_LOST)
        self._record_close(_CONNECTION_LOST, "")
        return WebSocketDisconnect(_CONNECTION_LOST, "")

    def _check_send(self) -> None:
        """Raise unless a data frame may be sent now; the state itself does not change."""
        # Fast path, once per message: the table folded into send_allowed (see _state.py).
        if send_allowed(self._app_state) and self._client_state == CONNECTED:
            return
        if self._app_state == LOST:
            raise WebSocketDisconnect(self._close_code or 1006, self._close_reason or "")
        if next_app_state(self._app_state, SEND) < 0:
            if self._app_state == CONNECTING:
                raise WebSocketStateError(
                    "cannot send before the connection is accepted; call accept() first"
                )
            raise WebSocketStateError(app_state_problem(self._app_state, SEND))
        if client_ended(self._client_state):
            raise WebSocketDisconnect(self._close_code or 1005, self._close_reason or "")

    def _frame(self, message: object) -> str | bytes:
        """Check an event that must be a data frame or a disconnect; return the payload.

        A disconnect moves the client side to DISCONNECTED and raises WebSocketDisconnect;
        anything else that may not come now raises ProtocolError.
        """
        # Fast path for the common case, a data frame as servers build it (a plain dict): the
        # type and the state are checked here, the fields by data_frame. Anything else takes
        # the general path below, which checks the same and explains what is wrong. (The event
        # type is narrowed to str before the compare: compiled, that is mypyc's string equality,
        # an identity test first -- servers write interned literals -- not a rich compare.)
        if type(message) is _EVENT_DICT:
            kind: object = message.get("type")
            if (
                type(kind) is str
                and kind == RECEIVE
                and receive_allowed(self._client_state, self._app_state)
            ):
                return data_frame(message, RECEIVE)
        event_type, event = server_event(message)
        if event_type == RECEIVE:
            self._move_client(RECEIVE)
            return data_frame(event, RECEIVE)
        if event_type != DISCONNECT:
            raise ProtocolError(
                client_state_problem(self._client_state, self._app_state, event_type)
            )
        raise self._disconnected(event)

    def _disconnected(self, event: dict[str, object]) -> WebSocketDisconnect:
        """Take a websocket.disconnect: move the client side, keep the first close code, and
        return the error that reports it."""
        code, reason = disconnect_fields(event)
        self._move_client(DISCONNECT)
        self._record_close(code, reason)
        return WebSocketDisconnect(code, reason)

    def _server_event(self, message: object) -> ReceiveEvent:
        """Check any event from the server for the raw ``receive``; return its Struct."""
        # Fast path: a data frame in a plain dict while data may flow (the state does not
        # change); the general path below checks the same and explains a refusal.
        if type(message) is _EVENT_DICT:
            kind: object = message.get("type")  # narrowed before the compare: see _frame
            if (
                type(kind) is str
                and kind == RECEIVE
                and receive_allowed(self._client_state, self._app_state)
            ):
                frame = data_frame(message, RECEIVE)
                # Positional (bytes, text): msgspec then skips matching keyword names.
                return (
                    _RECEIVE_STRUCT(None, frame)
                    if isinstance(frame, str)
                    else _RECEIVE_STRUCT(frame)
                )
        event_type, event = server_event(message)
        if event_type == RECEIVE:
            self._move_client(RECEIVE)
            frame = data_frame(event, RECEIVE)
            return Receive(None, frame) if isinstance(frame, str) else Receive(frame)
        if event_type == DISCONNECT:
            error = self._disconnected(event)
            return Disconnect(error.code, error.reason)
        self._move_client(CONNECT)
        return Connect()

    def _server_message(self, message: object) -> ReceiveEventDict:
        """Check any event from the server for the raw ``receive``; return it as the plain ASGI
        dict (a new one: ``{"type": "websocket.receive", "bytes": None, "text": "hi"}``, both
        data keys present, as the spec allows, so that ``message["text"]`` and
        ``message["bytes"]`` both work; a disconnect always has its ``code`` and ``reason``)."""
        # Fast path: a data frame in a plain dict while data may flow (as in _server_event).
        if type(message) is _EVENT_DICT:
            kind: object = message.get("type")  # narrowed before the compare: see _frame
            if (
                type(kind) is str
                and kind == RECEIVE
                and receive_allowed(self._client_state, self._app_state)
            ):
                frame = data_frame(message, RECEIVE)
                if isinstance(frame, str):
                    return {"type": "websocket.receive", "bytes": None, "text": frame}
                return {"type": "websocket.receive", "bytes": frame, "text": None}
        event = self._server_event(message)
        if isinstance(event, Receive):
            return {"type": "websocket.receive", "bytes": event.bytes, "text": event.text}
        if isinstance(event, Disconnect):
            return {"type": "websocket.disconnect", "code": event.code, "reason": event.reason}
        return {"type": "websocket.connect"}

    def _handshake(self, message: object) -> None:
        """Check the event that opens the connection: it must be ``websocket.connect`` (or a
        disconnect: the client left first, raised as WebSocketDisconnect)."""
        event_type, event = server_event(message)
        if event_type == DISCONNECT:
            raise self._disconnected(event)
        if event_type != CONNECT:
            raise ProtocolError(
                client_state_problem(self._client_state, self._app_state, event_type)
            )
        self._move_client(CONNECT)

    def _advance_app(self, event_type: str, error: type[Exception]) -> None:
        """Move the application side for an event about to be sent, or raise: ``error`` if
        the state forbids it, WebSocketDisconnect if the client is already gone."""
        if next_app_state(self._app_state, event_type) < 0:
            raise error(app_state_problem(self._app_state, event_type))
        if client_ended(self._client_state) and event_type != CLOSE:
            # Nothing but a (no-op) close goes out once the client is gone: a server would
            # raise OSError (ASGI spec); report the disconnect already seen instead.
            raise WebSocketDisconnect(self._close_code or 1005, self._close_reason or "")
        self._move_app(event_type, error)

    def _accept_message(self, subprotocol: object, headers: object) -> dict[str, object]:
        if next_app_state(self._app_state, ACCEPT) < 0:
            raise WebSocketStateError(app_state_problem(self._app_state, ACCEPT))
        if subprotocol is not None:
            if not isinstance(subprotocol, str):
                raise TypeError(
                    f"subprotocol must be a str or None, got {type(subprotocol).__name__}"
                )
            self._check_offered(subprotocol, "accept()")
        message: dict[str, object] = {"type": ACCEPT, "subprotocol": subprotocol}
        pairs = header_pairs(headers)
        if pairs:
            if not self._spec_below(1):
                message["headers"] = pairs
            else:
                _log_downgrade_once("accept headers", "2.1", _version_text(self.spec_version))
        return message

    def _check_offered(self, subprotocol: object, where: str) -> None:
        """ValueError unless the client offered ``subprotocol`` (RFC 6455 section 4.2.2: the
        server picks one of the client's). The same error from accept() and from a raw accept
        event: the event is well formed, the value is wrong for this client."""
        offered = self.subprotocols
        if subprotocol not in offered:
            raise ValueError(
                f"{where}: subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {offered!r})"
            )

    def denial_problem(self) -> str | None:
        """Why a denial response cannot be sent through this server, or None if it can.

        Returns:
            None if the scope's ``extensions`` has ``websocket.http.response``; else the
            message :meth:`~typedws.WebSocket.send_denial_response` raises.
        """
        if "websocket.http.response" in (self.scope.get("extensions") or {}):
            return None
        return (
            "the ASGI server does not support denial responses "
            "(no 'websocket.http.response' in scope['extensions']); use close() to reject"
        )

    def _close_message(self, code: object, reason: object) -> dict[str, object] | None:
        """Build the close event, or None when closing is a no-op (already closed / gone)."""
        problem = close_code_problem(code) or close_reason_problem(reason)
        if problem:
            raise ValueError(problem)
        if app_ended(self._app_state) or client_ended(self._client_state):
            return None
        # Checked above: an int (a plain one on the wire, also for an IntEnum) and a str or None.
        value = int_code(code)
        assert value is not None
        text = reason if isinstance(reason, str) else None
        self._move_app(CLOSE, WebSocketStateError)  # refused during a denial response
        self._record_close(value, text)
        message: dict[str, object] = {"type": CLOSE, "code": value}
        if text:
            if not self._spec_below(3):
                message["reason"] = text
            else:
                _log_downgrade_once("a close reason", "2.3", _version_text(self.spec_version))
        return message

    def _raw_message(self, message: object) -> dict[str, object] | None:
        """Check an event for the raw ``send`` and advance the state; None means skip it
        (a close after the connection already ended, which is a no-op)."""
        # Fast path, for data frames while data may flow: a ``websocket.send`` dict or Send
        # Struct with exactly one of text (a str) and bytes (bytes) set. Anything else (and
        # every refusal) takes the general path, which checks the same and explains.
        if send_allowed(self._app_state) and self._client_state == CONNECTED:
            if type(message) is _EVENT_DICT:
                kind: object = message.get("type")  # narrowed before the compare: see _frame
                if type(kind) is str and kind == SEND:
                    text = message.get("text")
                    data = message.get("bytes")
                    if data is None and type(text) is str:
                        return {"type": SEND, "text": text}
                    if text is None and type(data) is bytes:
                        return {"type": SEND, "bytes": data}
            elif type(message) is _SEND_STRUCT:
                # getattr, not .text: compiled code would check the annotation itself (see
                # _validate._struct_event); a malformed Struct goes on to the general path.
                text = getattr(message, "text")  # noqa: B009
                data = getattr(message, "bytes")  # noqa: B009
                if data is None and type(text) is str:
                    return {"type": SEND, "text": text}
                if text is None and type(data) is bytes:
                    return {"type": SEND, "bytes": data}
        event_type, wire = app_event(message)
        if event_type == SEND:
            self._check_send_raw()
            return wire
        if event_type == CLOSE:
            if app_ended(self._app_state) or client_ended(self._client_state):
                return None
            self._advance_app(CLOSE, ProtocolError)
            code = wire["code"]
            reason = wire["reason"]
            self._record_close(
                code if isinstance(code, int) else 1000, reason if isinstance(reason, str) else None
            )
            if reason is None or self._spec_below(3):
                del wire["reason"]
            return wire
        if event_type == ACCEPT:
            subprotocol = wire["subprotocol"]
            if subprotocol is not None:
                self._check_offered(subprotocol, "websocket.accept event")
            if self._client_state == CONNECTING:
                raise ProtocolError(
                    "websocket.accept event: the server has not delivered websocket.connect yet; "
                    "receive it first"
                )
            self._advance_app(ACCEPT, ProtocolError)
            if self._spec_below(1):
                # Not even an empty list: the field does not exist before spec 2.1.
                if wire["headers"]:
                    _log_downgrade_once("accept headers", "2.1", _version_text(self.spec_version))
                del wire["headers"]
            return wire
        if event_type == RESPONSE_START:
            problem = self.denial_problem()
            if problem is not None:
                raise ProtocolError(f"websocket.http.response.start event: {problem}")
        if event_type == RESPONSE_BODY and wire["more_body"] is True:
            self._advance_app(RESPONSE_BODY_MORE, ProtocolError)
        else:
            self._advance_app(event_type, ProtocolError)
        return wire

    def _check_send_raw(self) -> None:
        if self._app_state == LOST:
            raise WebSocketDisconnect(self._close_code or 1006, self._close_reason or "")
        if next_app_state(self._app_state, SEND) < 0:
            raise ProtocolError(app_state_problem(self._app_state, SEND))
        if client_ended(self._client_state):
            raise WebSocketDisconnect(self._close_code or 1005, self._close_reason or "")

    def _check_can_receive_raw(self) -> None:
        if client_ended(self._client_state):
            raise WebSocketStateError(
                f"cannot receive: the client already disconnected (code {self._close_code})"
            )


# --- the per-message halves, as module functions ----------------------------------------------
#
# What each data send and receive runs before and after its await. They are functions of the
# connection rather than methods for speed: Connection allows interpreted subclasses, so mypyc
# calls its methods through the vtable, while a call to a module function is a direct C call that
# the C compiler can inline into the caller (measured: `nox -s bench`, layer and typed decode).
# Arguments that come straight from the application are typed ``object``: mypyc enforces
# annotations with its own messages ("int object expected; got str") and turns True into 1, so
# the compiled build would disagree with the pure one. Each function checks its arguments itself
# and names the problem.


def text_message(conn: Connection, data: object, method: str) -> dict[str, object]:
    """Check, then build the event of a text frame (TypeError if ``data`` is not a str)."""
    if type(data) is not str and not isinstance(data, str):
        raise TypeError(f"{method}() takes str, got {type(data).__name__}")
    conn._check_send()
    return {"type": SEND, "text": data}


def bytes_message(conn: Connection, data: object, method: str) -> dict[str, object]:
    """Check, then build the event of a binary frame (TypeError if ``data`` is not bytes-like)."""
    if type(data) is bytes:
        payload: bytes = data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        # pyright narrows to memoryview[Unknown] here (isinstance drops the type argument's
        # default), and every form that it narrows to memoryview[int] costs a second check or a
        # cast() call per message; the argument is fine for bytes() whatever the item type.
        payload = bytes(data)  # pyright: ignore[reportUnknownArgumentType]
    else:
        raise TypeError(
            f"{method}() takes bytes, bytearray or memoryview, got {type(data).__name__}"
        )
    conn._check_send()
    return {"type": SEND, "bytes": payload}


def _mode_value(mode: object) -> str:
    """The slow path of a JSON mode check: "text" or "binary" for anything equal to one of them
    (a str enum, say); ValueError otherwise."""
    if mode == "text":
        return "text"
    if mode == "binary":
        return "binary"
    raise ValueError(mode_problem(mode))


def json_message(conn: Connection, data: object, mode: object) -> dict[str, object]:
    """Check, then encode: a bad mode, state or object raises before anything is sent."""
    # An exact str is compared as one (see Connection._frame); anything else takes the slow path.
    if not (type(mode) is str and (mode == "text" or mode == "binary")):
        mode = _mode_value(mode)
    if not (send_allowed(conn._app_state) and conn._client_state == CONNECTED):
        conn._check_send()  # raises, explaining the refusal
    encoded = conn._codec.encode_json(data)
    if mode == "text":
        # msgspec writes UTF-8 (it refuses lone surrogates), so this cannot fail.
        return {"type": SEND, "text": encoded.decode("utf-8")}
    return {"type": SEND, "bytes": encoded}


def msgpack_message(conn: Connection, data: object) -> dict[str, object]:
    """Check the state, then encode: nothing is sent if either fails."""
    conn._check_send()
    return {"type": SEND, "bytes": conn._codec.encode_msgpack(data)}


def json_decoder(conn: Connection, mode: object, target: object) -> msgspec.json.Decoder[Any]:
    """Before a JSON receive: check the state and mode and get the (cached) decoder, so
    that an unusable ``type`` raises TypeError before a message is consumed."""
    if not (
        type(mode) is str
        and (mode == "text" or mode == "binary")
        and receive_allowed(conn._client_state, conn._app_state)
    ):
        check_receive(conn, mode)  # raises, explaining the refusal
    return conn._codec.json_decoder(target)


def msgpack_decoder(conn: Connection, target: object) -> msgspec.msgpack.Decoder[Any]:
    """Before a MessagePack receive: as :func:`json_decoder`."""
    check_receive(conn, "binary")
    return conn._codec.msgpack_decoder(target)


def check_receive(conn: Connection, mode: object) -> None:
    """Raise unless a data frame may be received now (and ``mode`` is valid)."""
    if (mode == "text" or mode == "binary") and receive_allowed(
        conn._client_state, conn._app_state
    ):
        return  # the per-message fast path; the checks below explain a refusal
    if mode != "text" and mode != "binary":
        raise ValueError(mode_problem(mode))
    if conn._app_state == CONNECTING or conn._app_state == RESPONSE:
        raise WebSocketStateError(
            "cannot receive data before the connection is accepted; call accept() first "
            f"(application side is {state_name(conn._app_state)})"
        )
    if conn._client_state != CONNECTED:
        raise WebSocketStateError(
            f"cannot receive: the client side is {state_name(conn._client_state)}"
            + (" (the client already disconnected)" if client_ended(conn._client_state) else "")
        )


def text_frame(conn: Connection, message: object) -> str:
    """After a receive_text: the text of a checked data frame (PayloadError for binary)."""
    frame = conn._frame(message)
    if isinstance(frame, str):
        return frame
    raise PayloadError("expected a text frame, got a binary frame", frame, kind="frame")


def bytes_frame(conn: Connection, message: object) -> bytes:
    """After a receive_bytes: the bytes of a checked data frame (PayloadError for text)."""
    frame = conn._frame(message)
    if isinstance(frame, bytes):
        return frame
    raise PayloadError("expected a binary frame, got a text frame", frame, kind="frame")


def json_payload(
    conn: Connection, message: object, text_mode: bool, decoder: msgspec.json.Decoder[Any]
) -> Any:
    """After a JSON receive: check the event and the frame kind (text or binary, as
    ``text_mode`` says), then decode."""
    # Fast path, once per message: a well-formed data frame of the asked kind in a plain
    # dict, the event and state checks of _frame and data_frame written out inline (one
    # native call instead of three). Anything else takes the general path below, which
    # checks the same and raises the explaining error.
    if type(message) is _EVENT_DICT:
        kind: object = message.get("type")  # narrowed before the compare: see Connection._frame
        if (
            type(kind) is str
            and kind == RECEIVE
            and receive_allowed(conn._client_state, conn._app_state)
        ):
            text = message.get("text")
            data = message.get("bytes")
            if text_mode:
                if type(text) is str and data is None:
                    return decode_json(decoder, text)
            elif type(data) is bytes and text is None:
                return decode_json(decoder, data)
    frame = conn._frame(message)
    if text_mode:
        if isinstance(frame, str):
            return decode_json(decoder, frame)
        problem = "expected JSON in a text frame, got a binary frame (use mode='binary')"
        raise PayloadError(problem, frame, kind="frame")
    if isinstance(frame, bytes):
        return decode_json(decoder, frame)
    raise PayloadError(
        "expected JSON in a binary frame, got a text frame (use mode='text')", frame, kind="frame"
    )


def msgpack_payload(
    conn: Connection, message: object, decoder: msgspec.msgpack.Decoder[Any]
) -> Any:
    """After a MessagePack receive: check the event and the frame kind, then decode."""
    frame = conn._frame(message)
    if isinstance(frame, bytes):
        return decode_msgpack(decoder, frame)
    problem = "expected MessagePack in a binary frame, got a text frame"
    raise PayloadError(problem, frame, kind="frame")
