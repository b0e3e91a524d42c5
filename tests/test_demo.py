"""The chat demo: its protocol in memory, and ``python -m typedws.demo`` as a real process."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys

import msgspec
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from servers import ServerProcess, free_port
from typedws.demo import Hub, make_app
from typedws.demo.__main__ import main
from typedws.demo.protocol import Error, Joined, Left, Said, ServerMessage
from typedws.testing import Closed, Rejected, Session, connect

anyio = pytest.mark.anyio


async def receive(session: Session) -> ServerMessage:
    message: ServerMessage = await session.receive_json(type=ServerMessage)
    return message


@anyio
async def test_join_and_broadcast() -> None:
    app = make_app()
    async with connect(app, "/ws") as ada, connect(app, "/ws") as bob:
        await ada.send_json({"type": "join", "name": "ada"})
        assert await receive(ada) == Joined(name="ada", members=["ada"])
        await bob.send_json({"type": "join", "name": "bob"})
        # Everyone in the room hears about bob, bob included.
        assert await receive(ada) == Joined(name="bob", members=["ada", "bob"])
        assert await receive(bob) == Joined(name="bob", members=["ada", "bob"])
        await bob.send_json({"type": "message", "text": "hi all"})
        assert await receive(ada) == Said(name="bob", text="hi all")
        assert await receive(bob) == Said(name="bob", text="hi all")
        await bob.send_json({"type": "leave"})
        assert await receive(ada) == Left(name="bob", members=["ada"])
        with pytest.raises(Closed) as caught:
            await receive(bob)
        assert caught.value.code == 1000


@anyio
async def test_disconnect_counts_as_leaving() -> None:
    app = make_app()
    async with connect(app, "/ws") as ada:
        await ada.send_json({"type": "join", "name": "ada"})
        await receive(ada)
        async with connect(app, "/ws") as bob:
            await bob.send_json({"type": "join", "name": "bob"})
            await receive(bob)
            await receive(ada)
        assert await receive(ada) == Left(name="bob", members=["ada"])
    assert app.hub.names == []


@pytest.mark.parametrize(
    ("sent", "detail"),
    [
        ('{"type": "message", "text": 42}', "Expected `str`, got `int` - at `$.text`"),
        ('{"type": "shout", "text": "hi"}', "Invalid value 'shout' - at `$.type`"),
        ('{"type": "join", "name": ""}', "Expected `str` of length >= 1 - at `$.name`"),
        ('{"type": "join", "name": "a", "admin": true}', "unknown field `admin`"),
        ("not json", "malformed"),
    ],
)
@anyio
async def test_invalid_messages_get_an_error_and_keep_the_connection(
    sent: str, detail: str
) -> None:
    app = make_app()
    async with connect(app, "/ws") as session:
        await session.send_text(sent)
        reply = await receive(session)
        assert isinstance(reply, Error)
        assert detail.lower() in reply.detail.lower()
        # Still connected, and still usable.
        await session.send_json({"type": "join", "name": "ada"})
        assert await receive(session) == Joined(name="ada", members=["ada"])


@anyio
async def test_session_rules() -> None:
    app = make_app()
    async with connect(app, "/ws") as ada, connect(app, "/ws") as other:
        await ada.send_json({"type": "message", "text": "too early"})
        assert await receive(ada) == Error(detail="join the room before sending messages")
        await ada.send_json({"type": "join", "name": "ada"})
        await receive(ada)
        await ada.send_json({"type": "join", "name": "ada2"})
        assert await receive(ada) == Error(detail="already joined as 'ada'")
        await other.send_json({"type": "join", "name": "ada"})
        assert await receive(other) == Error(detail="the name 'ada' is taken; pick another one")


@anyio
async def test_hub_drops_a_member_whose_connection_failed() -> None:
    class Broken:
        async def send_text(self, text: str) -> None:
            raise OSError("gone")

    hub = Hub()
    hub.add(Broken(), "ghost")  # type: ignore[arg-type]
    await hub.publish(Said(name="x", text="y"))
    assert hub.names == []


@anyio
async def test_page_and_not_found() -> None:
    app = make_app()
    sent: list[dict[str, object]] = []

    async def receive_http() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app({"type": "http", "path": "/"}, receive_http, send)  # type: ignore[arg-type]
    start, body_event = sent
    assert start["status"] == 200
    body = body_event["body"]
    assert isinstance(body, bytes)
    assert b"<title>typedws chat</title>" in body
    sent.clear()
    await app({"type": "http", "path": "/nope"}, receive_http, send)  # type: ignore[arg-type]
    not_found, _ = sent
    assert not_found["status"] == 404
    with pytest.raises(Rejected) as caught:
        async with connect(app, "/elsewhere"):
            pass
    assert caught.value.status == 404
    with pytest.raises(Rejected) as caught:
        async with connect(app, "/elsewhere", denial_response=False):
            pass
    assert caught.value.status == 403


def test_main_rejects_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--port", "eighty"])
    assert "invalid int value: 'eighty'" in capsys.readouterr().err


# --- the real thing: python -m typedws.demo ------------------------------------------------


def test_python_m_typedws_demo() -> None:
    """Starts uvicorn, prints the URL, serves the page and the chat, stops cleanly on Ctrl-C."""
    port = free_port()
    demo = ServerProcess("typedws.demo", ["typedws.demo", "--port", str(port)], port).start()
    try:
        assert f"open http://127.0.0.1:{port}/" in demo.output()
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        client.request("GET", "/")
        page = client.getresponse()
        assert page.status == 200
        assert page.getheader("content-type") == "text/html; charset=utf-8"
        assert b'new WebSocket(scheme + location.host + "/ws")' in page.read()
        client.close()

        url = f"ws://127.0.0.1:{port}/ws"
        with ws_connect(url, open_timeout=10) as ada, ws_connect(url, open_timeout=10) as bob:
            ada.send('{"type": "join", "name": "ada"}')
            assert msgspec.json.decode(ada.recv(timeout=10))["type"] == "joined"
            bob.send('{"type": "join", "name": "bob"}')
            ada.recv(timeout=10)
            bob.recv(timeout=10)
            bob.send('{"type": "message", "text": "over the wire"}')
            said = msgspec.json.decode(ada.recv(timeout=10))
            assert said == {"type": "message", "name": "bob", "text": "over the wire"}
            assert msgspec.json.decode(bob.recv(timeout=10)) == said
            bob.send('{"type": "message"}')
            error = msgspec.json.decode(bob.recv(timeout=10))
            assert error["type"] == "error"
            assert "missing required field `text`" in error["detail"]
            # Ctrl-C with pages still connected: uvicorn closes them (1012) and exits.
            code = demo.stop(signal.SIGINT)
            with pytest.raises(ConnectionClosed) as closed:
                ada.recv(timeout=10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1012
        output = demo.output()
        assert code == 0, output
        assert "Traceback" not in output
        assert "typedws chat demo: stopped" in output
    finally:
        demo.stop()


def test_python_m_typedws_demo_port_in_use() -> None:
    port = free_port()
    first = ServerProcess("typedws.demo", ["typedws.demo", "--port", str(port)], port).start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "typedws.demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        first.stop()
    assert result.returncode != 0
    assert "address already in use" in (result.stdout + result.stderr).lower()
