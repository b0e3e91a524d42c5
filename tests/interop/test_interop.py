"""typedws behind real ASGI servers, driven by the `websockets` client library.

Each server runs as a subprocess on 127.0.0.1 on a free port, started once for this module per
server (a module-scoped, parametrized fixture) and stopped at the end. The applications are in
interop_apps.py. Every (server, feature) pair is a test: it passes, or it is skipped with the
name of the feature the server lacks (SERVER_GAPS). docs/interop.md is the resulting matrix.

uvicorn is started without ``--interface``: its own auto-detection must see an ASGI 3 app.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import msgspec
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from servers import ServerProcess, free_port

HERE = Path(__file__).resolve().parent
TIMEOUT = 10.0

#: How to start each server: (module that must be importable, ``python -m`` arguments).
SERVERS: dict[str, tuple[str, list[str]]] = {
    "uvicorn-websockets": (
        "uvicorn",
        ["uvicorn", "interop_apps:app", "--ws", "websockets", "--host", "127.0.0.1"],
    ),
    "uvicorn-websockets-sansio": (
        "uvicorn",
        ["uvicorn", "interop_apps:app", "--ws", "websockets-sansio", "--host", "127.0.0.1"],
    ),
    "uvicorn-wsproto": (
        "wsproto",
        ["uvicorn", "interop_apps:app", "--ws", "wsproto", "--host", "127.0.0.1"],
    ),
    "hypercorn": ("hypercorn", ["hypercorn", "interop_apps:app"]),
    "hypercorn-trio": ("trio", ["hypercorn", "--worker-class", "trio", "interop_apps:app"]),
    "daphne": ("daphne", ["daphne", "-b", "127.0.0.1", "interop_apps:app"]),
    "granian": (
        "granian",
        ["granian", "--interface", "asgi", "--host", "127.0.0.1", "interop_apps:app"],
    ),
}


def _port_args(server: str, port: int) -> list[str]:
    if server.startswith("hypercorn"):
        return ["--bind", f"127.0.0.1:{port}"]
    if server == "daphne":
        return ["-p", str(port)]
    return ["--port", str(port)]


# What a server lacks, by (server, feature): the test is skipped with this reason.
_DAPHNE_SPEC = "daphne declares no ASGI spec_version, so typedws sends every field"
SERVER_GAPS: dict[tuple[str, str], str] = {
    ("daphne", "denial response"): (
        "daphne has no websocket.http.response extension (no denial responses)"
    ),
    ("daphne", "accept headers"): (
        f"{_DAPHNE_SPEC}, but daphne ignores the headers of websocket.accept"
    ),
    ("daphne", "close reason"): (f"{_DAPHNE_SPEC}, but daphne sends only the close code"),
    ("daphne", "empty frames"): (
        "daphne drops empty text and binary messages (it tests the payload for truth)"
    ),
    ("daphne", "close 1011"): (
        "daphne (autobahn) sends only close codes 1000 and 3000-4999; it refuses 1011, "
        "so the connection stays open after a handler error"
    ),
    ("granian", "accept headers"): "granian ignores the headers of websocket.accept",
}


def _skip_if_missing(server: str, feature: str) -> None:
    reason = SERVER_GAPS.get((server, feature))
    if reason is not None:
        pytest.skip(reason)


class Running:
    """A started server: its name, ws:// base URL and process (for its log)."""

    def __init__(self, name: str, process: ServerProcess) -> None:
        self.name = name
        self.process = process
        self.port = process.port
        self.base = f"ws://127.0.0.1:{process.port}"

    def connect(self, path: str, **kwargs: Any) -> ClientConnection:
        connection: ClientConnection = ws_connect(
            self.base + path, open_timeout=TIMEOUT, close_timeout=TIMEOUT, **kwargs
        )
        return connection


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[Running]:
    name: str = request.param
    module, args = SERVERS[name]
    if importlib.util.find_spec(module) is None:
        message = f"{name}: the {module!r} package is not installed"
        if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
            pytest.fail(message + " (TYPEDWS_REQUIRE_ALL=1)")
        pytest.skip(message)
    port = free_port()
    env = {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    process = ServerProcess(name, [*args, *_port_args(name, port)], port, cwd=HERE, env=env)
    process.start()
    try:
        yield Running(name, process)
    finally:
        process.stop()


def _closed(connection: ClientConnection) -> ConnectionClosed:
    """Read until the server closes; the close as the client saw it."""
    try:
        while True:
            connection.recv(timeout=TIMEOUT)
    except ConnectionClosed as closed:
        return closed


# --- echo ------------------------------------------------------------------------------------


def test_echo_text(server: Running) -> None:
    with server.connect("/echo/text") as connection:
        for message in ["hello", "héllo wörld ✓", "x" * 70_000]:
            connection.send(message)
            assert connection.recv(timeout=TIMEOUT) == message


def test_echo_bytes(server: Running) -> None:
    with server.connect("/echo/bytes") as connection:
        for data in [b"\x00\x01\xff", bytes(range(256)) * 300]:
            connection.send(data)
            assert connection.recv(timeout=TIMEOUT) == data


def test_echo_empty_frames(server: Running) -> None:
    _skip_if_missing(server.name, "empty frames")
    with server.connect("/echo/text") as connection:
        connection.send("")
        assert connection.recv(timeout=TIMEOUT) == ""
    with server.connect("/echo/bytes") as connection:
        connection.send(b"")
        assert connection.recv(timeout=TIMEOUT) == b""


def test_echo_json_text(server: Running) -> None:
    with server.connect("/echo/json-text") as connection:
        connection.send('{"x": 1, "y": 2, "label": "a"}')
        reply = connection.recv(timeout=TIMEOUT)
        assert isinstance(reply, str)
        assert msgspec.json.decode(reply) == {"x": 2, "y": 1, "label": "A"}


def test_echo_json_binary(server: Running) -> None:
    with server.connect("/echo/json-binary") as connection:
        connection.send(b'{"x": 3, "y": 4, "label": "b"}')
        reply = connection.recv(timeout=TIMEOUT)
        assert isinstance(reply, bytes)
        assert msgspec.json.decode(reply) == {"x": 4, "y": 3, "label": "B"}


def test_echo_msgpack(server: Running) -> None:
    # Encoded and decoded by the msgpack package: an implementation independent of typedws's.
    with server.connect("/echo/msgpack") as connection:
        connection.send(msgpack.packb({"x": 5, "y": 6, "label": "c"}))
        reply = connection.recv(timeout=TIMEOUT)
        assert isinstance(reply, bytes)
        assert msgpack.unpackb(reply) == {"x": 6, "y": 5, "label": "C"}


# --- handshake -------------------------------------------------------------------------------


def test_subprotocol(server: Running) -> None:
    offered = ["typedws.v1", "typedws.v2", "other"]
    with server.connect("/subprotocol", subprotocols=offered) as connection:
        assert connection.subprotocol == "typedws.v2"
        assert connection.recv(timeout=TIMEOUT) == "chose typedws.v2"


def test_accept_headers(server: Running) -> None:
    _skip_if_missing(server.name, "accept headers")
    with server.connect("/accept-headers") as connection:
        assert connection.response is not None
        headers = connection.response.headers
        assert headers["x-typedws"] == "accepted"
        assert headers["set-cookie"] == "session=abc"
        assert connection.recv(timeout=TIMEOUT) == "hello"


def test_reject_before_accept(server: Running) -> None:
    with pytest.raises(InvalidStatus) as caught:
        server.connect("/reject")
    assert caught.value.response.status_code == 403


def test_denial_response(server: Running) -> None:
    _skip_if_missing(server.name, "denial response")
    with pytest.raises(InvalidStatus) as caught:
        server.connect("/deny")
    response = caught.value.response
    assert response.status_code == 401
    assert response.headers["x-denied"] == "yes"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.body == b"denied by typedws"


def test_http_request_gets_426(server: Running) -> None:
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        client.request("GET", "/echo/text")
        response = client.getresponse()
        assert response.status == 426
        assert response.getheader("upgrade", "").lower() == "websocket"
        assert b"WebSocket" in response.read()
    finally:
        client.close()


# --- closing ---------------------------------------------------------------------------------


def test_close_code(server: Running) -> None:
    with server.connect("/close") as connection:
        connection.send("close, please")
        closed = _closed(connection)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 4001


def test_close_reason(server: Running) -> None:
    _skip_if_missing(server.name, "close reason")
    with server.connect("/close") as connection:
        connection.send("close, please")
        closed = _closed(connection)
    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (4001, "custom reason")


def test_handler_error_closes_1011_and_is_logged(server: Running) -> None:
    _skip_if_missing(server.name, "close 1011")
    with server.connect("/error") as connection:
        connection.send("fail now")
        closed = _closed(connection)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011
    log = server.process.output()
    assert "RuntimeError: the handler failed on purpose" in log
    assert "Traceback" in log


def test_scope_path_and_query(server: Running) -> None:
    with server.connect("/info?room=1&lang=en") as connection:
        reply = connection.recv(timeout=TIMEOUT)
        info = msgspec.json.decode(reply)
        connection.send("done")
    assert info["path"] == "/info"
    assert info["query_string"] == "room=1&lang=en"
    expect_denial = (server.name, "denial response") not in SERVER_GAPS
    assert ("websocket.http.response" in info["extensions"]) == expect_denial
