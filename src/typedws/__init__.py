"""typedws: a type-safe ASGI WebSocket, validated with msgspec and compiled with mypyc.

``WebSocket(scope, receive, send)`` wraps one ASGI 3 websocket connection; every event in and
out is checked against :mod:`typedws.events` and the connection's state machine, and application
messages decode straight into user types (``await ws.receive_json(type=Chat)``).
"""

from __future__ import annotations

from typedws import _websocket
from typedws._errors import (
    PayloadError,
    ProtocolError,
    WebSocketDisconnect,
    WebSocketError,
    WebSocketStateError,
)
from typedws._state import WebSocketState
from typedws._websocket import Mode, WebSocket
from typedws.app import Response, WebSocketApp, websocket_app

__all__ = [
    "COMPILED",
    "Mode",
    "PayloadError",
    "ProtocolError",
    "Response",
    "WebSocket",
    "WebSocketApp",
    "WebSocketDisconnect",
    "WebSocketError",
    "WebSocketState",
    "WebSocketStateError",
    "websocket_app",
]

__version__ = "0.1.0"

#: True when the mypyc-compiled build is running (the hot modules are C extensions).
COMPILED: bool = not _websocket.__file__.endswith(".py")
