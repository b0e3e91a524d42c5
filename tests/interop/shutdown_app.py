"""The application tests/interop/test_shutdown.py stops with SIGTERM behind each server.

A chat Endpoint (``ping`` answered by ``pong``) whose ``on_shutdown`` sends ``bye``: the
application drains on lifespan shutdown, so a client gets ``bye`` then 1001 if the server
sends the lifespan shutdown while the connections are still open. What happens is printed, one
line per event, for the test to read in the server's output:

* ``LIFESPAN SHUTDOWN open=<n>``: the server sent lifespan.shutdown, with n connections open;
* ``BYE <what>``: what the goodbye's send did (``ok`` or the exception's name);
* ``FINALLY code=<c>``: a handler's ``finally`` ran (c: the close code it knows, or None);
* ``LATE <what>``: what a send from that ``finally`` did (``ok`` or the exception's name).

``POST /drain`` runs ``chat_app.drain(reason="deploying")`` and answers once it is over.

Started as ``shutdown_app:app`` (the tests put this folder on PYTHONPATH).
"""

from __future__ import annotations

import msgspec

from typedws import Endpoint, Response, TypedWebSocket, WebSocket
from typedws.types import Message, Receive, Scope, Send


class Ping(msgspec.Struct, tag="ping"):
    n: int


class Pong(msgspec.Struct, tag="pong"):
    n: int


class Bye(msgspec.Struct, tag="bye"):
    pass


chat = Endpoint("/chat", receives=Ping, sends=Pong | Bye)
Conn = TypedWebSocket[Ping, Pong | Bye]


@chat.on(Ping)
async def ping(conn: Conn, msg: Ping) -> Pong:
    return Pong(n=msg.n)


@chat.on_shutdown
async def goodbye(conn: Conn) -> None:
    try:
        await conn.send(Bye())
    except BaseException as exc:
        print(f"BYE {type(exc).__name__}", flush=True)
        raise
    print("BYE ok", flush=True)


async def _handler(ws: WebSocket) -> None:
    try:
        await chat.serve(ws)
    finally:
        print(f"FINALLY code={ws.close_code}", flush=True)
        try:
            await ws.send_text("late")
        except BaseException as exc:  # trio's Cancelled too: say so, then let it go on
            print(f"LATE {type(exc).__name__}", flush=True)
            if not isinstance(exc, Exception):
                raise
        else:
            print("LATE ok", flush=True)


chat_app = chat.app()
chat_app.handler = _handler


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and scope["path"] == "/drain":
        await chat_app.drain(reason="deploying")
        await Response(b"drained\n", 200)(scope, receive, send)
        return
    if scope["type"] != "lifespan":
        await chat_app(scope, receive, send)
        return

    async def watched() -> Message:
        message = await receive()
        if message.get("type") == "lifespan.shutdown":
            print(f"LIFESPAN SHUTDOWN open={chat_app.connections}", flush=True)
        return message

    await chat_app(scope, watched, send)
