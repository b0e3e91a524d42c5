"""Event validation, checks only: the synchronous check of each raw event, called directly.

``bench_events`` times the public raw API, ``await ws.receive()`` and ``await ws.send(event)``:
each event there also pays a coroutine call of typedws, the call of the server's coroutine and
two awaits. That part costs about the same in both builds (a compiled coroutine is hardly
cheaper per call than an interpreted one on CPython 3.11), so it narrows the compiled/pure
ratio without saying anything about validation. This benchmark calls the methods that
``receive()`` and ``send()`` run around their await -- ``_server_event`` (checks a server event
against the schemas and the state machine and returns its Struct) and ``_raw_message`` (checks
an application event and returns the wire dict) -- on the same events, so the table shows what
the checks cost.

Both tables are reported; the raw one stays the measure of what users pay.
"""

from __future__ import annotations

from typing import Any

from _common import make_scope, now, timed
from bench_events import (
    _ACCEPT,
    _BODY_LAST,
    _BODY_MORE,
    _CLOSE,
    _START,
    N_CONNECTIONS,
    N_DATA,
    data_frames,
    outgoing_events,
)

CASES: dict[str, int] = {
    "incoming data": N_DATA,
    "outgoing data": N_DATA,
    "handshake+close": 4 * N_CONNECTIONS,
    "denial response": 4 * N_CONNECTIONS,
}

_CONNECT = {"type": "websocket.connect"}
_DISCONNECT = {"type": "websocket.disconnect", "code": 1000}


async def _never(*args: Any) -> Any:  # the server callables; the checks never call them
    raise AssertionError("the checks-only benchmark does not await the server")


def _accepted() -> Any:
    from typedws import WebSocket

    ws = WebSocket(make_scope(), _never, _never)
    ws._server_event(_CONNECT)
    ws._raw_message(_ACCEPT)
    return ws


def _incoming(n: int) -> int:
    events = data_frames(n)
    check = _accepted()._server_event
    start = now()
    for event in events:
        check(event)
    return now() - start


def _outgoing(n: int) -> int:
    events = outgoing_events(n)
    check = _accepted()._raw_message
    start = now()
    for event in events:
        check(event)
    return now() - start


def _handshakes(connections: int) -> int:
    from typedws import WebSocket

    scope = make_scope()
    start = now()
    for _ in range(connections):
        ws = WebSocket(scope, _never, _never)
        ws._server_event(_CONNECT)
        ws._raw_message(_ACCEPT)
        ws._raw_message(_CLOSE)
        ws._server_event(_DISCONNECT)
    return now() - start


def _denials(connections: int) -> int:
    from typedws import WebSocket

    scope = make_scope({"websocket.http.response": {}})
    start = now()
    for _ in range(connections):
        ws = WebSocket(scope, _never, _never)
        ws._server_event(_CONNECT)
        ws._raw_message(_START)
        ws._raw_message(_BODY_MORE)
        ws._raw_message(_BODY_LAST)
    return now() - start


def _run(case: str, count: int) -> int:
    if case == "incoming data":
        return _incoming(count)
    if case == "outgoing data":
        return _outgoing(count)
    if case == "handshake+close":
        return _handshakes(count // 4)
    return _denials(count // 4)


def prepare(impl: str, case: str) -> None:
    assert impl == "typedws", impl
    _run(case, 40)


def trial(impl: str, case: str) -> float:
    count = CASES[case]
    return timed(lambda: _run(case, count)) / count
