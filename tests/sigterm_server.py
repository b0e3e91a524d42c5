"""Serve production_app with a drain before the server's own shutdown, on SIGTERM / SIGINT.

``python -m sigterm_server uvicorn|hypercorn PORT``. No server of the interop matrix sends the
lifespan shutdown while websockets are still open (tests/interop/test_shutdown.py), so the drain
that typedws runs there comes too late to say goodbye. Both servers can be run from Python with
a hook before their shutdown; these are the recipes docs/guides/production.md gives, and
tests/test_production_server.py sends SIGTERM to them:

* uvicorn: a ``uvicorn.Server`` whose ``shutdown()`` awaits ``app.drain()`` first;
* hypercorn: ``hypercorn.asyncio.serve(..., shutdown_trigger=...)``, the trigger waiting for
  the signal, then for ``app.drain()``.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

from production_app import app, chat_app


def run_uvicorn(port: int) -> None:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await chat_app.drain(reason="deploying")  # goodbyes first, then uvicorn's shutdown
            await super().shutdown(sockets)

    DrainingServer(uvicorn.Config(app, host="127.0.0.1", port=port)).run()


def run_hypercorn(port: int) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        async def drained() -> None:
            await stop.wait()
            await chat_app.drain(reason="deploying")  # then hypercorn's graceful shutdown

        await serve(app, config, shutdown_trigger=drained)  # type: ignore[arg-type]

    asyncio.run(main())


if __name__ == "__main__":
    server, port = sys.argv[1], int(sys.argv[2])
    {"uvicorn": run_uvicorn, "hypercorn": run_hypercorn}[server](port)
