"""ASGI 3 type aliases for applications that use typedws.

These are the shapes the ASGI specification gives; they are deliberately loose about message
contents (a ``MutableMapping[str, Any]``) because the server side of ASGI is untyped. typedws
validates every message that crosses this boundary (see :mod:`typedws.events`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

#: The connection scope: a dict the server builds once per connection.
Scope: TypeAlias = MutableMapping[str, Any]
#: One ASGI event, as a dict with at least a ``"type"`` key.
Message: TypeAlias = MutableMapping[str, Any]
#: Awaitable that yields the next event from the server.
Receive: TypeAlias = Callable[[], Awaitable[Message]]
#: Awaitable that hands one event to the server.
Send: TypeAlias = Callable[[Message], Awaitable[None]]
#: An ASGI 3 application.
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
