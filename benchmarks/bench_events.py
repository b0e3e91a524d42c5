"""Event validation alone: ns per raw event through ``ws.receive()`` and ``ws.send()``.

Every event kind of the ASGI websocket spec goes through the raw API, each checked against the
schemas and the state machine:

* ``incoming data``: ``websocket.receive`` events, text and binary in turn, returned as Structs;
* ``outgoing data``: ``websocket.send`` events, as dicts and as Structs, text and binary in turn;
* ``handshake+close``: ``websocket.connect``, ``.accept`` (with a header), ``.close`` and
  ``.disconnect`` on a fresh connection each time (the connection's creation included);
* ``denial response``: ``websocket.connect``, ``.http.response.start`` and two
  ``.http.response.body`` events (more_body, then the last).
"""

from __future__ import annotations

from typing import Any

from _common import Message, Server, connection, drive, encoded, make_scope, now, timed

SMALL = encoded("small")
N_DATA = 1000
N_CONNECTIONS = 150

CASES: dict[str, int] = {
    "incoming data": N_DATA,
    "outgoing data": N_DATA,
    "handshake+close": 4 * N_CONNECTIONS,
    "denial response": 4 * N_CONNECTIONS,
}


def data_frames(n: int) -> list[Message]:
    """``n`` incoming data frames, text and binary in turn (shared with bench_checks)."""
    text = SMALL.decode()
    return [
        {"type": "websocket.receive", "text": text}
        if i % 2 == 0
        else {"type": "websocket.receive", "bytes": SMALL}
        for i in range(n)
    ]


def outgoing_events(n: int) -> list[Any]:
    """``n`` outgoing data events: dicts and Structs, text and binary (shared with bench_checks)."""
    from typedws.events import Send

    text = SMALL.decode()
    outgoing: list[Any] = [
        {"type": "websocket.send", "text": text},
        {"type": "websocket.send", "bytes": SMALL},
        Send(text=text),
        Send(bytes=SMALL),
    ]
    return (outgoing * (n // 4 + 1))[:n]


def _incoming_events(n: int) -> list[Message]:
    return connection(data_frames(n))


async def _incoming(n: int) -> int:
    from typedws import WebSocket

    server = Server(_incoming_events(n))
    ws = WebSocket(make_scope(), server.receive, server.send)
    await ws.accept()
    receive = ws.receive
    start = now()
    for _ in range(n):
        await receive()
    return now() - start


async def _outgoing(n: int) -> int:
    from typedws import WebSocket

    events = outgoing_events(n)
    server = Server(connection([]))
    ws = WebSocket(make_scope(), server.receive, server.send)
    await ws.accept()
    send = ws.send
    start = now()
    for event in events:
        await send(event)
    return now() - start


_ACCEPT = {"type": "websocket.accept", "subprotocol": None, "headers": [(b"x-bench", b"1")]}
_CLOSE = {"type": "websocket.close", "code": 1000, "reason": "bye"}


async def _handshakes(connections: int) -> int:
    from typedws import WebSocket

    scope = make_scope()
    script = connection([])
    elapsed = 0
    for _ in range(connections):
        server = Server(script)
        start = now()
        ws = WebSocket(scope, server.receive, server.send)
        await ws.receive()
        await ws.send(_ACCEPT)  # type: ignore[arg-type]
        await ws.send(_CLOSE)  # type: ignore[arg-type]
        await ws.receive()
        elapsed += now() - start
    return elapsed


_START = {"type": "websocket.http.response.start", "status": 403, "headers": [(b"x", b"y")]}
_BODY_MORE = {"type": "websocket.http.response.body", "body": b"no ", "more_body": True}
_BODY_LAST = {"type": "websocket.http.response.body", "body": b"entry", "more_body": False}


async def _denials(connections: int) -> int:
    from typedws import WebSocket

    scope = make_scope({"websocket.http.response": {}})
    script = [{"type": "websocket.connect"}]
    elapsed = 0
    for _ in range(connections):
        server = Server(script)
        start = now()
        ws = WebSocket(scope, server.receive, server.send)
        await ws.receive()
        await ws.send(_START)  # type: ignore[arg-type]
        await ws.send(_BODY_MORE)  # type: ignore[arg-type]
        await ws.send(_BODY_LAST)  # type: ignore[arg-type]
        elapsed += now() - start
    return elapsed


def _run(case: str, count: int) -> int:
    if case == "incoming data":
        return drive(_incoming(count))
    if case == "outgoing data":
        return drive(_outgoing(count))
    if case == "handshake+close":
        return drive(_handshakes(count // 4))
    return drive(_denials(count // 4))


def prepare(impl: str, case: str) -> None:
    assert impl == "typedws", impl
    _run(case, 40)


def trial(impl: str, case: str) -> float:
    count = CASES[case]
    return timed(lambda: _run(case, count)) / count
