"""Typed decode: receiving a chat message straight into a user type.

* ``thin typed``: the floor, a thin async wrapper doing a typed msgspec decode (cached
  ``msgspec.json.Decoder(Chat)``) and nothing else;
* ``typedws``: ``await ws.receive_json(mode, type=Chat)`` (state, event and payload validated);
* ``starlette+pydantic``: what a Starlette user writes today,
  ``ChatModel.model_validate_json(await ws.receive_text())``.

Each trial receives ``n`` messages on a fresh connection; the result is ns per message.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
import pydantic
from _common import (
    Chat,
    Message,
    Mode,
    Receive,
    Send,
    Server,
    connection,
    data_event,
    drive,
    encoded,
    make_scope,
    now,
    timed,
)

Handler = Callable[[Receive, Send, int, Mode, list[Any]], Coroutine[Any, Any, int]]


class ChatModel(pydantic.BaseModel):
    """The pydantic twin of :class:`Chat`."""

    type: str
    room: str
    user: str
    id: int
    ts: str
    reply_to: int | None
    text: str


_chat_decoder = msgspec.json.Decoder(Chat)


class ThinTyped:
    """The floor: await, typed decode, nothing else."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send

    async def receive_json(self, mode: Mode, target: type[Chat]) -> Chat:
        message = await self._receive()
        return _chat_decoder.decode(message["text"] if mode == "text" else message["bytes"])


async def thin_typed(receive: Receive, send: Send, n: int, mode: Mode, out: list[Any]) -> int:
    await receive()
    ws = ThinTyped(receive, send)
    receive_json = ws.receive_json
    start = now()
    for _ in range(n):
        chat = await receive_json(mode, Chat)
    elapsed = now() - start
    out.append(chat)
    return elapsed


async def typedws(receive: Receive, send: Send, n: int, mode: Mode, out: list[Any]) -> int:
    from typedws import WebSocket

    ws = WebSocket(make_scope(), receive, send)
    await ws.accept()
    receive_json = ws.receive_json
    start = now()
    for _ in range(n):
        chat = await receive_json(mode, type=Chat)
    elapsed = now() - start
    out.append(chat)
    return elapsed


async def starlette_pydantic(
    receive: Receive, send: Send, n: int, mode: Mode, out: list[Any]
) -> int:
    from starlette.websockets import WebSocket

    ws = WebSocket(make_scope(), receive, send)
    await ws.accept()
    validate = ChatModel.model_validate_json
    start = now()
    if mode == "text":
        receive_text = ws.receive_text
        for _ in range(n):
            chat = validate(await receive_text())
    else:
        receive_bytes = ws.receive_bytes
        for _ in range(n):
            chat = validate(await receive_bytes())
    elapsed = now() - start
    out.append(chat)
    return elapsed


HANDLERS: dict[str, Handler] = {
    "thin typed": thin_typed,
    "typedws": typedws,
    "starlette+pydantic": starlette_pydantic,
}

CASES: dict[str, tuple[Mode, int]] = {"chat text": ("text", 1000), "chat binary": ("binary", 1000)}


def _run(impl: str, mode: Mode, n: int, out: list[Any]) -> int:
    server = Server(connection([data_event(encoded("small"), mode)] * n))
    return drive(HANDLERS[impl](server.receive, server.send, n, mode, out))


def prepare(impl: str, case: str) -> None:
    mode, _ = CASES[case]
    out: list[Any] = []
    _run(impl, mode, 50, out)
    decoded = out[0]
    expected = msgspec.json.decode(encoded("small"), type=Chat)
    as_struct = Chat(**decoded.model_dump()) if isinstance(decoded, ChatModel) else decoded
    assert as_struct == expected, (impl, decoded)


def trial(impl: str, case: str) -> float:
    mode, n = CASES[case]
    return timed(lambda: _run(impl, mode, n, [])) / n


__all__ = ["CASES", "HANDLERS", "Message", "prepare", "trial"]
