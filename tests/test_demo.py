"""The chat demo: its protocol in memory, and ``python -m typedws.demo`` as a real process.

The Redis side (``--broadcast redis://... --workers 2``) is in tests/test_demo_redis.py.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from servers import ServerProcess, free_port
from typedws.broadcast import Broadcast, Envelope, Gap
from typedws.demo import ChatApp, Hub, make_app
from typedws.demo.__main__ import main
from typedws.demo.app import DEFAULT_SERVER, asyncapi_document
from typedws.demo.hub import ROOM
from typedws.demo.protocol import Error, Joined, Left, RoomEvent, Said, ServerMessage
from typedws.testing import Closed, Rejected, Session, connect
from typedws.types import Message, Scope

anyio_mark = pytest.mark.anyio
WORKER = os.getpid()  # the in-memory app runs in the test's process
DOCS_ASYNCAPI = Path(__file__).resolve().parent.parent / "docs" / "asyncapi-demo.json"


@asynccontextmanager
async def running(app: ChatApp) -> AsyncIterator[ChatApp]:
    """Run ``app``'s ASGI lifespan around the block, as a server would."""
    to_app, app_inbox = anyio.create_memory_object_stream[Message](4)
    app_outbox, from_app = anyio.create_memory_object_stream[Message](4)
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    async with anyio.create_task_group() as tg, to_app, from_app:
        tg.start_soon(app, scope, app_inbox.receive, app_outbox.send)
        await to_app.send({"type": "lifespan.startup"})
        with anyio.fail_after(5):
            assert (await from_app.receive())["type"] == "lifespan.startup.complete"
        yield app
        await to_app.send({"type": "lifespan.shutdown"})
        with anyio.fail_after(5):
            assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"


async def receive(session: Session) -> ServerMessage:
    """The next frame the page gets, decoded and validated as the protocol says."""
    with anyio.fail_after(5):
        message: ServerMessage = await session.receive_json(type=ServerMessage)
    return message


async def event(session: Session) -> RoomEvent:
    """The next frame, which must be a room event in its envelope."""
    message = await receive(session)
    assert isinstance(message, Envelope), message
    data: RoomEvent = message.data
    return data


@anyio_mark
async def test_join_and_broadcast() -> None:
    async with running(make_app()) as app, connect(app, "/ws") as ada, connect(app, "/ws") as bob:
        await ada.send_json({"type": "join", "name": "ada"})
        joined_ada = Joined(name="ada", members=["ada"], worker=WORKER)
        assert await event(ada) == joined_ada
        assert await event(bob) == joined_ada  # bob's page is connected: it hears it too
        await bob.send_json({"type": "join", "name": "bob"})
        # Everyone in the room hears about bob, bob included.
        joined_bob = Joined(name="bob", members=["ada", "bob"], worker=WORKER)
        assert await event(ada) == joined_bob
        assert await event(bob) == joined_bob
        await bob.send_json({"type": "message", "text": "hi all"})
        assert await event(ada) == Said(name="bob", text="hi all")
        assert await event(bob) == Said(name="bob", text="hi all")
        await bob.send_json({"type": "leave"})
        assert await event(ada) == Left(name="bob", members=["ada"])
        with pytest.raises(Closed) as caught:
            await receive(bob)
        assert caught.value.code == 1000


@anyio_mark
async def test_envelope_ids_increase_and_resume_after_reconnect() -> None:
    """A page that reconnects with ?last_id= gets exactly what it missed, then live events."""
    async with running(make_app()) as app, connect(app, "/ws") as ada:
        await ada.send_json({"type": "join", "name": "ada"})
        first = await receive(ada)
        assert isinstance(first, Envelope)
        async with connect(app, "/ws") as bob:
            await bob.send_json({"type": "join", "name": "bob"})
            await receive(bob)
        for text in ("one", "two"):
            await ada.send_json({"type": "message", "text": text})
        seen = [await receive(ada) for _ in range(4)]  # bob joined, bob left, one, two
        assert all(isinstance(m, Envelope) for m in seen)
        async with connect(app, "/ws", query_string=f"last_id={first.id}".encode()) as back:
            replay = [await event(back) for _ in range(4)]
            assert replay == [m.data for m in seen if isinstance(m, Envelope)]
            await ada.send_json({"type": "message", "text": "live"})
            assert await event(back) == Said(name="ada", text="live")


@anyio_mark
async def test_resume_beyond_the_window_is_a_gap() -> None:
    app = make_app(Broadcast("memory://", retention=2))
    async with running(app), connect(app, "/ws") as ada:
        await ada.send_json({"type": "join", "name": "ada"})
        first = await receive(ada)
        assert isinstance(first, Envelope)
        for text in ("a", "b", "c"):
            await ada.send_json({"type": "message", "text": text})
            await receive(ada)
        async with connect(app, "/ws", query_string=f"last_id={first.id}".encode()) as back:
            gap = await receive(back)
            assert isinstance(gap, Gap)
            assert (gap.channel, gap.after, gap.reason, gap.missed) == (
                ROOM.name,
                first.id,
                "retention",
                1,
            )
            assert [await event(back) for _ in range(2)] == [
                Said(name="ada", text="b"),
                Said(name="ada", text="c"),
            ]


@anyio_mark
async def test_bad_last_id_is_an_error_then_live() -> None:
    async with running(make_app()) as app, connect(app, "/ws", query_string=b"last_id=x") as page:
        error = await receive(page)
        assert isinstance(error, Error)
        assert error.detail.startswith("cannot resume: ")
        assert "'x'" in error.detail
        await page.send_json({"type": "join", "name": "ada"})
        assert await event(page) == Joined(name="ada", members=["ada"], worker=WORKER)


@anyio_mark
async def test_disconnect_counts_as_leaving() -> None:
    async with running(make_app()) as app, connect(app, "/ws") as ada:
        await ada.send_json({"type": "join", "name": "ada"})
        await receive(ada)
        async with connect(app, "/ws") as bob:
            await bob.send_json({"type": "join", "name": "bob"})
            await receive(bob)
            await receive(ada)
        assert await event(ada) == Left(name="bob", members=["ada"])
        assert app.hub.names == ["ada"]


@anyio_mark
async def test_lifespan_reports_an_unreachable_broadcast() -> None:
    class Down(Broadcast):
        async def connect(self) -> None:
            raise ConnectionError("nobody home")

    app = make_app(Down())
    sent: list[dict[str, Any]] = []

    async def receive_lifespan() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive_lifespan, send)  # type: ignore[arg-type]
    assert sent == [
        {"type": "lifespan.startup.failed", "message": "Broadcast('memory://'): nobody home"}
    ]


def test_hub_member_list_is_a_fold_of_the_room() -> None:
    """Events read back from the channel (from any worker) update the list; a gap resyncs it."""
    hub = Hub(Broadcast())
    hub.add("local session", "ada")
    hub.apply(Joined(name="bob", members=["ada", "bob"], worker=1))
    hub.apply(Joined(name="ada", members=["ada"], worker=WORKER))  # our own, read back
    assert hub.names == ["ada", "bob"]
    hub.apply(Left(name="bob", members=["ada"]))
    assert hub.names == ["ada"]
    # A stale "left" of a name this worker holds again does not remove it.
    hub.apply(Left(name="ada", members=[]))
    assert hub.names == ["ada"]
    with pytest.raises(ValueError, match="the name 'ada' is taken"):
        hub.add("another session", "ada")
    hub.apply(Gap(channel=ROOM.name, after="1-1", reason="reset", missed=None))
    hub.apply(Said(name="x", text="ignored for membership"))
    hub.apply(Joined(name="eve", members=["cat", "eve"], worker=2))
    assert hub.names == ["ada", "cat", "eve"]  # the event's list, plus our own members
    assert hub.remove("local session") == "ada"
    assert hub.remove("local session") is None
    assert hub.names == ["cat", "eve"]


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
@anyio_mark
async def test_invalid_messages_get_an_error_and_keep_the_connection(
    sent: str, detail: str
) -> None:
    async with running(make_app()) as app, connect(app, "/ws") as session:
        await session.send_text(sent)
        reply = await receive(session)
        assert isinstance(reply, Error)
        assert detail.lower() in reply.detail.lower()
        # Still connected, and still usable.
        await session.send_json({"type": "join", "name": "ada"})
        assert await event(session) == Joined(name="ada", members=["ada"], worker=WORKER)


@anyio_mark
async def test_session_rules() -> None:
    async with running(make_app()) as app, connect(app, "/ws") as ada, connect(app, "/ws") as other:
        await ada.send_json({"type": "message", "text": "too early"})
        assert await receive(ada) == Error(detail="join the room before sending messages")
        await ada.send_json({"type": "join", "name": "ada"})
        await receive(ada)
        await receive(other)
        await ada.send_json({"type": "join", "name": "ada2"})
        assert await receive(ada) == Error(detail="already joined as 'ada'")
        await other.send_json({"type": "join", "name": "ada"})
        assert await receive(other) == Error(detail="the name 'ada' is taken; pick another one")


@anyio_mark
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


async def get(app: ChatApp, path: str, headers: list[tuple[bytes, bytes]], scheme: str) -> Any:
    """GET ``path`` from ``app`` in memory: (status, content-type, body)."""
    sent: list[dict[str, Any]] = []

    async def receive_http() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "headers": headers, "scheme": scheme}
    await app(scope, receive_http, send)  # type: ignore[arg-type]
    start, body = sent
    content_type = dict(start["headers"]).get(b"content-type")
    return start["status"], content_type, body["body"]


@pytest.mark.parametrize(
    ("headers", "scheme", "server"),
    [
        ([(b"host", b"chat.example:8443")], "https", "wss://chat.example:8443"),
        ([(b"Host", b"127.0.0.1:9000")], "http", "ws://127.0.0.1:9000"),
        ([], "http", DEFAULT_SERVER),  # no Host header: the default address
        ([(b"host", b"bad host/?")], "http", DEFAULT_SERVER),  # not a host: the default
    ],
)
@anyio_mark
async def test_asyncapi_document_is_served(
    headers: list[tuple[bytes, bytes]], scheme: str, server: str
) -> None:
    status, content_type, body = await get(make_app(), "/asyncapi.json", headers, scheme)
    assert status == 200
    assert content_type == b"application/json"
    doc = json.loads(body)
    assert doc == asyncapi_document(server)
    # The protocol the handlers speak, from the declaration they are registered on.
    assert doc["channels"]["ws"]["address"] == "/ws"
    operations = doc["operations"]
    assert [m["$ref"].rpartition("/")[2] for m in operations["ws_receive"]["messages"]] == [
        "Join",
        "Say",
        "Leave",
    ]
    assert [m["$ref"].rpartition("/")[2] for m in operations["ws_send"]["messages"]] == [
        "Envelope_Joined_Said_Left",
        "Gap",
        "Error",
    ]
    query = doc["channels"]["ws"]["bindings"]["ws"]["query"]
    assert list(query["properties"]) == ["last_id"]


def test_docs_asyncapi_demo_is_up_to_date() -> None:
    """docs/asyncapi-demo.json is what the demo generates (for 127.0.0.1:8000)."""
    committed = DOCS_ASYNCAPI.read_text(encoding="utf-8")
    generated = json.dumps(asyncapi_document(), indent=2, ensure_ascii=False) + "\n"
    assert committed == generated, (
        f"{DOCS_ASYNCAPI} is out of date; regenerate it with: python -c 'import json; from "
        "typedws.demo.app import asyncapi_document as d; print(json.dumps(d(), indent=2, "
        "ensure_ascii=False))' > docs/asyncapi-demo.json"
    )


def test_main_rejects_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--port", "eighty"])
    assert "invalid int value: 'eighty'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "2"], "--workers > 1 needs a shared broadcast: memory:// is one room"),
        (["--workers", "0"], "--workers must be at least 1, not 0"),
        (["--broadcast", "kafka://x"], "--broadcast: Broadcast url 'kafka://x': unknown scheme"),
    ],
)
def test_main_rejects_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


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
        assert b'new WebSocket(scheme + location.host + "/ws" + query)' in page.read()
        client.request("GET", "/asyncapi.json")
        served = client.getresponse()
        assert served.status == 200
        assert served.getheader("content-type") == "application/json"
        doc = json.loads(served.read())
        assert doc["servers"] == {"demo": {"host": f"127.0.0.1:{port}", "protocol": "ws"}}
        assert doc == asyncapi_document(f"ws://127.0.0.1:{port}")
        client.close()

        url = f"ws://127.0.0.1:{port}/ws"
        with ws_connect(url, open_timeout=10) as ada, ws_connect(url, open_timeout=10) as bob:
            ada.send('{"type": "join", "name": "ada"}')
            joined = msgspec.json.decode(ada.recv(timeout=10))
            assert joined["data"]["type"] == "joined"
            assert joined["data"]["worker"] == demo.process.pid  # type: ignore[union-attr]
            bob.send('{"type": "join", "name": "bob"}')
            ada.recv(timeout=10)
            assert msgspec.json.decode(bob.recv(timeout=10)) == joined  # bob was connected
            bob.recv(timeout=10)
            bob.send('{"type": "message", "text": "over the wire"}')
            said = msgspec.json.decode(ada.recv(timeout=10))
            assert said == {
                "type": "message",
                "id": said["id"],
                "data": {"type": "message", "name": "bob", "text": "over the wire"},
            }
            assert said["id"] != joined["id"]
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
