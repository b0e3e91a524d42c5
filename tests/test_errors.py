"""The same exceptions in both builds: class, ``__cause__`` and ``__suppress_context__``.

mypyc drops the ``from`` clause of a ``raise``, so compiled modules raise through
``typedws._errors.raise_from``. Each case below triggers one public error through the public
API, inside an ``except`` block where that matters, and checks what a traceback would show:
the expected values are those of the plain ``raise ... from ...`` statement, which is what the
pure build runs. The suite runs in both builds (nox's compiled and pure sessions), so a build
that drifted fails here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec
import pytest

from fakes import CONNECT, FakeServer, accepted, disconnect, make_scope, text
from typedws import (
    PayloadError,
    ProtocolError,
    WebSocketDisconnect,
    WebSocketStateError,
)
from typedws._errors import raise_from


@dataclass(frozen=True)
class Case:
    error: type[BaseException]
    cause: type[BaseException] | None  # the class of __cause__, or None
    suppress_context: bool  # True for "from None" and "from X"; False for a plain raise


async def _send_on_a_broken_transport() -> None:
    server = FakeServer()
    ws = await accepted(server)
    server.send_error = ConnectionResetError("peer gone")
    await ws.send_text("x")


async def _raw_send_on_a_broken_transport() -> None:
    server = FakeServer()
    ws = await accepted(server)
    server.send_error = ConnectionResetError("peer gone")
    await ws.send({"type": "websocket.send", "text": "x"})


async def _accept_on_a_broken_transport() -> None:
    server = FakeServer([CONNECT])
    server.send_error = BrokenPipeError()
    await server.websocket().accept()


async def _bad_json() -> None:
    ws = await accepted(FakeServer([text("{nope")]))
    await ws.receive_json()


async def _schema_mismatch() -> None:
    class Point(msgspec.Struct):
        x: int

    ws = await accepted(FakeServer([text('{"x": "one"}')]))
    await ws.receive_json(type=Point)


async def _undecodable_type() -> None:
    ws = await accepted(FakeServer())
    await ws.receive_json(type=object())  # type: ignore[call-overload]  # wrong on purpose


async def _raw_accept_with_bad_headers() -> None:
    ws = FakeServer([CONNECT]).websocket()
    await ws.receive()
    await ws.send({"type": "websocket.accept", "headers": [(b"x-a", b"1\r\n")]})


async def _url_of_a_bad_scheme() -> None:
    scope = dict(make_scope())
    scope["scheme"] = "w s"
    scope["headers"] = []
    server = FakeServer(scope=scope)
    server.websocket().url  # noqa: B018  (parsed on first read)


async def _iterator_end() -> None:
    ws = await accepted(FakeServer([disconnect(1001)]))
    await ws.iter_text().__anext__()


async def _send_before_accept() -> None:
    await FakeServer().websocket().send_text("x")


async def _bad_close_code() -> None:
    await FakeServer().websocket().close(1005)


async def _disconnect() -> None:
    ws = await accepted(FakeServer([disconnect(1001)]))
    await ws.receive_text()


CASES: dict[str, tuple[Callable[[], Awaitable[None]], Case]] = {
    "send on a broken transport": (
        _send_on_a_broken_transport,
        Case(WebSocketDisconnect, None, True),
    ),
    "raw send on a broken transport": (
        _raw_send_on_a_broken_transport,
        Case(WebSocketDisconnect, None, True),
    ),
    "accept on a broken transport": (
        _accept_on_a_broken_transport,
        Case(WebSocketDisconnect, None, True),
    ),
    "bad JSON": (_bad_json, Case(PayloadError, msgspec.DecodeError, True)),
    "schema mismatch": (_schema_mismatch, Case(PayloadError, msgspec.ValidationError, True)),
    "undecodable type": (_undecodable_type, Case(TypeError, TypeError, True)),
    "raw accept with bad headers": (_raw_accept_with_bad_headers, Case(ProtocolError, None, True)),
    "URL of a bad scheme": (_url_of_a_bad_scheme, Case(ProtocolError, None, True)),
    "iterator end": (_iterator_end, Case(StopAsyncIteration, None, True)),
    "send before accept": (_send_before_accept, Case(WebSocketStateError, None, False)),
    "bad close code": (_bad_close_code, Case(ValueError, None, False)),
    "disconnect": (_disconnect, Case(WebSocketDisconnect, None, False)),
}


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(CASES))
async def test_cause_and_context_are_those_of_the_raise_statement(name: str) -> None:
    trigger, case = CASES[name]
    with pytest.raises(case.error) as info:
        await trigger()
    error = info.value
    assert type(error) is case.error or (
        case.error is WebSocketDisconnect and isinstance(error, WebSocketDisconnect)
    )
    if case.cause is None:
        assert error.__cause__ is None
    else:
        assert isinstance(error.__cause__, case.cause), repr(error.__cause__)
    assert error.__suppress_context__ is case.suppress_context


def test_raise_from_matches_the_statement() -> None:
    def statement(cause: BaseException | None) -> BaseException:
        try:
            try:
                raise KeyError("inner")
            except KeyError:
                raise ValueError("outer") from cause
        except ValueError as exc:
            return exc

    def helper(cause: BaseException | None) -> BaseException:
        try:
            try:
                raise KeyError("inner")
            except KeyError:
                raise_from(ValueError("outer"), cause)
        except ValueError as exc:
            return exc

    for cause in (None, OSError("why")):
        expected, got = statement(cause), helper(cause)
        assert got.__cause__ is expected.__cause__
        assert got.__suppress_context__ is expected.__suppress_context__ is True
        assert type(got.__context__) is type(expected.__context__) is KeyError
