"""Typed schemas for every ASGI websocket event (ASGI spec 2.4).

Each event has two shapes:

* a frozen :class:`msgspec.Struct` tagged on ``"type"`` (``Connect``, ``Receive``...): what
  ``WebSocket.receive()`` returns and what ``WebSocket.send()`` accepts; ``match`` on them, or use
  ``isinstance``;
* a :class:`typing.TypedDict` for the wire dict (``ConnectMessage``, ``ReceiveMessage``...): what an
  ASGI server actually exchanges, also accepted by ``WebSocket.send()``.

``ReceiveEvent`` is what a server may send the application, ``SendEvent`` what the application may
send the server. ``msgspec.convert(message, ReceiveEvent)`` turns a wire dict into a Struct; typedws
itself validates with hand-written checks in :mod:`typedws._validate` (compiled), which the tests
hold to the same rules as these schemas. Unknown extra keys from a newer server are ignored.

This module is not compiled: mypyc cannot compile ``msgspec.Struct`` subclasses (their metaclass
and class keywords), see docs/architecture.md, "mypyc facts".
"""

from __future__ import annotations

import builtins
from typing import Literal, TypeAlias, TypedDict

import msgspec

__all__ = [
    "Accept",
    "AcceptMessage",
    "Close",
    "CloseMessage",
    "Connect",
    "ConnectMessage",
    "Disconnect",
    "DisconnectMessage",
    "Receive",
    "ReceiveEvent",
    "ReceiveEventDict",
    "ReceiveMessage",
    "ResponseBody",
    "ResponseBodyMessage",
    "ResponseStart",
    "ResponseStartMessage",
    "Send",
    "SendEvent",
    "SendEventDict",
    "SendMessage",
]

# --- server -> application --------------------------------------------------------------------


class Connect(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.connect"):
    """The client asked to open a WebSocket; the application answers with Accept or Close."""


class Receive(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.receive"):
    """A data frame from the client: exactly one of ``bytes`` (binary) or ``text`` is set."""

    # A field named ``bytes`` shadows the builtin inside the class body: annotate via builtins.
    #: The payload of a binary frame; None for a text frame.
    bytes: builtins.bytes | None = None
    #: The text of a text frame; None for a binary frame.
    text: str | None = None


class Disconnect(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.disconnect"):
    """The connection is gone. ``code`` 1005 means the client sent no code, 1006 no close frame."""

    #: The close code (1005: the client gave none; 1006: no close frame).
    code: int = 1005
    #: The close reason, possibly empty.
    reason: str = ""


# --- application -> server --------------------------------------------------------------------


class Accept(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.accept"):
    """Accept the handshake, optionally choosing one of the offered subprotocols."""

    #: The chosen subprotocol, one the client offered; None for none.
    subprotocol: str | None = None
    #: Extra response headers as ``(name, value)`` byte pairs.
    headers: list[tuple[builtins.bytes, builtins.bytes]] = []


class Send(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.send"):
    """A data frame to the client: exactly one of ``bytes`` (binary) or ``text`` is set."""

    #: The payload of a binary frame; None for a text frame.
    bytes: builtins.bytes | None = None
    #: The text of a text frame; None for a binary frame.
    text: str | None = None


class Close(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.close"):
    """Close the connection; before Accept it rejects the handshake (the server answers 403)."""

    #: The close code (RFC 6455 section 7.4); 1000 is a normal closure.
    code: int = 1000
    #: The close reason (at most 123 UTF-8 bytes); None for none.
    reason: str | None = None


class ResponseStart(
    msgspec.Struct, frozen=True, tag_field="type", tag="websocket.http.response.start"
):
    """Start an HTTP denial response instead of accepting (needs the server's
    ``websocket.http.response`` extension)."""

    #: The HTTP status code.
    status: int
    #: The response headers as ``(name, value)`` byte pairs.
    headers: list[tuple[builtins.bytes, builtins.bytes]] = []


class ResponseBody(
    msgspec.Struct, frozen=True, tag_field="type", tag="websocket.http.response.body"
):
    """A chunk of the denial response body; ``more_body=False`` ends the response."""

    #: This chunk of the body.
    body: builtins.bytes = b""
    #: True if more chunks follow; False ends the response.
    more_body: bool = False


#: Everything a server may send the application.
ReceiveEvent: TypeAlias = Connect | Receive | Disconnect
#: Everything the application may send the server.
SendEvent: TypeAlias = Accept | Send | Close | ResponseStart | ResponseBody


# --- the same events as wire dicts -------------------------------------------------------------


class ConnectMessage(TypedDict):
    """The wire dict of :class:`Connect`: ``{"type": "websocket.connect"}``."""

    #: Always ``"websocket.connect"``.
    type: Literal["websocket.connect"]


class _ReceiveRequired(TypedDict):
    type: Literal["websocket.receive"]


class ReceiveMessage(_ReceiveRequired, total=False):
    """The wire dict of :class:`Receive`; ``type`` (required) is ``"websocket.receive"``."""

    #: The payload of a binary frame; None or absent for a text frame.
    bytes: builtins.bytes | None
    #: The text of a text frame; None or absent for a binary frame.
    text: str | None


class _DisconnectRequired(TypedDict):
    type: Literal["websocket.disconnect"]


class DisconnectMessage(_DisconnectRequired, total=False):
    """The wire dict of :class:`Disconnect`; ``type`` (required) is ``"websocket.disconnect"``."""

    #: The close code; absent means 1005.
    code: int
    #: The close reason (ASGI spec 2.3); absent means empty.
    reason: str


class _AcceptRequired(TypedDict):
    type: Literal["websocket.accept"]


class AcceptMessage(_AcceptRequired, total=False):
    """The wire dict of :class:`Accept`; ``type`` (required) is ``"websocket.accept"``."""

    #: The chosen subprotocol, one the client offered; None or absent for none.
    subprotocol: str | None
    #: Extra response headers as ``(name, value)`` byte pairs (ASGI spec 2.1).
    headers: list[tuple[builtins.bytes, builtins.bytes]]


class _SendRequired(TypedDict):
    type: Literal["websocket.send"]


class SendMessage(_SendRequired, total=False):
    """The wire dict of :class:`Send`; ``type`` (required) is ``"websocket.send"``."""

    #: The payload of a binary frame; None or absent for a text frame.
    bytes: builtins.bytes | None
    #: The text of a text frame; None or absent for a binary frame.
    text: str | None


class _CloseRequired(TypedDict):
    type: Literal["websocket.close"]


class CloseMessage(_CloseRequired, total=False):
    """The wire dict of :class:`Close`; ``type`` (required) is ``"websocket.close"``."""

    #: The close code; absent means 1000.
    code: int
    #: The close reason (ASGI spec 2.3); None or absent for none.
    reason: str | None


class _ResponseStartRequired(TypedDict):
    type: Literal["websocket.http.response.start"]
    status: int


class ResponseStartMessage(_ResponseStartRequired, total=False):
    """The wire dict of :class:`ResponseStart`; ``type`` (required) is
    ``"websocket.http.response.start"`` and ``status`` (required) the HTTP status code."""

    #: The response headers as ``(name, value)`` byte pairs.
    headers: list[tuple[builtins.bytes, builtins.bytes]]


class _ResponseBodyRequired(TypedDict):
    type: Literal["websocket.http.response.body"]


class ResponseBodyMessage(_ResponseBodyRequired, total=False):
    """The wire dict of :class:`ResponseBody`; ``type`` (required) is
    ``"websocket.http.response.body"``."""

    #: This chunk of the body; absent means empty.
    body: builtins.bytes
    #: True if more chunks follow; absent or False ends the response.
    more_body: bool


#: The wire dicts a server may send the application.
ReceiveEventDict: TypeAlias = ConnectMessage | ReceiveMessage | DisconnectMessage
#: The wire dicts the application may send the server.
SendEventDict: TypeAlias = (
    AcceptMessage | SendMessage | CloseMessage | ResponseStartMessage | ResponseBodyMessage
)
