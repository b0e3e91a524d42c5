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
    bytes: builtins.bytes | None = None
    text: str | None = None


class Disconnect(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.disconnect"):
    """The connection is gone. ``code`` 1005 means the client sent no code, 1006 no close frame."""

    code: int = 1005
    reason: str = ""


# --- application -> server --------------------------------------------------------------------


class Accept(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.accept"):
    """Accept the handshake, optionally choosing one of the offered subprotocols."""

    subprotocol: str | None = None
    headers: list[tuple[builtins.bytes, builtins.bytes]] = []


class Send(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.send"):
    """A data frame to the client: exactly one of ``bytes`` (binary) or ``text`` is set."""

    bytes: builtins.bytes | None = None
    text: str | None = None


class Close(msgspec.Struct, frozen=True, tag_field="type", tag="websocket.close"):
    """Close the connection; before Accept it rejects the handshake (the server answers 403)."""

    code: int = 1000
    reason: str | None = None


class ResponseStart(
    msgspec.Struct, frozen=True, tag_field="type", tag="websocket.http.response.start"
):
    """Start an HTTP denial response instead of accepting (needs the server's
    ``websocket.http.response`` extension)."""

    status: int
    headers: list[tuple[builtins.bytes, builtins.bytes]] = []


class ResponseBody(
    msgspec.Struct, frozen=True, tag_field="type", tag="websocket.http.response.body"
):
    """A chunk of the denial response body; ``more_body=False`` ends the response."""

    body: builtins.bytes = b""
    more_body: bool = False


#: Everything a server may send the application.
ReceiveEvent: TypeAlias = Connect | Receive | Disconnect
#: Everything the application may send the server.
SendEvent: TypeAlias = Accept | Send | Close | ResponseStart | ResponseBody


# --- the same events as wire dicts -------------------------------------------------------------


class ConnectMessage(TypedDict):
    type: Literal["websocket.connect"]


class _ReceiveRequired(TypedDict):
    type: Literal["websocket.receive"]


class ReceiveMessage(_ReceiveRequired, total=False):
    bytes: builtins.bytes | None
    text: str | None


class _DisconnectRequired(TypedDict):
    type: Literal["websocket.disconnect"]


class DisconnectMessage(_DisconnectRequired, total=False):
    code: int
    reason: str


class _AcceptRequired(TypedDict):
    type: Literal["websocket.accept"]


class AcceptMessage(_AcceptRequired, total=False):
    subprotocol: str | None
    headers: list[tuple[builtins.bytes, builtins.bytes]]


class _SendRequired(TypedDict):
    type: Literal["websocket.send"]


class SendMessage(_SendRequired, total=False):
    bytes: builtins.bytes | None
    text: str | None


class _CloseRequired(TypedDict):
    type: Literal["websocket.close"]


class CloseMessage(_CloseRequired, total=False):
    code: int
    reason: str | None


class _ResponseStartRequired(TypedDict):
    type: Literal["websocket.http.response.start"]
    status: int


class ResponseStartMessage(_ResponseStartRequired, total=False):
    headers: list[tuple[builtins.bytes, builtins.bytes]]


class _ResponseBodyRequired(TypedDict):
    type: Literal["websocket.http.response.body"]


class ResponseBodyMessage(_ResponseBodyRequired, total=False):
    body: builtins.bytes
    more_body: bool


#: The wire dicts a server may send the application.
ReceiveEventDict: TypeAlias = ConnectMessage | ReceiveMessage | DisconnectMessage
#: The wire dicts the application may send the server.
SendEventDict: TypeAlias = (
    AcceptMessage | SendMessage | CloseMessage | ResponseStartMessage | ResponseBodyMessage
)
