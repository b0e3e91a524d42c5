"""typedws apps tested through Starlette's own TestClient, which declares no ASGI spec_version.

A server that declares none gets every field the application asked for (docs/behaviour.md): the
accept headers and the close reason must arrive, not be left out as for a server that declares
an older version.
"""

from __future__ import annotations

import pytest

from typedws import WebSocket, websocket_app

testclient = pytest.importorskip(
    "starlette.testclient", reason="Starlette's TestClient needs httpx2 (requirements/test.txt)"
)
websockets_module = pytest.importorskip("starlette.websockets")


@websocket_app
async def greeter(ws: WebSocket) -> None:
    assert "spec_version" not in ws.scope.get("asgi", {})  # what this file is about
    await ws.accept(subprotocol="chat.v1", headers=[(b"x-greeting", b"hello")])
    name = await ws.receive_text()
    await ws.send_text(f"hi {name}")
    await ws.close(4001, reason="that is all")


def test_accept_headers_and_subprotocol_arrive() -> None:
    with (
        testclient.TestClient(greeter) as client,
        client.websocket_connect("/", subprotocols=["chat.v1"]) as session,
    ):
        assert session.accepted_subprotocol == "chat.v1"
        assert session.extra_headers == [(b"x-greeting", b"hello")]
        session.send_text("ada")
        assert session.receive_text() == "hi ada"
        with pytest.raises(websockets_module.WebSocketDisconnect) as info:
            session.receive_text()
    assert info.value.code == 4001
    assert info.value.reason == "that is all"
