"""The client side of the load and fault tests: a uvicorn subprocess and WebSocket clients.

:class:`ServerProcess` starts ``load_app.py`` under uvicorn on a socket bound here to a free port on
127.0.0.1 and handed to the child (no race for the port), and stops it on exit, failing if the
server logged a traceback. The clients use the ``websockets`` library's asyncio client, the one
uvicorn itself depends on for WebSockets.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import msgspec
from websockets.asyncio.client import ClientConnection, connect

LOAD_APP = Path(__file__).with_name("load_app.py")

#: The big version (`nox -s soak`) or the reduced one the normal test run uses.
SOAK = os.environ.get("TYPEDWS_SOAK", "") not in ("", "0")


class ServerProcess:
    """``with ServerProcess("websockets") as server:`` a uvicorn running load_app.py."""

    def __init__(self, ws_impl: str = "websockets") -> None:
        self.ws_impl = ws_impl
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        # Kept open from __init__ to __exit__ (the child writes to it): no `with` fits.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self.log_text = ""

    def __enter__(self) -> ServerProcess:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(2048)  # connections queue here until uvicorn starts accepting
            self.port = sock.getsockname()[1]
            self._process = subprocess.Popen(
                [sys.executable, str(LOAD_APP), str(sock.fileno()), self.ws_impl],
                pass_fds=(sock.fileno(),),
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process = self._process
        assert process is not None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.seek(0)
        self.log_text = self._log.read().decode("utf-8", "replace")
        self._log.close()
        if exc_type is None:
            assert "Traceback" not in self.log_text, self.log_text

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def stats(self) -> dict[str, Any]:
        """GET /stats from the server (plain HTTP/1.1 over a fresh connection)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(b"GET /stats HTTP/1.1\r\nHost: load\r\nConnection: close\r\n\r\n")
            response = await reader.read()
        finally:
            writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        result: dict[str, Any] = msgspec.json.decode(body)
        return result

    async def wait_for(
        self, done: Callable[[dict[str, Any]], bool], what: str, timeout: float = 60.0
    ) -> dict[str, Any]:
        """Poll /stats until ``done(stats)``; fail naming ``what`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            current = await self.stats()
            if done(current):
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}: {current}")
            await asyncio.sleep(0.05)


async def open_client(url: str) -> ClientConnection:
    return await connect(url, compression=None, open_timeout=60, max_size=None, ping_interval=None)


async def echo_client(url: str, client: int, messages: int) -> list[Any]:
    """Send ``messages`` JSON messages and an end marker, concurrently read every echo until the
    marker; return what came back before it (the caller checks: each once, in order)."""
    async with await open_client(url + "/echo") as ws:

        async def send_all() -> None:
            for i in range(messages):
                await ws.send(msgspec.json.encode({"c": client, "i": i}).decode())
            await ws.send('"end"')

        async def receive_all() -> list[Any]:
            received: list[Any] = []
            while True:
                message = msgspec.json.decode(await ws.recv())
                if message == "end":
                    return received
                received.append(message)

        sender = asyncio.create_task(send_all())
        received = await receive_all()
        await sender
    return received


async def dropping_client(url: str, client: int, before_drop: int) -> int:
    """Talk for ``before_drop`` round trips, send more without reading, then drop the TCP
    connection without a close frame. Returns the number of echoes seen before the drop."""
    ws = await open_client(url + "/echo")
    seen = 0
    for i in range(before_drop):
        await ws.send(msgspec.json.encode({"c": client, "i": i}).decode())
        assert msgspec.json.decode(await ws.recv()) == {"c": client, "i": i}
        seen += 1
    for i in range(before_drop, before_drop + 5):  # mid-stream: messages still in flight
        await ws.send(msgspec.json.encode({"c": client, "i": i}).decode())
    ws.transport.abort()  # no close frame, no TCP shutdown handshake: the peer just vanishes
    await ws.wait_closed()
    return seen


async def vanishing_reader(url: str, read_first: int) -> None:
    """Read a few messages of /flood, stop reading so the server's buffers fill and its sends
    block, then vanish without a close frame."""
    ws = await open_client(url + "/flood")
    for _ in range(read_first):
        await ws.recv()
    await asyncio.sleep(0.3)
    ws.transport.abort()
    await ws.wait_closed()


async def raw_handshake(port: int, target: bytes, extra_headers: bytes = b"") -> RawResult:
    """Send a hand-written WebSocket upgrade request (any bytes a hostile client may put in the
    request line or headers); return the status line and the text frames the server sent before
    its close frame (answered with a close frame, as RFC 6455 section 5.5.1 asks)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        key = base64.b64encode(os.urandom(16))
        writer.write(
            b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\n" + extra_headers + b"\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = head.split(b"\r\n", 1)[0]
        texts: list[str] = []
        close_code: int | None = None
        if b" 101 " in status:
            while True:
                opcode, payload = await asyncio.wait_for(_read_frame(reader), 10)
                if opcode == 0x1:
                    texts.append(payload.decode("utf-8"))
                elif opcode == 0x8:
                    close_code = int.from_bytes(payload[:2], "big") if payload else 1005
                    mask = os.urandom(4)
                    body = (1000).to_bytes(2, "big")
                    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(body))
                    writer.write(bytes([0x88, 0x80 | len(body)]) + mask + masked)
                    await writer.drain()
                    break
        return RawResult(status, texts, close_code)
    finally:
        writer.close()


class RawResult(NamedTuple):
    status: bytes
    texts: list[str]
    close_code: int | None


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One unfragmented server frame (RFC 6455 section 5.2): (opcode, payload)."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    assert not second & 0x80, "server frames are never masked"
    return first & 0x0F, await reader.readexactly(length)
