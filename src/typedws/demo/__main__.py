"""``python -m typedws.demo [--host H] [--port N] [--broadcast URL] [--workers N]``.

Runs the chat demo with uvicorn. ``--broadcast redis://host:port/db`` fans the room out through
Redis, which is what makes ``--workers N`` (N > 1) work: a page on one worker hears a page on
another. With the default ``memory://`` every process has its own room, so more than one worker
is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

from typedws.broadcast import Broadcast


async def _check(url: str) -> None:
    """Connect once from the parent, so an unreachable Redis is one clear error, not N."""
    async with Broadcast(url):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m typedws.demo", description="typedws chat demo (served by uvicorn)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--broadcast",
        default="memory://",
        metavar="URL",
        help="where room events go: memory:// (default, one process) or redis://host:port/db",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (more than 1 needs redis://)"
    )
    args = parser.parse_args(argv)
    url: str = args.broadcast
    workers: int = args.workers
    try:
        Broadcast(url)
    except (ValueError, ImportError) as exc:
        parser.error(f"--broadcast: {exc}")
    if workers < 1:
        parser.error(f"--workers must be at least 1, not {workers}")
    if workers > 1 and url.partition("://")[0].lower() == "memory":
        parser.error(
            "--workers > 1 needs a shared broadcast: memory:// is one room per process "
            "(use --broadcast redis://host:port/db)"
        )
    try:
        import uvicorn
    except ImportError:
        print('the demo needs uvicorn: pip install "typedws[demo]"', file=sys.stderr)
        return 2

    from typedws.demo.app import BROADCAST_ENV, make_app

    if url.partition("://")[0].lower() != "memory":
        try:
            asyncio.run(_check(url))
        except Exception as exc:
            print(f"typedws chat demo: {exc}", file=sys.stderr)
            return 1

    host: str = args.host
    port: int = args.port
    shown = f"[{host}]" if ":" in host else host
    print(f"typedws chat demo: open http://{shown}:{port}/ (Ctrl-C to stop)", flush=True)
    if workers == 1:
        config = uvicorn.Config(
            make_app(url), host=host, port=port, log_level="info", lifespan="on"
        )
        server = uvicorn.Server(config)
        # uvicorn shuts down gracefully on SIGINT, then re-raises it; by then the shutdown is done.
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            return 1
    else:
        # Workers are new processes: they import the app by name and read the URL from here.
        os.environ[BROADCAST_ENV] = url
        uvicorn.run(
            "typedws.demo.app:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
            lifespan="on",
        )
    print("typedws chat demo: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
