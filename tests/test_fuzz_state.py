"""State-machine fuzzing: random server events against random application calls.

A hypothesis ``RuleBasedStateMachine`` plays both sides of one connection. The fake server below
holds a queue of events (valid, out of order and malformed) that hypothesis fills at random; the
application side makes random calls (accept, send_*, receive_*, iter_* steps, close, raw
send/receive, denial responses) and the transport may break at any point.

Every call is checked against a reference model written here from the documented behaviour
(README.md, docs/behaviour.md) and the ASGI spec, not from ``typedws._state`` (whose tables it
would otherwise only repeat). Besides one call at a time, a reader task and a writer task may
each be parked in the fake server at once (see :class:`ConnectionMachine`):

* only the documented exceptions escape, and exactly the ones the model predicts;
* ``client_state``, ``application_state``, ``close_code`` and ``close_reason`` match the model;
* the events that reach the server are checked by an independent ASGI-server checker: the right
  kind for the server's phase (nothing after a close or a denial response), well-formed fields,
  nothing the server's spec version cannot read, nothing after the client disconnected.

The fake server never blocks, so every call runs to completion with one ``coroutine.send(None)``
and no event loop (:func:`drive`): typedws uses no asyncio or trio API (README.md), and
an event loop per step would make the run ten times slower. A call that would wait for an event
the queue does not hold raises :class:`Starved` from the fake ``receive``; the model predicts
exactly when that happens, which also checks that every refused call is refused before awaiting.

``TYPEDWS_FUZZ_EXAMPLES`` sets the number of examples (500 by default; ``nox -s fuzz`` runs more).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import msgspec
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fakes import CONNECT, accepted, disconnect, make_scope, text
from fakes import FakeServer as FakeScriptServer
from typedws import (
    COMPILED,
    PayloadError,
    ProtocolError,
    WebSocket,
    WebSocketDisconnect,
    WebSocketError,
    WebSocketState,
    WebSocketStateError,
)
from typedws import events as ev
from typedws.types import Message, Receive, Scope, Send

EXAMPLES: Final = int(os.environ.get("TYPEDWS_FUZZ_EXAMPLES", "500"))

#: In the compiled build mypyc checks the annotated types of WebSocket's public methods before
#: typedws does (close(code: int), accept(subprotocol: str | None), mode: Literal[...]): an
#: argument of the wrong type, one mypy already rejects, may raise mypyc's TypeError ("int
#: object expected; got str") where the pure build raises ValueError. Still before anything is
#: sent; allowed for those arguments only.
ILL_TYPED: Final[tuple[type[BaseException], ...]] = (TypeError,) if COMPILED else ()

CONNECTING: Final = "CONNECTING"
CONNECTED: Final = "CONNECTED"
RESPONSE: Final = "RESPONSE"
DISCONNECTED: Final = "DISCONNECTED"


class Code(enum.IntEnum):
    """Close codes as an IntEnum, as uvicorn hands over websockets' ``CloseCode``."""

    NORMAL = 1000
    GOING_AWAY = 1001
    ABNORMAL = 1006
    RESERVED = 1004


class Starved(Exception):
    """The application waited for an event the fake server's queue does not hold."""


class Suspended(AssertionError):
    """A call yielded to the event loop although the fake server never blocks."""


class _Park:
    """What the fake server awaits to suspend a task (a parked reader or writer): it yields
    once, to whoever drives the coroutine, which resumes it with another ``send(None)``."""

    def __await__(self) -> Any:
        yield PARKED


#: What a parked coroutine yields to its driver.
PARKED: Final = "parked"


def park(coro: Coroutine[Any, Any, Any]) -> None:
    """Start a coroutine that must suspend in the fake server (a task now waiting there)."""
    try:
        yielded = coro.send(None)
    except BaseException:
        coro.close()
        raise
    assert yielded == PARKED, f"suspended on {yielded!r}, not in the fake server"


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends to completion, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise Suspended("the call suspended although the fake server never blocks")


# --- payloads, with the values each decoder must produce (written out by hand) --------------------


class Point(msgspec.Struct):
    x: int


class _Bad:
    def __repr__(self) -> str:
        return "BAD"


#: Marks a payload a decoder must refuse with PayloadError.
BAD: Final = _Bad()


@dataclass(frozen=True)
class Payload:
    frame: str | bytes
    json: object = BAD  # receive_json() in the frame's own mode
    json_point: object = BAD  # receive_json(type=Point)
    msgpack: object = BAD  # receive_msgpack()
    msgpack_point: object = BAD  # receive_msgpack(type=Point)


PAYLOADS: Final = (
    Payload("hello"),
    Payload('{"x": 1}', json={"x": 1}, json_point=Point(1)),
    Payload('{"x": "one"}', json={"x": "one"}),
    Payload("[1, 2]", json=[1, 2]),
    Payload(""),
    Payload('"caf\u00e9"', json="caf\u00e9"),
    Payload("a\x00b"),
    Payload(b'{"x": 1}', json={"x": 1}, json_point=Point(1)),
    Payload(b"7", json=7, msgpack=55),
    Payload(b"\xff\xfe"),
    Payload(b""),
    Payload(b"\x81\xa1x\x01", msgpack={"x": 1}, msgpack_point=Point(1)),
    Payload(b"\x92\x01\x02", msgpack=[1, 2]),
    Payload(b"\xd4\x05z", msgpack=msgspec.msgpack.Ext(5, b"z")),
    Payload(b"\xc1"),
)


# --- what the server hands the application --------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """An event for the fake server to deliver, with what it is (for the model)."""

    message: object
    kind: str  # "connect" | "data" | "disconnect" | "malformed"
    payload: Payload | None = None
    code: int = 1005
    reason: str = ""

    def __repr__(self) -> str:
        return f"Incoming({self.message!r})"


def _data_events(payload: Payload) -> list[Incoming]:
    key, other = ("text", "bytes") if isinstance(payload.frame, str) else ("bytes", "text")
    return [
        Incoming({"type": "websocket.receive", key: payload.frame}, "data", payload),
        Incoming({"type": "websocket.receive", key: payload.frame, other: None}, "data", payload),
    ]


def _disconnects() -> list[Incoming]:
    result = [Incoming({"type": "websocket.disconnect"}, "disconnect")]
    for code in (1000, 1001, 1005, 1006, 1011, 4000):
        result.append(
            Incoming({"type": "websocket.disconnect", "code": code}, "disconnect", code=code)
        )
        result.append(
            Incoming(
                {"type": "websocket.disconnect", "code": code, "reason": "bye"},
                "disconnect",
                code=code,
                reason="bye",
            )
        )
    result.append(
        Incoming(
            {"type": "websocket.disconnect", "code": 1000, "reason": None}, "disconnect", code=1000
        )
    )
    for enum_code in (Code.GOING_AWAY, Code.ABNORMAL):
        result.append(
            Incoming(
                {"type": "websocket.disconnect", "code": enum_code}, "disconnect", code=enum_code
            )
        )
    return result


MALFORMED_IN: Final[tuple[object, ...]] = (
    None,
    [],
    "websocket.connect",
    {},
    {"type": None},
    {"type": 7},
    {"type": "websocket.accept"},
    {"type": "http.request"},
    {"type": "websocket.receive"},
    {"type": "websocket.receive", "text": "a", "bytes": b"a"},
    {"type": "websocket.receive", "text": b"a"},
    {"type": "websocket.receive", "bytes": "a"},
    {"type": "websocket.receive", "bytes": bytearray(b"a")},
    {"type": "websocket.disconnect", "code": "1000"},
    {"type": "websocket.disconnect", "code": True},
    {"type": "websocket.disconnect", "code": 1000.0},
    {"type": "websocket.disconnect", "code": 1000, "reason": b"x"},
)

CONNECTS: Final = (
    Incoming({"type": "websocket.connect"}, "connect"),
    Incoming({"type": "websocket.connect", "from_a_newer_server": 1}, "connect"),
    Incoming(MappingProxyType({"type": "websocket.connect"}), "connect"),
)

incoming = st.one_of(
    st.sampled_from(CONNECTS),
    st.sampled_from([e for p in PAYLOADS for e in _data_events(p)]),
    st.sampled_from(_disconnects()),
    st.sampled_from([Incoming(m, "malformed") for m in MALFORMED_IN]),
)
maybe_incoming = st.none() | incoming


# --- what the application hands the server (raw send and denial responses) ------------------------


@dataclass(frozen=True)
class Outgoing:
    message: object
    kind: str  # "accept" | "send" | "close" | "start" | "body" | "malformed"
    subprotocol: str | None = None
    code: int = 1000
    reason: str | None = None
    more: bool = False

    def __repr__(self) -> str:
        return f"Outgoing({self.message!r})"


OUTGOING: Final = (
    Outgoing({"type": "websocket.accept"}, "accept"),
    Outgoing(ev.Accept(), "accept"),
    Outgoing({"type": "websocket.accept", "subprotocol": "chat"}, "accept", subprotocol="chat"),
    Outgoing(ev.Accept(subprotocol="json", headers=[(b"x-a", b"1")]), "accept", subprotocol="json"),
    Outgoing({"type": "websocket.accept", "headers": [(b"X-Up", b"1")]}, "accept"),
    Outgoing({"type": "websocket.send", "text": "t"}, "send"),
    Outgoing({"type": "websocket.send", "bytes": b"b", "text": None}, "send"),
    Outgoing({"type": "websocket.send", "bytes": bytearray(b"b")}, "send"),
    Outgoing(ev.Send(text="t"), "send"),
    Outgoing(ev.Send(bytes=b"b"), "send"),
    Outgoing({"type": "websocket.close"}, "close"),
    Outgoing(
        {"type": "websocket.close", "code": 4000, "reason": "r"}, "close", code=4000, reason="r"
    ),
    Outgoing({"type": "websocket.close", "code": 1001, "reason": None}, "close", code=1001),
    Outgoing({"type": "websocket.close", "code": Code.GOING_AWAY}, "close", code=1001),
    Outgoing(ev.Close(code=3000, reason=""), "close", code=3000, reason=""),
    Outgoing({"type": "websocket.http.response.start", "status": 403}, "start"),
    Outgoing(ev.ResponseStart(status=401, headers=[(b"www-authenticate", b"x")]), "start"),
    Outgoing(
        {"type": "websocket.http.response.body", "body": b"a", "more_body": True}, "body", more=True
    ),
    Outgoing({"type": "websocket.http.response.body"}, "body"),
    Outgoing(ev.ResponseBody(body=b"z"), "body"),
)

MALFORMED_OUT: Final[tuple[object, ...]] = (
    5,
    {},
    {"type": 5},
    {"type": "websocket.receive", "text": "x"},
    {"type": "http.response.start", "status": 200},
    {"type": "websocket.send"},
    {"type": "websocket.send", "text": "a", "bytes": b"a"},
    {"type": "websocket.send", "text": b"a"},
    {"type": "websocket.close", "code": 1005},
    {"type": "websocket.close", "code": 999},
    {"type": "websocket.close", "code": "1000"},
    {"type": "websocket.close", "code": False},
    {"type": "websocket.close", "code": Code.RESERVED},
    {"type": "websocket.close", "reason": "x" * 124},
    {"type": "websocket.close", "reason": 5},
    {"type": "websocket.close", "reason": "\udfff"},
    {"type": "websocket.accept", "subprotocol": 5},
    {"type": "websocket.accept", "headers": [(b"a", b"1\r\n")]},
    {"type": "websocket.accept", "headers": [(b"sec-websocket-protocol", b"chat")]},
    {"type": "websocket.accept", "headers": "x-a: 1"},
    {"type": "websocket.http.response.start", "status": 99},
    {"type": "websocket.http.response.start", "status": "200"},
    {"type": "websocket.http.response.start"},
    {"type": "websocket.http.response.body", "body": "text"},
    {"type": "websocket.http.response.body", "more_body": 1},
)

outgoing = st.sampled_from(OUTGOING) | st.sampled_from(
    [Outgoing(m, "malformed") for m in MALFORMED_OUT]
)

#: Denial responses: what each sends, as raw events the model classifies.
DENIALS: Final[dict[str, tuple[Outgoing, ...]]] = {
    "plain": (
        Outgoing(
            {
                "type": "websocket.http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"text/plain")],
            },
            "start",
        ),
        Outgoing({"type": "websocket.http.response.body", "body": b"no"}, "body"),
    ),
    "chunked": (
        Outgoing({"type": "websocket.http.response.start", "status": 401}, "start"),
        Outgoing(
            {"type": "websocket.http.response.body", "body": b"a", "more_body": True},
            "body",
            more=True,
        ),
        Outgoing({"type": "websocket.http.response.body", "body": b"b"}, "body"),
    ),
    # Response classes written for HTTP send http.* event names; typedws maps them.
    "http-names": (
        Outgoing({"type": "http.response.start", "status": 404, "headers": []}, "start"),
        Outgoing({"type": "http.response.body", "body": b"x"}, "body"),
    ),
    "unfinished": (Outgoing({"type": "websocket.http.response.start", "status": 403}, "start"),),
    "bad-status": (Outgoing({"type": "websocket.http.response.start", "status": 99}, "malformed"),),
    "body-first": (Outgoing({"type": "websocket.http.response.body", "body": b"x"}, "body"),),
    "then-accept": (
        Outgoing({"type": "websocket.http.response.start", "status": 403}, "start"),
        Outgoing({"type": "websocket.accept"}, "accept"),
    ),
}


def as_message(expect: Expect) -> Expect:
    """The same expectation for ``receive()``, which returns the ASGI dict, not the Struct."""
    value = expect.value
    if isinstance(value, ev.Connect):
        expect.value = {"type": "websocket.connect"}
    elif isinstance(value, ev.Receive):
        expect.value = {"type": "websocket.receive", "bytes": value.bytes, "text": value.text}
    elif isinstance(value, ev.Disconnect):
        expect.value = {"type": "websocket.disconnect", "code": value.code, "reason": value.reason}
    return expect


def denial_app(
    steps: tuple[Outgoing, ...],
) -> Callable[[Scope, Receive, Send], Coroutine[Any, Any, None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for step in steps:
            await send(step.message)  # type: ignore[arg-type]  # malformed on purpose

    return app


# --- the reference model --------------------------------------------------------------------------


class _Nothing:
    pass


NOTHING: Final = _Nothing()


@dataclass
class Expect:
    """What a call must do: raise one of ``raises`` (nothing if empty), else return ``value``."""

    raises: tuple[type[BaseException], ...] = ()
    code: int | None = None  # the code a WebSocketDisconnect must carry
    value: object = NOTHING
    sends: int = 0  # events that reach the server


def _close_code_ok(code: object) -> bool:
    # RFC 6455 section 7.4.1/7.4.2: sendable codes.
    # Any int but bool, IntEnum members included (docs/behaviour.md: codes are ints).
    return (
        isinstance(code, int)
        and not isinstance(code, bool)
        and (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999)
    )


def _close_reason_ok(reason: object) -> bool:
    # A close frame's payload is at most 125 bytes, 2 of them the code (RFC 6455 section 5.5).
    if reason is None:
        return True
    if not isinstance(reason, str):
        return False
    try:
        return len(reason.encode("utf-8")) <= 123
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form
        return False


@dataclass
class Model:
    """The connection as the documentation and the ASGI spec describe it."""

    offered: list[str]
    denial_ext: bool
    c: str = CONNECTING  # client side: follows what the server delivered
    a: str = CONNECTING  # application side: follows what the application sent
    accepted: bool = False
    close_code: int | None = None
    close_reason: str | None = None
    broken: bool = False
    lost: bool = False  # a send failed on the broken transport (not a close: that is quiet)
    # The transport broke under a send while the client side was open: the server still owes
    # the application its websocket.disconnect, which a receive already waiting in another task
    # (a parked reader) gets as the end of the connection.
    owed: bool = False
    queue: list[Incoming] = field(default_factory=list)

    def _record(self, code: int, reason: str | None) -> None:
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason or ""

    def _transmit(self) -> Expect:
        """One event goes to the server; a broken transport means the peer is gone (1006)."""
        if self.broken:  # both sides end, as in Starlette; the app learns the code 1006
            self._client_gone_under_send()
            if self.a != DISCONNECTED:
                # Later sends report the lost connection again, if there was a WebSocket to
                # lose: not after a denial response (cut short or not), which opened none.
                self.lost = self.a == CONNECTED
                self.a = DISCONNECTED
            self._record(1006, "")
            return Expect(raises=(WebSocketDisconnect,), code=1006)
        return Expect(sends=1)

    def _client_gone_under_send(self) -> None:
        if self.c != DISCONNECTED:
            self.owed = True
            self.c = DISCONNECTED

    def _gone(self) -> Expect:
        return Expect(raises=(WebSocketDisconnect,), code=self.close_code)

    def _pull(self) -> Incoming | None:
        return self.queue.pop(0) if self.queue else None

    # data frames ---------------------------------------------------------------------------

    def _send_problems(self, order_error: type[BaseException]) -> tuple[type[BaseException], ...]:
        if self.lost:
            # The transport broke under an earlier send: every send reports that again.
            return (WebSocketDisconnect,)
        if self.a in (CONNECTING, RESPONSE):
            return (order_error,)
        if self.a == DISCONNECTED and self.c == DISCONNECTED:
            return (order_error, WebSocketDisconnect)  # closed by both sides: either is true
        if self.c == DISCONNECTED:
            return (WebSocketDisconnect,)
        if self.a == DISCONNECTED:
            return (order_error,)
        return ()

    def send_data(self, arg_error: type[BaseException] | None) -> Expect:
        problems = self._send_problems(WebSocketStateError)
        if arg_error is not None:
            problems = (*problems, arg_error)
        if problems:
            return Expect(raises=problems, code=self.close_code)
        return self._transmit()

    def receive_refused(self) -> Expect | None:
        """What a data receive raises before it waits, if it may not wait at all."""
        if self.a in (CONNECTING, RESPONSE) or self.c != CONNECTED:
            return Expect(raises=(WebSocketStateError,))
        return None

    def receive_data(self, want_text: bool, decode: Callable[[Payload], object]) -> Expect:
        refused = self.receive_refused()
        if refused is not None:
            return refused
        incoming = self._pull()
        if incoming is None:
            return Expect(raises=(Starved,))
        return self.data_arrives(incoming, want_text, decode)

    def data_arrives(
        self, incoming: Incoming, want_text: bool, decode: Callable[[Payload], object]
    ) -> Expect:
        """What a data receive that passed its checks does with the event the server gives it
        (at once, or later for a parked reader, by when a writer may have changed the state)."""
        if incoming.kind == "disconnect" and (self.c == CONNECTED or self.owed):
            self.owed = False
            self.c = DISCONNECTED
            self._record(incoming.code, incoming.reason)  # kept: a broken transport's 1006
            return Expect(raises=(WebSocketDisconnect,), code=incoming.code)
        # A second connect, garbage, anything after the disconnect, or a data frame after a
        # rejected handshake (there is no WebSocket to carry it).
        open_ = self.c == CONNECTED or self.owed
        if incoming.kind != "data" or not self.accepted or not open_:
            return Expect(raises=(ProtocolError,))
        assert incoming.payload is not None
        if isinstance(incoming.payload.frame, str) != want_text:
            return Expect(raises=(PayloadError,))
        value = decode(incoming.payload)
        if value is BAD:
            return Expect(raises=(PayloadError,))
        return Expect(value=value)

    # handshake and close -------------------------------------------------------------------

    def accept(self, arg_errors: tuple[type[BaseException], ...]) -> Expect:
        problems = arg_errors
        if self.a != CONNECTING:
            problems = (*problems, WebSocketStateError)
        if problems:
            return Expect(raises=problems)
        if self.c == DISCONNECTED:
            return self._gone()
        if self.c == CONNECTING:
            incoming = self._pull()
            if incoming is None:
                return Expect(raises=(Starved,))
            if incoming.kind == "disconnect":
                self.c = DISCONNECTED
                self._record(incoming.code, incoming.reason)
                return Expect(raises=(WebSocketDisconnect,), code=incoming.code)
            if incoming.kind != "connect":
                return Expect(raises=(ProtocolError,))
            self.c = CONNECTED
        self.a = CONNECTED
        self.accepted = True
        return self._transmit()

    def close(self, code: object, reason: object) -> Expect:
        if not _close_code_ok(code) or not _close_reason_ok(reason):
            # Arguments of the wrong type (which mypy rejects) may also be mypyc's TypeError in
            # the compiled build, whose WebSocket enforces its annotations: see ILL_TYPED.
            return Expect(raises=(ValueError, *ILL_TYPED))
        if self.a == DISCONNECTED or self.c == DISCONNECTED:
            return Expect()  # a no-op
        if self.a == RESPONSE:
            return Expect(raises=(WebSocketStateError,))
        assert isinstance(code, int)
        assert reason is None or isinstance(reason, str)
        self.a = DISCONNECTED
        self._record(code, reason)
        return self.close_sent()

    def close_sent(self) -> Expect:
        """A close reached the server's send: quiet even when the transport broke."""
        if self.broken:
            self._client_gone_under_send()  # the peer is gone; closed either way
            self._record(1006, "")  # a no-op: the close recorded its code first
            return Expect()
        return Expect(sends=1)

    # raw events ----------------------------------------------------------------------------

    def raw_send(self, out: Outgoing) -> Expect:
        if out.kind == "malformed":
            return Expect(raises=(ProtocolError,))
        if out.kind == "accept" and out.subprotocol not in (None, *self.offered):
            return Expect(raises=(ValueError,))  # as from accept(): the same fault
        if out.kind == "send":
            problems = self._send_problems(ProtocolError)
            if problems:
                return Expect(raises=problems, code=self.close_code)
            return self._transmit()
        if out.kind == "close":
            if self.a == DISCONNECTED or self.c == DISCONNECTED:
                return Expect()
            if self.a == RESPONSE:
                return Expect(raises=(ProtocolError,))
            self.a = DISCONNECTED
            self._record(out.code, out.reason)
            return self.close_sent()
        order_ok = {
            "accept": self.a == CONNECTING
            and self.c != CONNECTING
            and (out.subprotocol is None or out.subprotocol in self.offered),
            "start": self.a == CONNECTING and self.denial_ext,
            "body": self.a == RESPONSE,
        }[out.kind]
        if not order_ok:
            gone = (WebSocketDisconnect,) if self.c == DISCONNECTED else ()
            return Expect(raises=(ProtocolError, *gone), code=self.close_code)
        if self.c == DISCONNECTED:
            return self._gone()
        if out.kind == "accept":
            self.a = CONNECTED
            self.accepted = True
        elif out.kind == "start":
            self.a = RESPONSE
        elif not out.more:
            self.a = DISCONNECTED
        return self._transmit()

    def raw_receive_refused(self) -> Expect | None:
        if self.c == DISCONNECTED:
            return Expect(raises=(WebSocketStateError,))
        return None

    def raw_receive(self) -> Expect:
        refused = self.raw_receive_refused()
        if refused is not None:
            return refused
        incoming = self._pull()
        if incoming is None:
            return Expect(raises=(Starved,))
        return self.raw_arrives(incoming)

    def raw_arrives(self, incoming: Incoming) -> Expect:
        if self.owed:  # a raw receive parked before the transport broke under a send
            if incoming.kind == "disconnect":
                self.owed = False
                return Expect(value=ev.Disconnect(code=incoming.code, reason=incoming.reason))
            if incoming.kind == "data" and self.accepted:
                assert incoming.payload is not None
                frame = incoming.payload.frame
                return Expect(
                    value=ev.Receive(text=frame)
                    if isinstance(frame, str)
                    else ev.Receive(bytes=frame)
                )
            return Expect(raises=(ProtocolError,))
        if incoming.kind == "connect" and self.c == CONNECTING:
            self.c = CONNECTED
            return Expect(value=ev.Connect())
        if incoming.kind == "data" and self.c == CONNECTED and self.accepted:
            assert incoming.payload is not None
            frame = incoming.payload.frame
            value = ev.Receive(text=frame) if isinstance(frame, str) else ev.Receive(bytes=frame)
            return Expect(value=value)
        if incoming.kind == "disconnect" and self.c in (CONNECTING, CONNECTED):
            # Also during the handshake: the client may leave before the server delivered
            # websocket.connect (accept() reports that as WebSocketDisconnect too).
            self.c = DISCONNECTED
            self._record(incoming.code, incoming.reason)
            return Expect(value=ev.Disconnect(code=incoming.code, reason=incoming.reason))
        return Expect(raises=(ProtocolError,))

    def denial(self, steps: tuple[Outgoing, ...]) -> Expect:
        if not self.denial_ext:
            return Expect(raises=(ProtocolError,))
        if self.a != CONNECTING:
            return Expect(raises=(WebSocketStateError,))
        sends = 0
        for step in steps:
            result = self.raw_send(step)
            sends += result.sends
            if result.raises:
                result.sends = sends
                return result
        if self.a == RESPONSE:
            return Expect(raises=(ProtocolError,), sends=sends)
        return Expect(sends=sends)


# --- an ASGI server that checks what it is sent, independently of the model -----------------------

_TOKEN: Final = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


def _header_problem(headers: object) -> str:
    if not isinstance(headers, list):
        return f"headers must be a list, got {headers!r}"
    for pair in headers:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            return f"header {pair!r} is not a 2-tuple"
        name, value = pair
        if type(name) is not bytes or type(value) is not bytes:
            return f"header {pair!r} is not a pair of bytes"
        if not name or not _TOKEN.issuperset(name):  # lower-case tokens only (ASGI: accept)
            return f"header name {name!r} is not a lower-case token"
        if b"\r" in value or b"\n" in value or b"\0" in value:
            return f"header value {value!r} has CR, LF or NUL"
        if name == b"sec-websocket-protocol":
            return "sec-websocket-protocol set by hand"
    return ""


class FakeServer:
    """Delivers queued events; checks each event it is sent as an ASGI server would need it."""

    def __init__(self, offered: list[str], spec: tuple[int, int], denial_ext: bool) -> None:
        self.offered = offered
        self.spec = spec
        self.denial_ext = denial_ext
        self.queue: list[Incoming] = []
        self.sent: list[Message] = []
        self.violations: list[str] = []
        self.phase = "handshake"  # handshake | open | response | closed
        self.connect_delivered = False
        self.client_gone = False  # set by the machine from the model before each call
        self.broken = False
        # Two tasks: a receive with nothing queued parks (waits, as a real server's receive
        # does) when ``park_receive`` is set, and a send parks before it reaches the peer when
        # ``park_send`` is set, so that other calls run while it waits.
        self.park_receive = False
        self.park_send = False
        extensions: dict[str, object] = {"websocket.http.response": {}} if denial_ext else {}
        self.scope: Scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": f"{spec[0]}.{spec[1]}"},
            "scheme": "ws",
            "server": ("testserver", 80),
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "subprotocols": list(offered),
            "extensions": extensions,
        }

    async def receive(self) -> Message:
        if not self.queue and self.park_receive:
            self.park_receive = False
            await _Park()
        if not self.queue:
            raise Starved
        incoming = self.queue.pop(0)
        # The first connect handed out is always the one that opens the connection: the only
        # calls that read while the client side is CONNECTING are accept() and receive().
        if incoming.kind == "connect":
            self.connect_delivered = True
        return incoming.message  # type: ignore[return-value]  # malformed on purpose

    async def send(self, message: Message) -> None:
        problem = self._problem(message)
        if problem:
            self.violations.append(f"{problem}: {message!r}")
        if self.park_send:
            self.park_send = False
            await _Park()  # the peer is slow: the event is on its way, not yet out
        if self.broken:
            raise ConnectionResetError("the peer is gone")
        self.sent.append(message)

    def _problem(self, message: object) -> str:
        if type(message) is not dict:
            return "not a plain dict"
        event_type = message.get("type")
        if self.client_gone:
            return "sent after the client disconnected"
        allowed = {
            "handshake": {"websocket.accept", "websocket.close"}
            | ({"websocket.http.response.start"} if self.denial_ext else set()),
            "open": {"websocket.send", "websocket.close"},
            "response": {"websocket.http.response.body"},
            "closed": set(),
        }[self.phase]
        if event_type not in allowed:
            return f"{event_type!r} is not allowed in phase {self.phase}"
        keys = set(message) - {"type"}
        if event_type == "websocket.accept":
            self.phase = "open"
            if not self.connect_delivered:
                return "accept before websocket.connect was delivered"
            if not keys <= {"subprotocol", "headers"}:
                return f"unknown keys {keys}"
            if "headers" in message and self.spec < (2, 1):
                return "accept headers need spec 2.1"
            subprotocol = message.get("subprotocol")
            if subprotocol is not None and subprotocol not in self.offered:
                return "subprotocol not offered"
            return _header_problem(message.get("headers", []))
        if event_type == "websocket.send":
            data, text = message.get("bytes"), message.get("text")
            if not keys <= {"bytes", "text"}:
                return f"unknown keys {keys}"
            if (type(data) is bytes) + (type(text) is str) != 1 or (data is None) == (text is None):
                return "exactly one of bytes/text must be set"
            return ""
        if event_type == "websocket.close":
            self.phase = "closed"
            if not keys <= {"code", "reason"}:
                return f"unknown keys {keys}"
            if not _close_code_ok(message.get("code", 1000)):
                return "unsendable close code"
            if "reason" in message:
                if self.spec < (2, 3):
                    return "close reason needs spec 2.3"
                if not (isinstance(message["reason"], str) and _close_reason_ok(message["reason"])):
                    return "bad close reason"
            return ""
        if event_type == "websocket.http.response.start":
            self.phase = "response"
            status = message.get("status")
            if not (type(status) is int and 100 <= status <= 599):
                return "bad status"
            return _header_problem(message.get("headers", []))
        # websocket.http.response.body
        if message.get("more_body") is not True:
            self.phase = "closed"
        if (
            type(message.get("body", b"")) is not bytes
            or type(message.get("more_body", False)) is not bool
        ):
            return "bad body event"
        return ""


# --- the machine ----------------------------------------------------------------------------------

SUBPROTOCOLS: Final[tuple[object, ...]] = (None, "chat", "json", "mqtt", 5)
HEADERS: Final[tuple[tuple[object, bool], ...]] = (  # (headers, valid)
    (None, True),
    ([(b"x-a", b"1")], True),
    ({"X-B": "2"}, True),
    ([("X-C", "v"), ("x-c", "w")], True),
    ([("x-c", "a\r\nb")], False),
    ([(b"x-d", b"a\x00")], False),
    ([(b"x\0", b"1")], False),
    ([(b"bad name", b"1")], False),
    ([(b"sec-websocket-protocol", b"chat")], False),
    ("x-a: 1", False),
    ([(b"x",)], False),
)
TEXT_ARGS: Final[tuple[object, ...]] = ("hi", "", "\u00e9t\u00e9", b"bytes", 3, None)
BYTES_ARGS: Final[tuple[object, ...]] = (b"x", b"", bytearray(b"y"), memoryview(b"z"), "str", 1)
JSON_ARGS: Final[tuple[object, ...]] = ({"x": 1}, [1, 2], Point(3), "s", object())
CLOSE_CODES: Final[tuple[object, ...]] = (
    1000, 1001, 1003, 1004, 1005, 1006, 1007, 1014, 1015, 1016, 2999, 3000, 4999, 5000, 999, 0,
    -1, "1000", None, 1000.0, True, Code.NORMAL, Code.GOING_AWAY, Code.RESERVED,
)  # fmt: skip
#: JSON modes; the last three are refused with ValueError in both builds.
MODES: Final[tuple[object, ...]] = ("text", "binary", "xml", 5, None)
CLOSE_REASONS: Final[tuple[object, ...]] = (
    None, "", "bye", "x" * 123, "x" * 124, "\u00e9" * 61, "\u00e9" * 62, 5, b"bye", "\ud800",
)  # fmt: skip


#: What may escape a call: typedws's errors, ValueError/TypeError for bad arguments, and the two
#: test-harness signals. (A denial response without server support is a ProtocolError now.)
DOCUMENTED: Final = (
    WebSocketError,
    ValueError,
    TypeError,
    Starved,
    StopAsyncIteration,
)


def _decode_json(typed: bool) -> Callable[[Payload], object]:
    return lambda p: p.json_point if typed else p.json


def _decode_msgpack(typed: bool) -> Callable[[Payload], object]:
    return lambda p: p.msgpack_point if typed else p.msgpack


def _no_reader(machine: ConnectionMachine) -> bool:
    return machine.reader is None


def _no_writer(machine: ConnectionMachine) -> bool:
    return machine.writer is None


def _no_task(machine: ConnectionMachine) -> bool:
    return machine.reader is None and machine.writer is None


#: The receives a parked reader may be waiting in: (kind, wants text, decode).
READER_KINDS: Final = ("text", "bytes", "json-text", "json-binary", "raw", "raw-event", "iter-text")
#: The sends a parked writer may be waiting in.
WRITER_KINDS: Final = ("text", "json", "close", "raw-close", "raw-bytes")


class ConnectionMachine(RuleBasedStateMachine):
    """Plays one connection; a reader task and a writer task may also be parked at once.

    A parked reader waits in the server's ``receive`` (nothing was queued) while other rules run,
    writers among them; ``resume_reader`` hands it an event. A parked writer's event sits in the
    server's ``send`` (a slow peer) while a reader runs; ``resume_writer`` lets it out, or has it
    fail when the transport broke meanwhile. That is the race of a handler with a receive loop and
    a send loop: the model says what each task must see whatever happened in between.
    """

    server: FakeServer
    model: Model
    ws: WebSocket

    def __init__(self) -> None:
        super().__init__()
        #: The parked reader: its coroutine, and how the model finishes it.
        self.reader: tuple[Coroutine[Any, Any, Any], Callable[[Incoming], Expect]] | None = None
        #: The parked writer: its coroutine, and what the model says when it is let out.
        self.writer: tuple[Coroutine[Any, Any, Any], Callable[[], Expect]] | None = None

    @initialize(
        offered=st.sampled_from([[], ["chat"], ["chat", "json"]]),
        spec=st.sampled_from([(2, 0), (2, 1), (2, 3), (2, 4)]),
        denial_ext=st.booleans(),
        opening=st.sampled_from(["none", "connected", "accepted", "accepted"]),
    )
    def start(
        self, offered: list[str], spec: tuple[int, int], denial_ext: bool, opening: str
    ) -> None:
        self.server = FakeServer(offered, spec, denial_ext)
        self.model = Model(offered=offered, denial_ext=denial_ext)
        self.ws = WebSocket(self.server.scope, self.server.receive, self.server.send)
        # Random calls rarely open a connection before something closes it: start half of the
        # runs with an accepted connection, so that data flows and the late states are reached.
        if opening != "none":
            self._feed(CONNECTS[0])
        if opening == "connected":
            self._run(self.model.raw_receive(), self.ws.receive_event)
        elif opening == "accepted":
            self._run(self.model.accept(()), self.ws.accept)

    # -- running a call and comparing it with the model --------------------------------------

    def _feed(self, incoming: Incoming | None) -> None:
        if incoming is not None:
            self.server.queue.append(incoming)
            self.model.queue.append(incoming)

    def _run(self, expect: Expect, call: Callable[[], Any]) -> None:
        before = len(self.server.sent)
        raised: BaseException | None = None
        result: object = None
        try:
            result = call()
            if isinstance(result, Coroutine):
                result = drive(result)
        except Suspended:
            raise
        except BaseException as exc:
            raised = exc
        if raised is None:
            assert not expect.raises, f"expected one of {expect.raises}, got result {result!r}"
            if expect.value is not NOTHING:
                assert result == expect.value, f"got {result!r}, expected {expect.value!r}"
        else:
            assert expect.raises, f"unexpected {raised!r}"
            assert isinstance(raised, expect.raises), (
                f"expected one of {expect.raises}, got {raised!r}"
            )
            assert isinstance(raised, DOCUMENTED), f"undocumented {raised!r}"
            if isinstance(raised, WebSocketDisconnect) and expect.code is not None:
                assert raised.code == expect.code, f"code {raised.code}, expected {expect.code}"
            if not isinstance(raised, (Starved, StopAsyncIteration)):
                assert str(raised), f"{raised!r} has no message"
        sent = self.server.sent[before:]
        assert len(sent) == expect.sends, f"sent {sent!r}, expected {expect.sends} events"

    def _prepare(self) -> None:
        self.server.client_gone = self.model.c == DISCONNECTED

    def teardown(self) -> None:
        for task in (self.reader, self.writer):
            if task is not None:
                task[0].close()

    # -- two tasks: a reader and a writer parked in the server ---------------------------------

    @precondition(_no_reader)
    @rule(kind=st.sampled_from(READER_KINDS), typed=st.booleans())
    def park_reader(self, kind: str, typed: bool) -> None:
        """Start a receive with nothing queued: it waits in the server (or is refused first)."""
        self._prepare()
        model = self.model
        target: Any = Point if typed else None
        call: Callable[[], Coroutine[Any, Any, Any]]
        finish: Callable[[Incoming], Expect]
        if kind == "raw":
            refused = model.raw_receive_refused()
            call = self.ws.receive
            finish = lambda incoming: as_message(model.raw_arrives(incoming))  # noqa: E731
        elif kind == "raw-event":
            refused = model.raw_receive_refused()
            call = self.ws.receive_event
            finish = model.raw_arrives
        elif kind == "iter-text" and model.c == DISCONNECTED:
            refused = Expect(raises=(StopAsyncIteration,))
            call = self.ws.iter_text().__anext__
            finish = model.raw_arrives  # never used: refused
        else:
            refused = model.receive_refused()
            want_text = kind in ("text", "json-text", "iter-text")
            decode: Callable[[Payload], object] = (
                (lambda p: p.frame)
                if kind in ("text", "bytes", "iter-text")
                else _decode_json(typed)
            )

            def finish(incoming: Incoming) -> Expect:
                expect = model.data_arrives(incoming, want_text, decode)
                if kind == "iter-text" and WebSocketDisconnect in expect.raises:
                    return Expect(raises=(StopAsyncIteration,))
                return expect

            if kind == "text":
                call = self.ws.receive_text
            elif kind == "bytes":
                call = self.ws.receive_bytes
            elif kind == "iter-text":
                call = self.ws.iter_text().__anext__
            else:
                mode: Any = kind[5:]

                def call() -> Coroutine[Any, Any, Any]:
                    return self.ws.receive_json(mode, type=target)

        if refused is not None or model.queue:
            # Refused before it waits, or something is queued: an ordinary receive.
            incoming = model._pull() if refused is None else None
            self._run(refused if incoming is None else finish(incoming), call)  # type: ignore[arg-type]
            return
        self.server.park_receive = True
        coro = call()
        park(coro)
        self.reader = (coro, finish)

    @precondition(lambda self: self.reader is not None)
    @rule(incoming=st.sampled_from(_disconnects()) | incoming)  # the race ends in a disconnect
    def resume_reader(self, incoming: Incoming) -> None:
        """The server hands the parked reader an event (after whatever ran meanwhile)."""
        assert self.reader is not None
        coro, finish = self.reader
        self.reader = None
        self._feed(incoming)
        self._prepare()
        pulled = self.model._pull()
        assert pulled is not None
        self._run(finish(pulled), lambda: coro)

    @precondition(_no_writer)
    @rule(kind=st.sampled_from(WRITER_KINDS))
    def park_writer(self, kind: str) -> None:
        """Start a send whose event waits in the server (a slow peer), or is refused first."""
        self._prepare()
        model = self.model
        call: Callable[[], Coroutine[Any, Any, Any]]
        if kind in ("close", "raw-close"):
            refused = None
            if model.a == DISCONNECTED or model.c == DISCONNECTED:
                refused = Expect()  # a no-op
            elif model.a == RESPONSE:
                refused = Expect(
                    raises=(ProtocolError if kind == "raw-close" else WebSocketStateError,)
                )
            finish = model.close_sent
            if refused is None:
                model.a = DISCONNECTED
                model._record(1001, None)
            if kind == "close":
                call = lambda: self.ws.close(1001)  # noqa: E731
            else:
                call = lambda: self.ws.send({"type": "websocket.close", "code": 1001})  # noqa: E731
        else:
            order_error = ProtocolError if kind.startswith("raw") else WebSocketStateError
            problems = model._send_problems(order_error)
            refused = Expect(raises=problems, code=model.close_code) if problems else None
            finish = model._transmit
            if kind == "text":
                call = lambda: self.ws.send_text("slow")  # noqa: E731
            elif kind == "json":
                call = lambda: self.ws.send_json({"slow": True}, "binary")  # noqa: E731
            else:
                call = lambda: self.ws.send({"type": "websocket.send", "bytes": b"slow"})  # noqa: E731
        if refused is not None:
            self._run(refused, call)
            return
        self.server.park_send = True
        before = len(self.server.sent)
        coro = call()
        park(coro)
        assert len(self.server.sent) == before  # not out yet
        self.writer = (coro, finish)

    @precondition(lambda self: self.writer is not None)
    @rule(fail=st.booleans())
    def resume_writer(self, fail: bool) -> None:
        """The parked writer's event goes out, or the send fails if the transport broke
        (meanwhile, or now: ``fail``)."""
        assert self.writer is not None
        if fail:
            self.break_transport()
        coro, finish = self.writer
        self.writer = None
        self._run(finish(), lambda: coro)

    # -- the server side ----------------------------------------------------------------------

    @rule(incoming=incoming)
    def feed(self, incoming: Incoming) -> None:
        self._feed(incoming)

    @rule()
    def break_transport(self) -> None:
        self.server.broken = True
        self.model.broken = True

    # -- the application side -----------------------------------------------------------------

    @precondition(_no_task)
    @rule(
        pre=maybe_incoming,
        subprotocol=st.sampled_from(SUBPROTOCOLS),
        headers=st.sampled_from(HEADERS),
    )
    def accept(
        self, pre: Incoming | None, subprotocol: object, headers: tuple[object, bool]
    ) -> None:
        self._feed(pre)
        self._prepare()
        errors: tuple[type[BaseException], ...] = ()
        if subprotocol is not None and not isinstance(subprotocol, str):
            errors += (TypeError,)
        elif subprotocol is not None and subprotocol not in self.model.offered:
            errors += (ValueError,)
        if not headers[1]:
            errors += (ValueError,)
        expect = self.model.accept(errors)
        self._run(expect, lambda: self.ws.accept(subprotocol, headers[0]))  # type: ignore[arg-type]

    @precondition(_no_writer)
    @rule(data=st.sampled_from(TEXT_ARGS))
    def send_text(self, data: Any) -> None:  # Any: wrong types on purpose
        self._prepare()
        expect = self.model.send_data(None if isinstance(data, str) else TypeError)
        self._run(expect, lambda: self.ws.send_text(data))

    @precondition(_no_writer)
    @rule(data=st.sampled_from(BYTES_ARGS))
    def send_bytes(self, data: Any) -> None:  # Any: wrong types on purpose
        self._prepare()
        ok = isinstance(data, (bytes, bytearray, memoryview))
        expect = self.model.send_data(None if ok else TypeError)
        self._run(expect, lambda: self.ws.send_bytes(data))

    @precondition(_no_writer)
    @rule(data=st.sampled_from(JSON_ARGS), mode=st.sampled_from(MODES))
    def send_json(self, data: object, mode: str) -> None:
        self._prepare()
        bad_data = type(data) is object
        bad_mode = mode not in ("text", "binary")
        if bad_data or bad_mode:
            problems = self.model._send_problems(WebSocketStateError)
            errors: tuple[type[BaseException], ...] = (TypeError,) if bad_data else ()
            if bad_mode:
                errors += (ValueError, *ILL_TYPED)
            expect = Expect(
                raises=(*problems, *errors),
                code=self.model.close_code,
            )
        else:
            expect = self.model.send_data(None)
        self._run(expect, lambda: self.ws.send_json(data, mode))  # type: ignore[arg-type]

    @precondition(_no_writer)
    @rule(data=st.sampled_from(JSON_ARGS))
    def send_msgpack(self, data: object) -> None:
        self._prepare()
        expect = self.model.send_data(TypeError if type(data) is object else None)
        self._run(expect, lambda: self.ws.send_msgpack(data))

    @precondition(_no_reader)
    @rule(pre=maybe_incoming)
    def receive_text(self, pre: Incoming | None) -> None:
        self._feed(pre)
        self._prepare()
        expect = self.model.receive_data(True, lambda p: p.frame)
        self._run(expect, self.ws.receive_text)

    @precondition(_no_reader)
    @rule(pre=maybe_incoming)
    def receive_bytes(self, pre: Incoming | None) -> None:
        self._feed(pre)
        self._prepare()
        expect = self.model.receive_data(False, lambda p: p.frame)
        self._run(expect, self.ws.receive_bytes)

    @precondition(_no_reader)
    @rule(pre=maybe_incoming, mode=st.sampled_from(MODES), typed=st.booleans())
    def receive_json(self, pre: Incoming | None, mode: Any, typed: bool) -> None:
        self._feed(pre)
        self._prepare()
        if mode not in ("text", "binary"):
            expect = Expect(raises=(ValueError, *ILL_TYPED))
        else:
            expect = self.model.receive_data(mode == "text", _decode_json(typed))
        target: Any = Point if typed else None
        self._run(expect, lambda: self.ws.receive_json(mode, type=target))

    @precondition(_no_reader)
    @rule(pre=maybe_incoming, typed=st.booleans())
    def receive_msgpack(self, pre: Incoming | None, typed: bool) -> None:
        self._feed(pre)
        self._prepare()
        expect = self.model.receive_data(False, _decode_msgpack(typed))
        target: Any = Point if typed else None
        self._run(expect, lambda: self.ws.receive_msgpack(type=target))

    @precondition(_no_reader)
    @rule(
        pre=maybe_incoming,
        kind=st.sampled_from(["text", "bytes", "json-text", "json-binary", "msgpack"]),
        typed=st.booleans(),
    )
    def iter_step(self, pre: Incoming | None, kind: str, typed: bool) -> None:
        """One ``__anext__`` of a fresh iterator: a disconnect ends it quietly."""
        self._feed(pre)
        self._prepare()
        target: Any = Point if typed else None
        iterator: Any
        if self.model.c == DISCONNECTED:
            expect = Expect(raises=(StopAsyncIteration,))
        else:
            decode: Callable[[Payload], object] = {
                "text": lambda p: p.frame,
                "bytes": lambda p: p.frame,
                "json-text": _decode_json(typed),
                "json-binary": _decode_json(typed),
                "msgpack": _decode_msgpack(typed),
            }[kind]
            expect = self.model.receive_data(kind in ("text", "json-text"), decode)
            if WebSocketDisconnect in expect.raises:
                expect = Expect(raises=(StopAsyncIteration,))
        if kind == "text":
            iterator = self.ws.iter_text()
        elif kind == "bytes":
            iterator = self.ws.iter_bytes()
        elif kind == "msgpack":
            iterator = self.ws.iter_msgpack(type=target)
        else:
            mode: Any = kind[5:]
            iterator = self.ws.iter_json(mode, type=target)
        assert iterator.__aiter__() is iterator
        self._run(expect, iterator.__anext__)

    @precondition(_no_writer)
    @rule(code=st.sampled_from(CLOSE_CODES), reason=st.sampled_from(CLOSE_REASONS))
    def close(self, code: object, reason: object) -> None:
        self._prepare()
        expect = self.model.close(code, reason)
        self._run(expect, lambda: self.ws.close(code, reason))  # type: ignore[arg-type]

    @precondition(_no_writer)
    @rule(out=outgoing)
    def raw_send(self, out: Outgoing) -> None:
        self._prepare()
        expect = self.model.raw_send(out)
        message: Any = out.message  # malformed on purpose, some of them
        self._run(expect, lambda: self.ws.send(message))

    @precondition(_no_reader)
    @rule(pre=maybe_incoming, struct=st.booleans())
    def raw_receive(self, pre: Incoming | None, struct: bool) -> None:
        """``receive()`` (the ASGI dict) or ``receive_event()`` (the Struct)."""
        self._feed(pre)
        self._prepare()
        expect = self.model.raw_receive()
        if struct:
            self._run(expect, self.ws.receive_event)
        else:
            self._run(as_message(expect), self.ws.receive)

    @precondition(_no_writer)
    @rule(name=st.sampled_from(sorted(DENIALS)))
    def denial(self, name: str) -> None:
        self._prepare()
        steps = DENIALS[name]
        expect = self.model.denial(steps)
        self._run(expect, lambda: self.ws.send_denial_response(denial_app(steps)))

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def states_match(self) -> None:
        if not hasattr(self, "ws"):
            return
        assert self.ws.client_state.name == self.model.c
        assert self.ws.application_state.name == self.model.a
        assert self.ws.close_code == self.model.close_code
        assert self.ws.close_reason == self.model.close_reason
        assert len(self.server.queue) == len(self.model.queue)
        # Shown by --hypothesis-show-statistics: how often each pair of states is reached.
        event(f"client {self.model.c}, application {self.model.a}")

    @invariant()
    def server_saw_only_legal_events(self) -> None:
        if hasattr(self, "server"):
            assert not self.server.violations, self.server.violations


TestConnectionMachine = ConnectionMachine.TestCase
TestConnectionMachine.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    report_multiple_bugs=False,
)


def test_payload_table_agrees_with_msgspec() -> None:
    """The hand-written decode table agrees with a direct msgspec decode of each payload."""
    for payload in PAYLOADS:
        for typed, expected in ((False, payload.json), (True, payload.json_point)):
            decoder = msgspec.json.Decoder(Point if typed else Any)
            try:
                got: object = decoder.decode(payload.frame)
            except (msgspec.DecodeError, UnicodeError):
                got = BAD
            assert got == expected or (got is BAD and expected is BAD), (payload, typed, got)
        if isinstance(payload.frame, bytes):
            for typed, expected in ((False, payload.msgpack), (True, payload.msgpack_point)):
                mdecoder = msgspec.msgpack.Decoder(Point if typed else Any)
                try:
                    got = mdecoder.decode(payload.frame)
                except msgspec.DecodeError:
                    got = BAD
                assert got == expected or (got is BAD and expected is BAD), (payload, typed, got)


def test_mapping_events_are_read_like_dicts() -> None:
    """A read-only mapping from a server is accepted like a dict (ASGI events are mappings)."""
    server = FakeServer([], (2, 4), False)
    ws = WebSocket(server.scope, server.receive, server.send)
    server.queue.append(CONNECTS[2])
    assert drive(ws.receive_event()) == ev.Connect()
    assert isinstance(CONNECTS[2].message, Mapping)


# --- the bugs the fuzzer found, pinned as plain examples (asyncio and trio) -----------------------


@pytest.mark.anyio
async def test_sending_after_the_transport_broke_keeps_raising_1006() -> None:
    server = FakeScriptServer()
    ws = await accepted(server)
    server.send_error = ConnectionResetError("peer gone")
    for _ in range(2):  # the second send too: not a state error, the app closed nothing
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.send_text("x")
        assert info.value.code == 1006
    assert ws.client_state is WebSocketState.DISCONNECTED
    assert ws.application_state is WebSocketState.DISCONNECTED
    assert ws.close_code == 1006
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.send({"type": "websocket.send", "text": "x"})
    assert info.value.code == 1006
    await ws.close()  # a no-op now
    assert server.sent == [{"type": "websocket.accept", "subprotocol": None}]


@pytest.mark.anyio
async def test_accept_after_the_client_left_sends_nothing() -> None:
    server = FakeScriptServer([CONNECT, disconnect(1001, "gone")])
    ws = server.websocket()
    assert await ws.receive_event() == ev.Connect()
    assert await ws.receive() == {"type": "websocket.disconnect", "code": 1001, "reason": "gone"}
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.accept()
    assert (info.value.code, info.value.reason) == (1001, "gone")
    with pytest.raises(WebSocketDisconnect):
        await ws.send({"type": "websocket.accept"})
    assert server.sent == []
    assert ws.application_state is WebSocketState.CONNECTING


@pytest.mark.anyio
async def test_denial_response_after_the_client_left_sends_nothing() -> None:
    scope = make_scope(extensions={"websocket.http.response": {}})
    server = FakeScriptServer([CONNECT, disconnect(1006)], scope=scope)
    ws = server.websocket()
    await ws.receive()
    await ws.receive()
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.send_denial_response(denial_app(DENIALS["plain"]))
    assert info.value.code == 1006
    assert server.sent == []


@pytest.mark.anyio
async def test_data_frame_after_a_rejected_handshake_is_a_protocol_error() -> None:
    server = FakeScriptServer([CONNECT])
    ws = server.websocket()
    await ws.receive()
    await ws.close(1008)  # rejects the handshake: no WebSocket is opened
    server.queue(text("late"), text("late"), disconnect(1006))
    with pytest.raises(ProtocolError, match="rejected the handshake"):
        await ws.receive_text()
    with pytest.raises(ProtocolError, match="rejected the handshake"):
        await ws.receive()
    assert await ws.receive_event() == ev.Disconnect(code=1006)


@pytest.mark.anyio
async def test_raw_close_on_a_broken_transport_is_quiet_like_close() -> None:
    server = FakeScriptServer()
    ws = await accepted(server)
    server.send_error = BrokenPipeError()
    await ws.send({"type": "websocket.close", "code": 1001})
    assert ws.client_state is WebSocketState.DISCONNECTED
    assert ws.application_state is WebSocketState.DISCONNECTED
    assert ws.close_code == 1001


@pytest.mark.anyio
async def test_raw_denial_response_needs_the_extension() -> None:
    server = FakeScriptServer([CONNECT])
    ws = server.websocket()
    await ws.receive()
    with pytest.raises(ProtocolError, match=r"websocket\.http\.response"):
        await ws.send({"type": "websocket.http.response.start", "status": 403})
    assert server.sent == []
    assert ws.application_state is WebSocketState.CONNECTING


@pytest.mark.anyio
async def test_raw_accept_has_no_headers_field_before_spec_2_1() -> None:
    server = FakeScriptServer([CONNECT], scope=make_scope(spec_version="2.0"))
    ws = server.websocket()
    await ws.receive()
    await ws.send(ev.Accept())
    assert server.sent == [{"type": "websocket.accept", "subprotocol": None}]


@pytest.mark.anyio
async def test_int_enum_close_codes_are_ints_both_ways() -> None:
    """uvicorn's websockets implementation reports disconnects with websockets' CloseCode, an
    IntEnum: found by tests/test_load.py, where it surfaced as a ProtocolError."""
    server = FakeScriptServer([{"type": "websocket.disconnect", "code": Code.ABNORMAL}])
    ws = await accepted(server)
    with pytest.raises(WebSocketDisconnect) as info:
        await ws.receive_text()
    assert info.value.code == 1006
    assert type(ws.close_code) is int
    for close in (ws.close, ws.send):
        server = FakeScriptServer()
        ws = await accepted(server)
        if close == ws.close:
            await ws.close(Code.GOING_AWAY)
        else:
            await ws.send({"type": "websocket.close", "code": Code.GOING_AWAY})
        assert server.sent[-1]["code"] == 1001
        assert type(server.sent[-1]["code"]) is int  # plain int on the wire
    with pytest.raises(ValueError, match="got bool" if not COMPILED else "code 1 may not be sent"):
        await FakeScriptServer().websocket().close(True)
