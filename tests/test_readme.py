"""The README's code blocks run as written (apart from the scripted server around them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import typedws
import typedws.client
from fakes import CONNECT, FakeServer, disconnect, text

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def _namespace(marker: str) -> dict[str, Any]:
    for block in _python_blocks():
        if marker in block:
            namespace: dict[str, Any] = {}
            exec(compile(block, str(README), "exec"), namespace)
            return namespace
    raise AssertionError(f"no README python block contains {marker!r}")


async def test_the_seed_example_echoes_in_binary_frames() -> None:
    app = _namespace("async def app(")["app"]
    server = FakeServer([CONNECT, text('{"a": 1}'), text("[2]"), disconnect(1000)])
    await app(server.scope, server.receive, server.send)
    assert server.sent == [
        {"type": "websocket.accept", "subprotocol": None},
        {"type": "websocket.send", "bytes": b'{"message":"Message text was: {\'a\': 1}"}'},
        {"type": "websocket.send", "bytes": b'{"message":"Message text was: [2]"}'},
    ]


async def test_the_typed_messages_example() -> None:
    handle = _namespace("async def handle(")["handle"]
    server = FakeServer(
        [
            CONNECT,
            text('{"type": "join", "room": "general"}'),
            text('{"type": "chat", "room": "general", "text": "hi"}'),
            text('{"type": "chat", "room": "general", "text": 5}'),
        ]
    )
    ws = server.websocket()
    with pytest.raises(typedws.PayloadError, match=r"Expected `str`, got `int` - at `\$\.text`"):
        await handle(ws)
    assert server.sent[1:] == [
        {"type": "websocket.send", "text": '{"joined":"general"}'},
        {"type": "websocket.send", "text": '{"type":"chat","room":"general","text":"HI"}'},
    ]
    # The connection is still usable after the bad message.
    server.queue(text("ok"))
    assert await ws.receive_text() == "ok"


def test_readme_error_table_lists_every_public_error() -> None:
    readme = README.read_text(encoding="utf-8")
    errors = [name for name in typedws.__all__ if name.endswith(("Error", "Disconnect"))]
    assert len(errors) == 5
    for name in errors:
        assert f"| `{name}" in readme


def _block(marker: str) -> str:
    for block in _python_blocks():
        if marker in block:
            return block
    raise AssertionError(f"no README python block contains {marker!r}")


async def test_the_endpoint_example_and_its_test_run() -> None:
    namespace = _namespace("chat = Endpoint(")
    await namespace["test_chat"]()
    assert namespace["chat"].missing() == []


async def test_the_exhaustive_match_example() -> None:
    namespace = _namespace("chat = Endpoint(")
    exec(compile(_block("async def by_hand("), str(README), "exec"), namespace)
    chat, by_hand = namespace["chat"], namespace["by_hand"]
    async with namespace["connect"](by_hand, "/chat", endpoint=chat) as client:
        await client.send(namespace["Say"](text="x"))
        assert await client.receive() == namespace["Said"](text="x")


async def test_the_network_client_example(capsys: pytest.CaptureFixture[str]) -> None:
    # Its URL needs a server: the in-memory client (the same API, tests/test_client.py runs the
    # network one against uvicorn) stands in for typedws.client.connect here.
    namespace = _namespace("chat = Endpoint(")
    exec(compile(_block("async def talk("), str(README), "exec"), namespace)
    assert namespace["connect_ws"] is typedws.client.connect
    app, connect = namespace["app"], namespace["connect"]

    def in_memory(url: str, endpoint: Any) -> Any:
        assert url == "ws://127.0.0.1:8000/chat"
        return connect(app, "/chat", endpoint=endpoint)

    namespace["connect_ws"] = in_memory
    await namespace["talk"]()
    assert capsys.readouterr().out == "Said(text='hello')\n"
