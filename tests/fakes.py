"""An in-memory stand-in for an ASGI server, for tests of the state machine.

The script of events the "server" will deliver is given up front; receive() hands them out in
order and fails the test (instead of hanging) when the application waits for more than the
script holds. Everything the application sends is recorded in ``sent``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from typedws import WebSocket
from typedws.types import Message, Scope


class ScriptExhausted(AssertionError):
    """The application waited for an event the test did not script."""


def make_scope(
    *,
    path: str = "/",
    subprotocols: Iterable[str] = (),
    spec_version: str = "2.4",
    extensions: dict[str, Any] | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> Scope:
    """A websocket scope as uvicorn would build it for ws://testserver{path}."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 51000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "subprotocols": list(subprotocols),
        "extensions": extensions if extensions is not None else {},
        "state": {},
    }


class FakeServer:
    """Scripted receive, recording send; ``send_error`` makes the next send raise it."""

    def __init__(self, script: Iterable[Any] = (), scope: Scope | None = None) -> None:
        self.script: list[Any] = list(script)
        self.sent: list[Message] = []
        self.scope: Scope = scope if scope is not None else make_scope()
        self.send_error: BaseException | None = None

    def queue(self, *events: Any) -> None:
        self.script.extend(events)

    async def receive(self) -> Message:
        if not self.script:
            raise ScriptExhausted("the application waited for an event the test did not script")
        event: Message = self.script.pop(0)
        return event

    async def send(self, message: Message) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(message)

    def websocket(self) -> WebSocket:
        return WebSocket(self.scope, self.receive, self.send)


CONNECT: Message = {"type": "websocket.connect"}


def text(data: str) -> Message:
    return {"type": "websocket.receive", "text": data}


def binary(data: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": data}


def disconnect(code: int = 1000, reason: str = "") -> Message:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


async def accepted(server: FakeServer) -> WebSocket:
    """A WebSocket over ``server`` that has completed its handshake."""
    server.script.insert(0, CONNECT)
    ws = server.websocket()
    await ws.accept()
    return ws
