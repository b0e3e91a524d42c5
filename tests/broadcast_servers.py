"""Real servers for the Redis broadcast tests: redis-server and uvicorn workers, on free ports.

Each runs as a child process on 127.0.0.1, started by a fixture and stopped (terminated, then
killed if it lingers) when the test is done. redis-server runs without persistence unless a test
asks for an append-only file (in a temporary directory) to model a Redis that keeps its data.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent


def require_redis_server() -> str:
    """The redis-server executable; skip (or fail, when TYPEDWS_REQUIRE_ALL=1) without it."""
    path = shutil.which("redis-server")
    if path is None:
        reason = "redis-server is not installed (Debian: apt-get install redis-server)"
        if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
            pytest.fail(f"{reason}, and TYPEDWS_REQUIRE_ALL=1 requires the Redis tests to run")
        pytest.skip(f"{reason}; CI sets TYPEDWS_REQUIRE_ALL=1 and runs them")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"{what} exited with {process.returncode} before listening:\n{out}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within 15 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process.stdout is not None:
        process.stdout.close()


class RedisServer:
    """One redis-server on a fixed free port, which a test may kill and start again."""

    def __init__(self, executable: str, workdir: Path, *, persistent: bool = False) -> None:
        self.executable = executable
        self.workdir = workdir
        self.persistent = persistent
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.persistent
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *persistence,
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process, "redis-server")

    def kill(self) -> None:
        """Stop abruptly (SIGKILL): what a crash looks like to the clients."""
        assert self.process is not None, "not running"
        self.process.kill()
        self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


def start_uvicorn(
    redis_url: str, prefix: str, queue_size: int = 1000
) -> tuple[subprocess.Popen[bytes], int]:
    """One uvicorn worker process serving tests/broadcast_app.py; returns it and its port."""
    port = free_port()
    env = dict(
        os.environ,
        TYPEDWS_TEST_REDIS_URL=redis_url,
        TYPEDWS_TEST_PREFIX=prefix,
        TYPEDWS_TEST_QUEUE_SIZE=str(queue_size),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "broadcast_app:app",
            "--app-dir",
            str(TESTS_DIR),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "on",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process, "uvicorn")
    return process, port
