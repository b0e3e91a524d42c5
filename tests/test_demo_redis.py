"""``python -m typedws.demo --workers 2 --broadcast redis://...``: one room across two workers.

A real redis-server (Debian package) is started on a free loopback port, and the demo as a real
process with two uvicorn workers. Without redis-server these tests skip, unless
TYPEDWS_REQUIRE_ALL=1 (CI), where that is a failure (as in tests/test_broadcast_redis.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import msgspec
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from broadcast_servers import RedisServer, require_redis_server
from servers import ServerProcess, free_port

WAIT = 10.0
MAX_CLIENTS = 40  # connections tried until two workers serve at least one each
MESSAGES = 3  # per client


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(require_redis_server(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def demo(redis_server: RedisServer) -> Iterator[ServerProcess]:
    port = free_port()
    args = ["typedws.demo", "--port", str(port), "--workers", "2"]
    process = ServerProcess("typedws.demo", [*args, "--broadcast", redis_server.url], port)
    process.start()
    try:
        # The parent listens at once; wait for both workers, so that both take connections.
        deadline = time.monotonic() + 20
        while process.output().count("Application startup complete.") < 2:
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.05)
        yield process
    finally:
        process.stop()


def recv(client: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = msgspec.json.decode(client.recv(timeout=WAIT))
    return frame


def until_closed(client: ClientConnection) -> ConnectionClosed:
    """Read (and drop) frames until the connection closes; returns how it closed."""
    while True:
        try:
            client.recv(timeout=WAIT)
        except ConnectionClosed as closed:
            return closed


def join(stack: ExitStack, url: str, name: str) -> tuple[ClientConnection, int, str]:
    """Connect, join as ``name``; returns the client, its worker's pid and its join's id."""
    client = stack.enter_context(ws_connect(url, open_timeout=WAIT))
    client.send(msgspec.json.encode({"type": "join", "name": name}).decode())
    while True:  # earlier frames are other joins, published while this one connected
        frame = recv(client)
        assert frame["type"] == "message", frame
        if frame["data"] == {**frame["data"], "type": "joined", "name": name}:
            return client, frame["data"]["worker"], frame["id"]


def test_one_room_across_two_workers(demo: ServerProcess) -> None:
    """Pages on different workers hear each other: every message, once, in the same order."""
    url = f"ws://127.0.0.1:{demo.port}/ws"
    clients: list[tuple[str, ClientConnection, str]] = []
    workers: dict[int, list[str]] = {}
    with ExitStack() as stack:
        while len(workers) < 2:
            assert len(clients) < MAX_CLIENTS, f"all {MAX_CLIENTS} clients landed on {workers}"
            name = f"user{len(clients)}"
            client, worker, joined_id = join(stack, url, name)
            clients.append((name, client, joined_id))
            workers.setdefault(worker, []).append(name)
        print(f"{len(clients)} clients to reach both workers: {workers}")
        assert demo.process is not None
        assert demo.process.pid not in workers  # the workers, not the supervising parent

        # Each client has heard every join after its own, in join order.
        names = [name for name, _, _ in clients]
        for index, (_, client, _) in enumerate(clients):
            later = [recv(client)["data"]["name"] for _ in names[index + 1 :]]
            assert later == names[index + 1 :]

        # Interleaved talk: every client says MESSAGES things.
        expected = [f"{name} says {n}" for n in range(MESSAGES) for name in names]
        for n in range(MESSAGES):
            for name, client, _ in clients:
                text = f"{name} says {n}"
                client.send(msgspec.json.encode({"type": "message", "text": text}).decode())
        orders = []
        for _, client, _ in clients:
            frames = [recv(client) for _ in expected]
            ids = [frame["id"] for frame in frames]
            assert len(set(ids)) == len(ids)
            said = [(frame["data"]["name"], frame["data"]["text"]) for frame in frames]
            # Exactly once each, and each sender's messages in the order sent.
            assert sorted(text for _, text in said) == sorted(expected)
            for name in names:
                mine = [text for sender, text in said if sender == name]
                assert mine == [f"{name} says {n}" for n in range(MESSAGES)]
            orders.append(ids)
        # One room, one order: every page saw the same sequence of ids.
        assert all(order == orders[0] for order in orders)

        # A page that drops and comes back with ?last_id= (to whichever worker) misses nothing.
        name, gone, _ = clients.pop(0)
        last_id = orders[0][-1]
        gone.close()
        left = {"type": "left", "name": name, "members": sorted(names[1:])}
        for _, client, _ in clients:
            assert recv(client)["data"] == left
        _, talker, _ = clients[-1]
        talker.send('{"type": "message", "text": "while you were away"}')
        for _, client, _ in clients:
            assert recv(client)["data"]["text"] == "while you were away"
        with ws_connect(f"{url}?last_id={last_id}", open_timeout=WAIT) as back:
            missed = [recv(back)["data"] for _ in range(2)]
            assert missed == [
                left,
                {"type": "message", "name": clients[-1][0], "text": "while you were away"},
            ]

        # Ctrl-C: the supervisor stops both workers, which close the pages (1012) and exit.
        code = demo.stop(signal.SIGINT)
        for _, client, _ in clients:
            closed = until_closed(client)
            assert closed.rcvd is not None
            assert closed.rcvd.code == 1012
    output = demo.output()
    assert code == 0, output
    assert "Traceback" not in output
    assert "typedws chat demo: stopped" in output
    for worker in workers:
        assert f"Finished server process [{worker}]" in output


def test_unreachable_redis_is_a_clear_error(tmp_path: Path) -> None:
    require_redis_server()  # the redis client comes with it in CI; keep the same gate
    port = free_port()  # nothing listens there
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "typedws.demo",
            "--port",
            str(free_port()),
            "--workers",
            "2",
            "--broadcast",
            f"redis://127.0.0.1:{port}/0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("typedws chat demo: ")
    assert f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
