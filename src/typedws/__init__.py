"""typedws: a type-safe ASGI WebSocket, validated with msgspec and compiled with mypyc.

``WebSocket(scope, receive, send)`` wraps one ASGI 3 websocket connection; every event in and
out is checked against :mod:`typedws.events` and the connection's state machine, and application
messages decode straight into user types (``await ws.receive_json(type=Chat)``).
"""

from __future__ import annotations

from typedws import _connection
from typedws._codecs import Codec
from typedws._datastructures import Address
from typedws._endpoint import Endpoint
from typedws._errors import (
    PayloadError,
    PayloadKind,
    ProtocolError,
    WebSocketDisconnect,
    WebSocketError,
    WebSocketStateError,
)
from typedws._headers import Headers
from typedws._loop import race
from typedws._state import WebSocketState
from typedws._typed import TypedWebSocket
from typedws._url import URL
from typedws._websocket import Mode, WebSocket
from typedws.app import Response, WebSocketApp, websocket_app

__all__ = [
    "COMPILED",
    "Address",
    "Codec",
    "Endpoint",
    "Headers",
    "Mode",
    "PayloadError",
    "PayloadKind",
    "ProtocolError",
    "Response",
    "TypedWebSocket",
    "URL",
    "WebSocket",
    "WebSocketApp",
    "WebSocketDisconnect",
    "WebSocketError",
    "WebSocketState",
    "WebSocketStateError",
    "race",
    "websocket_app",
]

__version__ = "0.1.0"

#: True when the mypyc-compiled build is running (the hot modules are C extensions).
COMPILED: bool = not _connection.__file__.endswith(".py")
