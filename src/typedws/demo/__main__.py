"""``python -m typedws.demo [--host H] [--port N]``: run the chat demo with uvicorn."""

from __future__ import annotations

import argparse
import contextlib
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m typedws.demo", description="typedws chat demo (served by uvicorn)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    args = parser.parse_args(argv)
    try:
        import uvicorn
    except ImportError:
        print('the demo needs uvicorn: pip install "typedws[demo]"', file=sys.stderr)
        return 2

    from typedws.demo.app import make_app

    host: str = args.host
    port: int = args.port
    shown = f"[{host}]" if ":" in host else host
    server = uvicorn.Server(uvicorn.Config(make_app(), host=host, port=port, log_level="info"))
    print(f"typedws chat demo: open http://{shown}:{port}/ (Ctrl-C to stop)", flush=True)
    # uvicorn shuts down gracefully on SIGINT, then re-raises it; by then the shutdown is done.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        return 1
    print("typedws chat demo: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
