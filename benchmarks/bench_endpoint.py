"""Endpoint dispatch and typed sends against the hand-written loop they replace (issue 14).

A chat protocol of three inbound kinds (a ~200 B ``chat`` line, ``join``, ``leave``, a tagged
union) and two outbound kinds. Every message is validated both ways in every implementation:
decoded into the union by msgspec on the way in, checked as a member of the outbound union (by
the typed send) or built as one (by the hand loop's ``match``) on the way out.

Dispatch cases (``n`` chat lines in, one reply out per line; the time covers accept, the loop
and its end at the disconnect):

* ``hand loop``: ``async for msg in ws.iter_json(mode, type=In): match msg: ...`` calling the
  same handler coroutine, then ``await ws.send_json(reply, mode)``;
* ``endpoint``: ``await chat.serve(ws)``, the loop of ``Endpoint.app()`` (receive, decode to the
  union, look the handler up by ``type(msg)``, call it, send its reply with the typed send).

Send cases (``n`` replies out on an accepted connection):

* ``send_json``: ``await ws.send_json(reply, mode)``;
* ``typed send``: ``await conn.send(reply)`` on ``conn = chat.wrap(ws)``.

Results are ns per message.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeAlias

import msgspec
from _common import SMALL as SMALL_CHAT
from _common import Mode, Receive, Send, Server, connection, data_event, drive, make_scope, now
from _common import timed as _timed

from typedws import Endpoint, TypedWebSocket, WebSocket


class ChatLine(msgspec.Struct, tag="chat"):
    room: str
    user: str
    id: int
    ts: str
    reply_to: int | None
    text: str


class Join(msgspec.Struct, tag="join"):
    room: str
    user: str


class Leave(msgspec.Struct, tag="leave"):
    room: str
    user: str


class Said(msgspec.Struct, tag="said"):
    room: str
    user: str
    id: int
    text: str


class Presence(msgspec.Struct, tag="presence"):
    room: str
    user: str
    here: bool


In: TypeAlias = ChatLine | Join | Leave
Out: TypeAlias = Said | Presence
Conn: TypeAlias = TypedWebSocket[In, Out]

Handler = Callable[[Receive, Send, int, Mode], Coroutine[Any, Any, int]]


def _endpoint(mode: Mode) -> Endpoint[In, Out]:
    chat = Endpoint("/ws", receives=ChatLine | Join | Leave, sends=Said | Presence, mode=mode)

    @chat.on(ChatLine)
    async def on_chat(conn: Conn, msg: ChatLine) -> Said:
        return Said(room=msg.room, user=msg.user, id=msg.id, text=msg.text)

    @chat.on(Join)
    async def on_join(conn: Conn, msg: Join) -> Presence:
        return Presence(room=msg.room, user=msg.user, here=True)

    @chat.on(Leave)
    async def on_leave(conn: Conn, msg: Leave) -> Presence:
        return Presence(room=msg.room, user=msg.user, here=False)

    return chat


ENDPOINTS: dict[str, Endpoint[In, Out]] = {"text": _endpoint("text"), "binary": _endpoint("binary")}


# The hand loop calls the same handler coroutines, as a user factoring the match would.
async def _said(msg: ChatLine) -> Said:
    return Said(room=msg.room, user=msg.user, id=msg.id, text=msg.text)


async def _presence(msg: Join | Leave, here: bool) -> Presence:
    return Presence(room=msg.room, user=msg.user, here=here)


async def hand_loop(receive: Receive, send: Send, n: int, mode: Mode) -> int:
    ws = WebSocket(make_scope(), receive, send)
    send_json = ws.send_json
    start = now()
    await ws.accept()
    async for msg in ws.iter_json(mode, type=In):
        match msg:
            case ChatLine():
                await send_json(await _said(msg), mode)
            case Join():
                await send_json(await _presence(msg, True), mode)
            case Leave():
                await send_json(await _presence(msg, False), mode)
    return now() - start


async def endpoint(receive: Receive, send: Send, n: int, mode: Mode) -> int:
    ws = WebSocket(make_scope(), receive, send)
    serve = ENDPOINTS[mode].serve
    start = now()
    await serve(ws)
    return now() - start


_REPLY = Said(room="general", user="user-007", id=100007, text=str(SMALL_CHAT["text"]))


async def send_json(receive: Receive, send: Send, n: int, mode: Mode) -> int:
    ws = WebSocket(make_scope(), receive, send)
    await ws.accept()
    send = ws.send_json
    reply = _REPLY
    start = now()
    for _ in range(n):
        await send(reply, mode)
    return now() - start


async def typed_send(receive: Receive, send: Send, n: int, mode: Mode) -> int:
    ws = WebSocket(make_scope(), receive, send)
    await ws.accept()
    conn = ENDPOINTS[mode].wrap(ws)
    typed = conn.send
    reply = _REPLY
    start = now()
    for _ in range(n):
        await typed(reply)
    return now() - start


HANDLERS: dict[str, Handler] = {
    "hand loop": hand_loop,
    "endpoint": endpoint,
    "send_json": send_json,
    "typed send": typed_send,
}

#: Dispatch cases take ``hand loop``/``endpoint``, send cases ``send_json``/``typed send``.
CASES: dict[str, tuple[Mode, int]] = {
    "dispatch text": ("text", 1000),
    "dispatch binary": ("binary", 1000),
    "send text": ("text", 1000),
    "send binary": ("binary", 1000),
}

_PAYLOAD = msgspec.json.encode(SMALL_CHAT)  # {"type": "chat", ...}: a ChatLine


def _server(case: str, n: int, mode: Mode, *, record: bool = False) -> Server:
    body = [data_event(_PAYLOAD, mode)] * n if case.startswith("dispatch") else []
    return Server(connection(body), record=record)


def prepare(impl: str, case: str) -> None:
    """Check that the implementation does the work: the replies it sends are right."""
    mode, _ = CASES[case]
    server = _server(case, 3, mode, record=True)
    drive(HANDLERS[impl](server.receive, server.send, 3, mode))
    replies = [message for message in server.sent if message["type"] == "websocket.send"]
    assert len(replies) == 3, (impl, case, server.sent)
    frame = replies[0]["text"] if mode == "text" else replies[0]["bytes"]
    decoded = msgspec.json.decode(frame, type=Out)
    assert decoded == _REPLY, (impl, decoded)


def trial(impl: str, case: str) -> float:
    mode, n = CASES[case]

    def run() -> int:
        server = _server(case, n, mode)
        return drive(HANDLERS[impl](server.receive, server.send, n, mode))

    return _timed(run) / n


__all__ = ["CASES", "HANDLERS", "prepare", "trial"]
