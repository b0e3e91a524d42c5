"""A chat protocol declared as an Endpoint, for tests/test_endpoint.py and tests/test_client.py.

``uvicorn endpoint_app:app`` serves it for the network client tests. Besides the plain chat
(a ``Join`` is answered with ``Joined``, a ``Say`` with ``Said``), a few ``Say`` texts make the
server misbehave on purpose so that the clients' error paths can be tested: ``"raw:<text>"``
sends ``<text>`` as a raw text frame (not checked against ``sends``), ``"close:<code>"`` closes
with that code.
"""

from __future__ import annotations

import msgspec

from typedws import Endpoint, PayloadError, TypedWebSocket


class Join(msgspec.Struct, tag="join"):
    room: str


class Say(msgspec.Struct, tag="say"):
    text: str


class Joined(msgspec.Struct, tag="joined"):
    room: str


class Said(msgspec.Struct, tag="said"):
    text: str


class Problem(msgspec.Struct, tag="problem"):
    kind: str
    path: str | None


chat = Endpoint("/chat", receives=Join | Say, sends=Joined | Said, title="Chat room")
Conn = TypedWebSocket[Join | Say, Joined | Said]


@chat.on_connect
async def offer(conn: Conn) -> None:
    # Accept the subprotocol the client asked for, if it is ours.
    if "chat.v1" in conn.ws.subprotocols:
        await conn.ws.accept(subprotocol="chat.v1")


@chat.on(Join)
async def join(conn: Conn, msg: Join) -> Joined | None:
    if msg.room == "whoami":  # tells the client which x-user header it sent
        return Joined(room=conn.ws.headers.get("x-user", ""))
    return Joined(room=msg.room)


@chat.on(Say)
async def say(conn: Conn, msg: Say) -> None:
    if msg.text.startswith("raw:"):
        await conn.ws.send_text(msg.text[4:])
    elif msg.text.startswith("close:"):
        await conn.close(int(msg.text[6:]), "closed on request")
    else:
        await conn.send(Said(text=msg.text))


app = chat.app()


# The same protocol with an on_invalid hook: an invalid message is answered, not fatal.
lenient = Endpoint("/lenient", receives=Join | Say, sends=Said | Problem)
Lenient = TypedWebSocket[Join | Say, Said | Problem]


@lenient.on(Join)
async def lenient_join(conn: Lenient, msg: Join) -> Said:
    return Said(text=f"joined {msg.room}")


@lenient.on(Say)
async def lenient_say(conn: Lenient, msg: Say) -> Said:
    return Said(text=msg.text)


@lenient.on_invalid
async def invalid(conn: Lenient, error: PayloadError) -> None:
    await conn.send(Problem(kind=error.kind, path=error.path))


lenient_app = lenient.app()
