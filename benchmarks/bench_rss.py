"""Memory per idle connection through one uvicorn worker (RSS): typedws vs Starlette vs Lilya vs a
bare ASGI app, 1,000 and 10,000 real clients.

Run: ``python benchmarks/bench_rss.py [--rounds N] [--counts 1000,10000] [--apps ...]
[--pure-path DIR] [--append RESULTS.md]`` (``nox -s bench`` runs it against the compiled build
and appends the table to RESULTS.md).

Each app (``rss_apps``: the same handler over each layer; ``raw`` is the bare ASGI floor) is
served by its own ``uvicorn`` process on 127.0.0.1, one worker, the same options for every app
and uvicorn's defaults for the WebSocket side (``--ws auto``, max size, ping interval,
permessage-deflate). The handler accepts, reads headers, query parameters, cookies and URL once,
sends ``ready <user> <cookies>`` and then waits for messages that never come.

The clients are ``websockets`` asyncio clients in ``CLIENT_PROCESSES`` processes (this file with
``--client``; each raises RLIMIT_NOFILE to its hard limit), each connection with the handshake
Chrome sends: Origin, a Chrome User-Agent, Accept-Language, Cache-Control and Pragma,
a Cookie with two cookies, ``permessage-deflate; client_max_window_bits``, and a query string
``?room=lobby&user=uN``. The server is pinned to one CPU and the clients to the other (on a
machine with at least two).

Per app and round: a fresh server; ``WARMUP`` connections opened and dropped (the app's modules
imported, its code paths run once, the loop's structures grown), then the server's VmRSS with no
connection (``/proc/<pid>/status``); then connections are opened up to each count in turn, and at
each one it is checked that every handshake was accepted with the expected ready message, that the
kernel counts that many established connections to the server, and, after ``SETTLE`` seconds, that
every client connection is still open and got nothing more (idle); then VmRSS is read again. Per
connection: (RSS at N - RSS at 0) / N. Rounds alternate the order of the apps; the figures are
medians over rounds. A layer's share is its figure minus the bare app's (what the layer adds per
connection on top of uvicorn's own protocol, transport and task); the ratio is typedws's share over
Starlette's.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from _process import cpu_seconds, free_port, rss_kib

HERE = Path(__file__).resolve().parent
APPS = ["raw", "starlette", "typedws", "lilya"]
LABELS = {
    "raw": "bare ASGI app (floor)",
    "starlette": "Starlette",
    "typedws": "typedws",
    "lilya": "Lilya",
}
#: uvicorn's options, the same for every app; the WebSocket options are left at their defaults.
UVICORN_ARGS = ["--log-level", "warning", "--no-access-log", "--lifespan", "off"]
#: Client processes; the connections are split evenly between them.
CLIENT_PROCESSES = 2
#: Handshakes in flight per client process (uvicorn's listen backlog is 2048).
CONCURRENCY = 64
#: Connections opened and dropped before the baseline is read.
WARMUP = 20
#: Seconds between the last handshake and the RSS reading (the idle check runs after it).
SETTLE = 1.0
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _raise_nofile() -> None:
    """Raise this process's soft limit on open files to the hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _cpus() -> tuple[set[int] | None, set[int] | None]:
    """(the server's CPU, the clients' CPUs), or (None, None) with fewer than two CPUs."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


# --- the client processes ---------------------------------------------------------------------


async def _open(
    conns: list[Any], port: int, first: int, count: int, deflate: bool
) -> dict[str, Any]:
    """Open ``count`` connections (users ``first`` ...), each checked by its ready message;
    ``deflate``: offer permessage-deflate as Chrome does (``client_max_window_bits``)."""
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(CONCURRENCY)
    failures: list[str] = []

    async def one(i: int) -> None:
        uri = f"ws://127.0.0.1:{port}/ws?room=lobby&user=u{i}"
        headers = [
            ("Pragma", "no-cache"),
            ("Cache-Control", "no-cache"),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Accept-Language", "en-US,en;q=0.9"),
            ("Cookie", f"session={i:032x}; theme=dark"),
        ]
        async with gate:
            try:
                ws = await connect(
                    uri,
                    origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
                    user_agent_header=USER_AGENT,
                    additional_headers=headers,
                    ping_interval=None,  # the server pings (uvicorn's default); answered
                    open_timeout=60,
                    compression="deflate" if deflate else None,
                )
                ready = await asyncio.wait_for(ws.recv(), 60)
            except Exception as exc:
                failures.append(f"u{i}: {exc!r}")
                return
        if ready != f"ready u{i} 2":
            failures.append(f"u{i}: ready message {ready!r}")
            ws.transport.abort()
            return
        conns.append(ws)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(first, first + count)))
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "failed": len(failures),
        "failures": failures[:3],
    }


def _idle(conns: list[Any]) -> dict[str, Any]:
    """How many connections are open with nothing received since their ready message."""
    from websockets.protocol import State

    not_open = sum(ws.protocol.state is not State.OPEN for ws in conns)
    # The asyncio client queues what it receives for recv(); a message would be a busy socket.
    received = sum(len(ws.recv_messages.frames) > 0 for ws in conns)
    return {"open": len(conns), "not_open": not_open, "received": received}


async def _client_main() -> None:
    """Serve the benchmark's commands, one JSON line each on stdin, answered on stdout."""
    _raise_nofile()
    loop = asyncio.get_running_loop()
    conns: list[Any] = []
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        command = json.loads(line)
        reply: dict[str, Any] = {}
        if command["op"] == "open":
            reply = await _open(
                conns, command["port"], command["first"], command["count"], command["deflate"]
            )
        elif command["op"] == "idle":
            reply = _idle(conns)
        elif command["op"] == "drop":
            for ws in conns:
                ws.transport.abort()
            conns.clear()
            await asyncio.sleep(0.2)  # let the aborted connections' callbacks run
        print(json.dumps(reply), flush=True)


class Client:
    """One client process (this file with ``--client``)."""

    def __init__(self, cpus: set[int] | None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if cpus:
            os.sched_setaffinity(self.process.pid, cpus)

    def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a client process exited")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _all(clients: list[Client], commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send one command to each client, then collect the answers (they run concurrently)."""
    for client, command in zip(clients, commands, strict=True):
        client.send(**command)
    return [client.answer() for client in clients]


# --- the server -------------------------------------------------------------------------------


def _established(port: int) -> int:
    """How many TCP connections to ``port`` on 127.0.0.1 are established, server side."""
    local = f"0100007F:{port:04X}"
    count = 0
    with open("/proc/net/tcp", encoding="ascii") as table:
        next(table)
        for line in table:
            fields = line.split(maxsplit=4)
            count += fields[1] == local and fields[3] == "01"
    return count


class Server:
    def __init__(self, app: str, cpus: set[int] | None, pure_path: str | None) -> None:
        self.app = app
        self.port = free_port()
        env = dict(os.environ)
        if pure_path:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (os.path.abspath(pure_path), env.get("PYTHONPATH", "")) if p
            )
        self.process = subprocess.Popen(
            [
                sys.executable,
                *("-m", "uvicorn", f"rss_apps:{app}"),
                *("--host", "127.0.0.1", "--port", str(self.port)),
                *UVICORN_ARGS,
            ],
            cwd=str(HERE),
            env=env,
            preexec_fn=_raise_nofile,
        )
        if cpus:
            os.sched_setaffinity(self.process.pid, cpus)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn serving {app} exited")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn serving {app} did not start") from None
                time.sleep(0.05)

    @property
    def rss(self) -> int:
        return rss_kib(self.process.pid)

    @property
    def cpu(self) -> float:
        """User + system CPU seconds of the server so far."""
        return cpu_seconds(self.process.pid)

    def wait_connections(self, expected: int, timeout: float = 10.0) -> int:
        """Wait until ``expected`` connections to the server are established; how many are."""
        deadline = time.monotonic() + timeout
        while (count := _established(self.port)) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return count

    def kill(self) -> None:
        # SIGKILL: a graceful shutdown closing 10,000 sockets would take longer than the run.
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


# --- one measurement, rounds, the table -------------------------------------------------------


class Sample:
    """One app in one round: per count, RSS growth (KiB) and connect time (s)."""

    def __init__(self) -> None:
        self.base_kib = 0
        self.grown_kib: dict[int, int] = {}
        self.seconds: dict[int, float] = {}
        #: CPU seconds the server and the clients spent connecting, per count.
        self.cpu: dict[int, tuple[float, float]] = {}
        self.failures: list[str] = []


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (i < total % parts) for i in range(parts)]


def measure(
    app: str,
    counts: list[int],
    clients: list[Client],
    cpus: set[int] | None,
    pure_path: str | None,
    deflate: bool,
) -> Sample:
    sample = Sample()
    server = Server(app, cpus, pure_path)
    try:
        opened = 0

        def open_to(target: int) -> float:
            """Open connections until ``target`` are open; the seconds it took."""
            nonlocal opened
            shares = _split(target - opened, len(clients))
            commands = []
            first = opened
            for share in shares:
                command = {"op": "open", "port": server.port, "first": first, "count": share}
                commands.append({**command, "deflate": deflate})
                first += share
            start, cpu = time.perf_counter(), server.cpu
            replies = _all(clients, commands)
            elapsed = time.perf_counter() - start
            sample.cpu[target] = (server.cpu - cpu, sum(reply["cpu"] for reply in replies))
            for reply in replies:
                if reply["failed"]:
                    sample.failures.append(
                        f"{reply['failed']} handshakes failed, e.g. {reply['failures']}"
                    )
            opened = target
            return elapsed

        # Warm-up: connections opened and dropped, then the server back at no connection.
        open_to(WARMUP)
        _all(clients, [{"op": "drop"}] * len(clients))
        opened = 0
        server.wait_connections(0)
        time.sleep(SETTLE)
        sample.base_kib = server.rss
        for count in counts:
            sample.seconds[count] = open_to(count)
            held = server.wait_connections(count)
            if held != count:
                sample.failures.append(f"at {count}: the server holds {held} connections")
            time.sleep(SETTLE)
            replies = _all(clients, [{"op": "idle"}] * len(clients))
            still = sum(r["open"] - r["not_open"] for r in replies)
            busy = sum(r["received"] for r in replies)
            if still != count or busy:
                sample.failures.append(
                    f"at {count}: {still} client connections open, {busy} got a message"
                )
            sample.grown_kib[count] = server.rss - sample.base_kib
    finally:
        server.kill()
        _all(clients, [{"op": "drop"}] * len(clients))
    return sample


def _kb(kib: float) -> str:
    return f"{kib * 1.024:,.2f}"


def run(
    apps: list[str], counts: list[int], rounds: int, pure_path: str | None, deflate: bool
) -> tuple[dict[str, list[Sample]], str]:
    server_cpus, client_cpus = _cpus()
    clients = [Client(client_cpus) for _ in range(CLIENT_PROCESSES)]
    samples: dict[str, list[Sample]] = {app: [] for app in apps}
    try:
        for r in range(rounds):
            order = apps if r % 2 == 0 else apps[::-1]
            for app in order:
                sample = measure(app, counts, clients, server_cpus, pure_path, deflate)
                samples[app].append(sample)
                figures = ", ".join(
                    f"{n:,}: {_kb(sample.grown_kib[n] / n)} KB/conn "
                    f"({sample.seconds[n]:.1f} s to connect, CPU s server "
                    f"{sample.cpu[n][0]:.1f} clients {sample.cpu[n][1]:.1f})"
                    for n in counts
                )
                print(
                    f"  round {r + 1} {LABELS[app]:22s} base {sample.base_kib / 1024:,.1f} MiB; "
                    f"{figures}" + (f"; FAILURES: {sample.failures}" if sample.failures else ""),
                    flush=True,
                )
    finally:
        for client in clients:
            client.stop()
    pinning = (
        f"server on CPU {sorted(server_cpus)}, clients on CPU {sorted(client_cpus)}"
        if server_cpus and client_cpus
        else "not pinned"
    )
    return samples, pinning


def per_conn(samples: list[Sample], high: int, low: int = 0) -> float:
    """Median over rounds of the RSS growth per connection from ``low`` to ``high`` open, KiB."""
    return statistics.median(
        (s.grown_kib[high] - s.grown_kib.get(low, 0)) / (high - low) for s in samples
    )


def _spans(counts: list[int]) -> list[tuple[int, int]]:
    """(0, N) for every count, then (N, M) for each pair of consecutive counts."""
    return [(0, n) for n in counts] + list(itertools.pairwise(counts))


def _span(low: int, high: int) -> str:
    return f"at {high:,}" if low == 0 else f"{low:,} to {high:,}"


def _auto_ws() -> str:
    """The WebSocket protocol class uvicorn's ``--ws auto`` picks in this environment."""
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    if AutoWebSocketsProtocol is None:
        return "none"
    return f"{AutoWebSocketsProtocol.__module__}:{AutoWebSocketsProtocol.__qualname__}"


def report(
    samples: dict[str, list[Sample]],
    counts: list[int],
    rounds: int,
    pinning: str,
    build: str,
    deflate: bool,
) -> list[str]:
    """The markdown section (title, description, table, shares)."""
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "websockets", "starlette", "lilya")
        if name in ("uvicorn", "websockets") or name in samples
    )
    spans = _spans(counts)
    header = ["app", "RSS at 0 (MiB)"]
    for low, high in spans:
        header += [f"KB/conn {_span(low, high)}", "share"]
    header += [f"connect to {n:,} (s)" for n in counts]
    header.append("failures")
    floor = samples.get("raw")
    rows: list[list[str]] = []
    for app, runs in samples.items():
        row = [LABELS[app], f"{statistics.median(s.base_kib for s in runs) / 1024:,.1f}"]
        for low, high in spans:
            value = per_conn(runs, high, low)
            share = "-"
            if floor is not None and app != "raw":
                share = _kb(value - per_conn(floor, high, low))
            row += [_kb(value), share]
        for i in range(len(counts)):
            seconds = statistics.median(sum(s.seconds[m] for m in counts[: i + 1]) for s in runs)
            row.append(f"{seconds:.1f}")
        failures = [f for s in runs for f in s.failures]
        row.append("; ".join(failures) if failures else "0")
        rows.append(row)
    lines = [
        "",
        "## Memory per idle connection through uvicorn (RSS)",
        "",
        f"`benchmarks/bench_rss.py` ({build} build): one uvicorn worker per app on 127.0.0.1 "
        f"(`{' '.join(UVICORN_ARGS)}`, WebSocket options at uvicorn's defaults: "
        f"`--ws auto`, which picks `{_auto_ws()}`; permessage-deflate "
        f"{'on' if deflate else 'on, but not offered by the clients'}), {versions}. "
        "Each app accepts, reads headers, query_params, cookies and url once, "
        "sends one ready message and waits for messages (`benchmarks/rss_apps.py`). Clients: "
        f"`websockets` in {CLIENT_PROCESSES} processes with Chrome's handshake headers (Origin, "
        "User-Agent, a Cookie with two cookies, `?room=lobby&user=uN`"
        f"{', permessage-deflate' if deflate else ''}); "
        f"{pinning}. KB/conn at N: (server VmRSS with N connections open and idle - VmRSS "
        f"with none, after {WARMUP} warm-up connections) / N, 1 KB = 1,000 bytes; from N to M: "
        "the growth between the two over M - N, which leaves out what the first connections "
        "take from memory the process already holds (freed import-time and warm-up memory: "
        "the larger the library's import, the more; it is what makes the figures at a small N "
        "come out below the floor). Share: that minus the bare ASGI app's figure, what the "
        f"layer adds per connection. Medians of {rounds} rounds in alternating app order, a "
        "fresh server each time. Connect: seconds to open all the connections up to N "
        f"({CONCURRENCY} handshakes in flight per client process; on a busy machine this is "
        "mostly waiting for a CPU).",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 2) + "---|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    if floor is not None and "typedws" in samples and "starlette" in samples:
        lines.append("")
        for low, high in spans:
            mine = per_conn(samples["typedws"], high, low) - per_conn(floor, high, low)
            theirs = per_conn(samples["starlette"], high, low) - per_conn(floor, high, low)
            ratio = f"{mine / theirs:.2f}x" if theirs > 0 else "n/a (Starlette's share <= 0)"
            lines.append(
                f"- {_span(low, high)}: typedws's share {_kb(mine)} KB/conn, Starlette's "
                f"{_kb(theirs)} KB/conn: typedws / Starlette = {ratio}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--counts", default="1000,10000", help="connection counts, ascending")
    parser.add_argument("--apps", default=",".join(APPS), help=f"some of {','.join(APPS)}")
    parser.add_argument("--pure-path", help="serve the pure build found in this directory")
    parser.add_argument("--append", help="also append the section to this markdown file")
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="clients do not offer permessage-deflate (Chrome does; each side then keeps no "
        "zlib state per connection)",
    )
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(_client_main())
        return
    counts = sorted(int(n) for n in args.counts.split(","))
    apps = [app for app in args.apps.split(",") if app]
    unknown = set(apps) - set(APPS)
    if unknown:
        parser.error(f"unknown apps: {sorted(unknown)}")
    build = "pure" if args.pure_path else "compiled"
    check = "import typedws, sys; sys.exit(0 if typedws.COMPILED else 1)"
    env = dict(os.environ)
    if args.pure_path:
        env["PYTHONPATH"] = os.path.abspath(args.pure_path)
    compiled = subprocess.run([sys.executable, "-c", check], env=env).returncode == 0
    if compiled != (build == "compiled"):
        sys.exit(f"the server would import the wrong typedws build (compiled: {compiled})")
    print(
        f"RSS per idle connection through uvicorn ({build} build): {', '.join(apps)}; "
        f"{', '.join(f'{n:,}' for n in counts)} connections; {args.rounds} rounds",
        flush=True,
    )
    started = time.monotonic()
    samples, pinning = run(apps, counts, args.rounds, args.pure_path, not args.no_deflate)
    lines = report(samples, counts, args.rounds, pinning, build, not args.no_deflate)
    print("\n".join(lines))
    print(f"\n({time.monotonic() - started:.0f} s)")
    if args.append:
        with open(args.append, "a", encoding="utf-8") as results:
            results.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
