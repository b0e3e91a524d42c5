"""The per-message fast paths give what the general paths give, and leave every other case to
them (same result, same error), in both builds.

Each fast path (a data frame in a plain dict or a ``Send`` Struct while data may flow) checks the
event inline; anything it does not accept falls through to the general checks. These tests feed
each path the frames it takes and the near misses it must hand on.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from fakes import FakeServer, accepted, text
from typedws import PayloadError, ProtocolError, WebSocketDisconnect
from typedws._validate import close_reason_problem
from typedws.events import Accept, Close, Receive, ResponseBody, ResponseStart, Send

pytestmark = pytest.mark.anyio


class Chat(msgspec.Struct):
    user: str
    text: str


# --- raw send --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        ({"type": "websocket.send", "text": "hi"}, {"type": "websocket.send", "text": "hi"}),
        (
            {"type": "websocket.send", "bytes": b"\x01"},
            {"type": "websocket.send", "bytes": b"\x01"},
        ),
        (Send(text="hi"), {"type": "websocket.send", "text": "hi"}),
        (Send(bytes=b"\x01"), {"type": "websocket.send", "bytes": b"\x01"}),
        # Not taken by the fast path, normalised by the general one.
        (
            {"type": "websocket.send", "bytes": bytearray(b"ab")},
            {"type": "websocket.send", "bytes": b"ab"},
        ),
        # msgspec does not check field types at construction; the send checks do.
        (Send(bytes=memoryview(b"ab")), {"type": "websocket.send", "bytes": b"ab"}),  # type: ignore[arg-type]
        (
            {"type": "websocket.send", "text": "x", "extra": 1},
            {"type": "websocket.send", "text": "x"},
        ),
    ],
)
async def test_raw_send_of_a_data_frame(event: Any, wire: dict[str, Any]) -> None:
    server = FakeServer()
    ws = await accepted(server)
    await ws.send(event)
    assert server.sent[-1] == wire
    assert server.sent[-1] is not event  # a fresh wire dict, never the caller's


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (Send(), "neither 'bytes' nor 'text' is set"),
        (Send(bytes=b"a", text="b"), "both 'bytes' and 'text' are set"),
        (Send(text=b"x"), "field 'text' must be str, got bytes"),  # type: ignore[arg-type]
        ({"type": "websocket.send", "text": None, "bytes": None}, "neither 'bytes' nor 'text'"),
        ({"type": "websocket.send", "bytes": "x"}, "field 'bytes' must be bytes, got str"),
        ({"type": "websocket.send", "text": 1}, "field 'text' must be str, got int"),
    ],
)
async def test_raw_send_of_a_malformed_data_frame(event: Any, message: str) -> None:
    server = FakeServer()
    ws = await accepted(server)
    sent = len(server.sent)
    with pytest.raises(ProtocolError, match=message):
        await ws.send(event)
    assert len(server.sent) == sent


async def test_raw_send_after_the_client_left_is_still_refused() -> None:
    server = FakeServer([{"type": "websocket.disconnect", "code": 1001}])
    ws = await accepted(server)
    await ws.receive()
    events: list[Any] = [{"type": "websocket.send", "text": "x"}, Send(text="x")]
    for event in events:
        with pytest.raises(WebSocketDisconnect):
            await ws.send(event)


async def test_raw_send_of_each_struct_kind() -> None:
    server = FakeServer([{"type": "websocket.connect"}])
    ws = server.websocket()
    await ws.receive()
    await ws.send(Accept(headers=[(b"X-A", b"1")]))
    await ws.send(Close(code=3000, reason="done"))
    assert server.sent == [
        {"type": "websocket.accept", "subprotocol": None, "headers": [(b"x-a", b"1")]},
        {"type": "websocket.close", "code": 3000, "reason": "done"},
    ]
    denial = FakeServer([{"type": "websocket.connect"}])
    denial.scope["extensions"] = {"websocket.http.response": {}}
    ws = denial.websocket()
    await ws.receive()
    await ws.send(ResponseStart(status=403))
    await ws.send(ResponseBody(body=b"no", more_body=True))
    await ws.send(ResponseBody(body=b"!"))
    assert [m["type"] for m in denial.sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
        "websocket.http.response.body",
    ]
    assert denial.sent[1]["more_body"] is True


# --- raw and typed receive -------------------------------------------------------------------


async def test_raw_receive_of_data_frames() -> None:
    server = FakeServer([text("hi"), {"type": "websocket.receive", "bytes": b"\x02"}])
    ws = await accepted(server)
    assert await ws.receive_event() == Receive(text="hi")
    assert await ws.receive_event() == Receive(bytes=b"\x02")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"type": "websocket.receive"}, "neither 'bytes' nor 'text' is set"),
        ({"type": "websocket.receive", "text": "a", "bytes": b"b"}, "both 'bytes' and 'text'"),
        ({"type": "websocket.receive", "text": b"a"}, "field 'text' must be str, got bytes"),
    ],
)
async def test_malformed_data_frames_are_refused_on_every_receive(
    event: dict[str, Any], message: str
) -> None:
    for receive in ("receive", "receive_json", "receive_text"):
        ws = await accepted(FakeServer([dict(event)]))
        with pytest.raises(ProtocolError, match=message):
            await getattr(ws, receive)()


async def test_typed_receive_fast_path_and_its_near_misses() -> None:
    frame = b'{"user":"a","text":"b"}'
    server = FakeServer(
        [
            text(frame.decode()),
            {"type": "websocket.receive", "bytes": frame},
            {"type": "websocket.receive", "bytes": frame, "text": None},  # explicit None: fine
            {"type": "websocket.receive", "bytes": frame},  # wrong kind for text mode
        ]
    )
    ws = await accepted(server)
    assert await ws.receive_json(type=Chat) == Chat("a", "b")
    assert await ws.receive_json("binary", type=Chat) == Chat("a", "b")
    assert await ws.receive_json("binary", type=Chat) == Chat("a", "b")
    with pytest.raises(PayloadError, match="got a binary frame"):
        await ws.receive_json(type=Chat)


# --- close reason size -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "fits"),
    [
        ("a" * 123, True),  # ASCII: counted without encoding
        ("a" * 124, False),
        ("\U0001f600" * 30, True),  # 120 bytes
        ("\U0001f600" * 31, False),  # 124 bytes
        ("é" * 61, True),  # 122 bytes
        ("é" * 62, False),  # 124 bytes
    ],
)
def test_close_reason_size_is_counted_in_utf8(reason: str, fits: bool) -> None:
    assert (close_reason_problem(reason) == "") is fits
