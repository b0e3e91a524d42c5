"""Real servers for the end-to-end tests: subprocesses on 127.0.0.1, on free ports.

Each server runs in its own process (as it would be deployed), with its output sent to a file
so that a full pipe can never block it, and that output is shown when it fails to start.
Tests stop every server they start (``stop()``, also used by the fixtures' teardown).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ServerProcess", "free_port"]

STARTUP_TIMEOUT = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """``python -m <args>`` listening on ``port``; ``start()`` returns once it accepts TCP."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        port: int,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.args = [sys.executable, "-m", *args]
        self.port = port
        self.cwd = cwd
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        # Open for the server's whole life (it writes there), closed when this object goes.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    def output(self) -> str:
        """Everything the server printed so far."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def start(self) -> ServerProcess:
        self.process = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before listening:\n"
                    + self.output()
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not listen on port {self.port} within {STARTUP_TIMEOUT} s:\n"
            + self.output()
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``sig``, wait up to ``timeout`` s, then kill; returns the exit status."""
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode
