"""Hostile clients beside 50 well-behaved ones, through real uvicorn: do the others keep their
throughput? (issue 15, production options.)

Run: ``python benchmarks/bench_hostile.py [--build compiled|pure] [--pure-path DIR]
[--rounds N] [--append RESULTS.md]`` (``nox -s bench`` runs it against the compiled build and
appends the section to RESULTS.md; ``--kinds`` and ``--shapes`` run a part, to find which
hostile kind costs what).

uvicorn (one worker) serves tests/production_app.py, the app of tests/test_production_server.py:
``/echo`` with no option, and one route per option (``/rate``: ``rate_limit=(100, 1.0)``,
``/idle``: ``idle_timeout=0.5``, ``/size``: ``max_message_size=1024``, ``/origin``:
``allowed_origins``). Every client runs in a process of its own kind (_hostile_clients.py):
the 50 well-behaved clients on ``/echo`` in one process, and each hostile kind in its own: a
flood of 10,000 messages a second (bursts of 100 every 10 ms; cut by the rate limit after 100,
it reconnects), 200 silent connections (each reconnecting when closed, spread over the idle
timeout: 200 always open), 256 KiB messages, foreign origins. With two CPUs or more the server
is pinned alone to one CPU and every client (and this runner) to the others, so that what
differs between phases is what the server does, not what the clients' CPU allows. On the
clients' CPU the hostile processes run at nice 10 (``--hostile-nice``): the well-behaved
clients get the CPU they need and the hostile ones the rest (with ``--hostile-nice 0`` the
hostile load is heavier but the well-behaved clients then wait for their own CPU, which is not
the server's doing). The hostile load achieved is reported per shape, and the clients' own CPU
and their event loop's lag, so a client-side delay shows as such.

Phases alternate, well-behaved clients alone and beside the hostile ones (ABBA order, after a
warm-up of each), in two shapes:

- **closed loop**: each well-behaved client sends a message, waits for its echo, sends again:
  echoes/s is what they get from the server; beside / alone is the share of it they keep.
- **open loop**: each sends ``--rate`` messages a second on a fixed schedule (50 x 40 = 2,000/s,
  well below capacity): keeping their throughput means getting 100 % of that, and the latency
  (send to echo) staying close to what it is alone.

Per phase: the well-behaved clients' echoes/s and latency p50/p99; the server's CPU time
(utime + stime from /proc/<pid>/stat, all threads) during the timed window, as a share of its
CPU and per well-behaved echo; the server's event-loop lag (``GET /lag``: how late a 5 ms sleep
wakes in the server, p99); the clients' CPU and loop lag. From CPU time, which other load on
the machine does not inflate (unlike rates and latencies), the share of the server's CPU the
hostile clients took: its CPU beside them less the well-behaved echoes at their cost alone.
After each beside phase: the hostile clients' refusals by code (``rate 1008``, ``idle 1001``,
``size 1009``, ``origin 403``), and the open connections must fall back to 0. The server's
resident memory is read after the warm-up and at the end. Medians (min-max) over the rounds;
beside / alone is the median of the per-round ratios. A phase in which a well-behaved client
got an error, a wrong echo or lost a message, or in which a hostile kind was never refused, is
reported as failed and not timed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _process import cpu_seconds, free_port, rss_kib

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
CLIENTS = HERE / "_hostile_clients.py"
HOSTILE_KINDS = ("flood", "silent", "oversized", "foreign")
EXPECTED = {"rate": "1008", "idle": "1001", "size": "1009", "origin": "403"}
KIND_CODES = {"flood": "rate", "silent": "idle", "oversized": "size", "foreign": "origin"}
#: Seconds the hostile clients run before the well-behaved ones start (all connected, steady).
RAMP = 1.0
TITLE = "## Hostile clients beside 50 well-behaved ones (uvicorn)"


def _placement(pin: bool) -> tuple[set[int] | None, set[int] | None, str]:
    """(server CPUs, client CPUs, a sentence for the report)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not pin or len(cpus) < 2:
        why = "--no-pin" if not pin else "fewer than 2 CPUs"
        return None, None, f"no CPU pinning ({why}): server and clients share the CPUs"
    server, clients = {cpus[-1]}, set(cpus[:-1])
    listed = ", ".join(map(str, sorted(clients)))
    return server, clients, f"server pinned alone to CPU {cpus[-1]}, every client to CPU {listed}"


def _preexec(cpus: set[int] | None, nice: int) -> Any:
    def setup() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
        if nice:
            os.nice(nice)

    return setup


class Server:
    """uvicorn serving production_app:app, one worker, its output to a file."""

    def __init__(self, env: dict[str, str], cpus: set[int] | None, ws: str) -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (open for the server's life)
        uvicorn = [sys.executable, "-m", "uvicorn", "production_app:app", "--app-dir", str(TESTS)]
        args = ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(
            [*uvicorn, *args, "--ws", ws],
            cwd=str(TESTS),
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_preexec(cpus, 0),
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not listen:\n{self.output()}") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def rss(self) -> int:
        return rss_kib(self.process.pid)

    def stats(self, path: str = "/stats") -> dict[str, Any]:
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            client.request("GET", path)
            result: dict[str, Any] = json.loads(client.getresponse().read())
            return result
        finally:
            client.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Phase:
    shape: str  # "closed" or "open"
    beside: bool
    failed: list[str] = field(default_factory=list)
    rate: float = 0.0  # well-behaved echoes/s
    offered: float = 0.0  # open loop: what they sent per second
    p50: float = 0.0  # ms
    p99: float = 0.0
    server_cpu: float = 0.0  # share of one CPU during the window
    server_us: float = 0.0  # server CPU µs per well-behaved message
    server_lag: float = 0.0  # ms, p99 of the server's event-loop lag
    good_cpu: float = 0.0  # the well-behaved clients' process, share of one CPU
    good_lag: float = 0.0  # ms, p99 of their own event loop's lag
    hostile_cpu: float = 0.0  # the hostile processes together, during the window
    codes: Counter[str] = field(default_factory=Counter)
    codes_per_s: dict[str, float] = field(default_factory=dict)
    flood_sent_per_s: float = 0.0


def _spawn(args: list[str], cpus: set[int] | None, nice: int, env: dict[str, str]) -> Any:
    return subprocess.Popen(
        [sys.executable, str(CLIENTS), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_preexec(cpus, nice),
    )


def run_phase(
    server: Server,
    shape: str,
    beside: bool,
    seconds: float,
    rate: float,
    cpus: set[int] | None,
    nice: int,
    env: dict[str, str],
    kinds: tuple[str, ...] = HOSTILE_KINDS,
) -> Phase:
    phase = Phase(shape, beside)
    hostile = []
    if beside:
        hostile = [_spawn([kind, server.url], cpus, nice, env) for kind in kinds]
        for process in hostile:  # each says "up" once imported (slow on a busy machine)
            assert process.stdout is not None
            process.stdout.readline()
        time.sleep(RAMP)
    good_args = ["good", server.url, "--seconds", str(seconds)]
    good_args += ["--rate", str(rate if shape == "open" else 0)]
    good = _spawn(good_args, cpus, 0, env)
    assert good.stdout is not None
    marks: dict[str, tuple[float, float, float, dict[str, Any]]] = {}
    result: dict[str, Any] | None = None
    for line in good.stdout:
        word = line.strip()
        if word in ("start", "end"):
            hostile_cpu = sum(cpu_seconds(p.pid) for p in hostile if p.poll() is None)
            lag = server.stats("/lag")  # at "end": the server loop's lag in the window
            marks[word] = (time.monotonic(), server.cpu(), hostile_cpu, lag)
        elif word.startswith("{"):
            result = json.loads(word)
    good.wait(60)
    for process in hostile:
        assert process.stdin is not None
        process.stdin.write("stop\n")  # the hostile ones stop
        process.stdin.flush()
    for process in hostile:
        out, _ = process.communicate(timeout=60)
        report = json.loads(out.strip().splitlines()[-1])
        if report["error"]:
            phase.failed.append(f"hostile {report['kind']}: {report['error']}")
        phase.codes.update(report["codes"])
        for code, n in report["codes"].items():
            phase.codes_per_s[code] = phase.codes_per_s.get(code, 0.0) + n / report["seconds"]
        if report["kind"] == "flood":
            phase.flood_sent_per_s = report["sent"] / report["seconds"]
    if result is None or "start" not in marks or "end" not in marks:
        phase.failed.append(f"the well-behaved clients exited with {good.returncode}")
        return phase
    if result["errors"]:
        phase.failed.extend(result["errors"])
    if shape == "open" and result["echoed"] != result["sent"]:
        phase.failed.append(f"sent {result['sent']}, {result['echoed']} echoed")
    (t0, s0, h0, _), (t1, s1, h1, lag) = marks["start"], marks["end"]
    phase.server_lag = lag["p99"] or 0.0
    wall = t1 - t0
    window = result["window"]
    phase.rate = result["echoed"] / window
    phase.offered = result["sent"] / window
    phase.p50 = (result["p50"] or 0.0) * 1000
    phase.p99 = (result["p99"] or 0.0) * 1000
    phase.server_cpu = (s1 - s0) / wall
    phase.server_us = (s1 - s0) / max(result["echoed"], 1) * 1e6
    phase.good_cpu = result["cpu"] / window
    phase.good_lag = (result["lag_p99"] or 0.0) * 1000
    phase.hostile_cpu = (h1 - h0) / wall
    if beside:
        unexpected = {
            code for code in phase.codes if code.split()[1] != EXPECTED[code.split()[0]]
        } - {"rate 1000"}  # the flood's own close at the end of the phase
        if unexpected:
            phase.failed.append(f"unexpected refusals: { {c: phase.codes[c] for c in unexpected} }")
        wanted = {KIND_CODES[kind] for kind in kinds}
        missing = {f"{kind} {code}" for kind, code in EXPECTED.items() if kind in wanted}
        missing -= set(phase.codes)
        if missing:
            phase.failed.append(f"hostile load incomplete: no refusal {sorted(missing)}")
    # Nothing stays open: the silent ones close 0.5 s after the last one connected.
    deadline = time.monotonic() + 15
    while (open_now := server.stats()["connections"]) != 0:
        if time.monotonic() > deadline:
            phase.failed.append(f"{open_now} connections still open 15 s after the phase")
            break
        time.sleep(0.1)
    return phase


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _range(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    text = format(statistics.median(values), fmt)
    if len(values) > 1:
        text += f" ({format(min(values), fmt)}-{format(max(values), fmt)})"
    return text


def summarize(
    rounds: list[dict[tuple[str, bool], Phase]], shape: str
) -> tuple[list[tuple[str, ...]], list[str]]:
    """The table rows (alone, beside) and notes for one shape."""
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    ratios: list[float] = []
    p99_ratios: list[float] = []
    hostile_share: list[float] = []
    per_refusal: list[float] = []
    for round_ in rounds:
        alone, beside = round_[(shape, False)], round_[(shape, True)]
        if not alone.failed and not beside.failed and alone.rate:
            ratios.append(beside.rate / alone.rate)
            if alone.p99:
                p99_ratios.append(beside.p99 / alone.p99)
            # What the hostile clients cost the server: its CPU beside them, less what the
            # well-behaved echoes cost at their price when alone (CPU time: not inflated by
            # other load on the machine, unlike latencies and rates).
            hostile = beside.server_cpu - beside.rate * alone.server_us / 1e6
            hostile_share.append(hostile)
            refused = sum(beside.codes_per_s.values())
            if refused:
                per_refusal.append(hostile / refused * 1e6)
    for beside in (False, True):
        phases = [r[(shape, beside)] for r in rounds]
        timed = [p for p in phases if not p.failed]
        for p in phases:
            if p.failed:
                notes.append(f"{shape} loop, {'beside' if beside else 'alone'}: FAILED: {p.failed}")
        label = "beside the hostile ones" if beside else "alone"
        ratio = "1.00" if not beside else (f"{_range(ratios, '.2f')}" if ratios else "-")
        rows.append(
            (
                label,
                _range([p.rate for p in timed], ",.0f"),
                ratio,
                _range([p.p50 for p in timed], ".2f"),
                _range([p.p99 for p in timed], ".2f"),
                _range([p.server_cpu * 100 for p in timed], ".0f"),
                _range([p.server_us for p in timed], ",.0f"),
                _range([p.server_lag for p in timed], ".1f"),
                _range([p.good_cpu * 100 for p in timed], ".0f"),
                _range([p.good_lag for p in timed], ".1f"),
                _range([p.hostile_cpu * 100 for p in timed], ".0f") if beside else "-",
                f"{len(timed)}/{len(phases)}",
            )
        )
    besides = [r[(shape, True)] for r in rounds]
    codes: Counter[str] = Counter()
    per_s: dict[str, list[float]] = {}
    for p in besides:
        codes.update(p.codes)
        for code, value in p.codes_per_s.items():
            per_s.setdefault(code, []).append(value)
    refusals = ", ".join(
        f"{code} {_range(values, ',.0f')}/s ({codes[code]:,} in all)"
        for code, values in sorted(per_s.items())
    )
    flood = _range([p.flood_sent_per_s for p in besides], ",.0f")
    notes.append(
        f"{shape} loop: the hostile load, per second of a beside phase: refusals {refusals}; "
        f"the flood sent {flood} messages/s"
    )
    if p99_ratios:
        notes.append(f"{shape} loop: p99 beside / alone, per round: {_range(p99_ratios, '.2f')}")
    if hostile_share:
        notes.append(
            f"{shape} loop: the hostile clients cost the server "
            f"{_range([h * 100 for h in hostile_share], '.0f')} % of its CPU "
            f"({_range(per_refusal, ',.0f')} µs per refused connection, the flood's messages "
            "included): the share of the server's capacity they take from the others"
        )
    if shape == "open":
        offered = [p.offered for r in rounds for p in (r[("open", False)], r[("open", True)])]
        delivered = [
            p.rate / p.offered
            for r in rounds
            for p in r.values()
            if p.shape == "open" and p.offered
        ]
        if offered and delivered:
            notes.append(
                f"open loop: offered {_range(offered, ',.0f')} msgs/s, echoed "
                f"{_range([d * 100 for d in delivered], '.1f')} % of it"
            )
    return rows, notes


HEADER = (
    "well-behaved clients",
    "echoes/s",
    "beside / alone",
    "p50 ms",
    "p99 ms",
    "server CPU %",
    "server CPU µs/echo",
    "server loop lag p99 ms",
    "good clients' CPU %",
    "their loop lag p99 ms",
    "hostile clients' CPU %",
    "timed",
)


def print_table(title: str, rows: list[tuple[str, ...]]) -> list[str]:
    lines = [
        f"**{title}**",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|" + "---:|" * (len(HEADER) - 1),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    print("\n".join(lines) + "\n")
    return lines


def _check_build(build: str, env: dict[str, str]) -> tuple[str, str]:
    """The typedws the server imports (failing if it is not ``build``), and what uvicorn runs
    on: its "auto" loop and HTTP parser are uvloop and httptools when installed."""
    code = (
        "import importlib.util as u, typedws, uvicorn, websockets\n"
        "print(typedws.COMPILED, typedws.__file__, uvicorn.__version__, websockets.__version__,"
        " 'uvloop' if u.find_spec('uvloop') else 'asyncio',"
        " 'httptools' if u.find_spec('httptools') else 'h11')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    compiled = out[0] == "True"
    if compiled != (build == "compiled"):
        raise SystemExit(f"asked for the {build} build, the server would import {out[1]}")
    return out[1], f"uvicorn {out[2]} ({out[4]}, {out[5]}), websockets {out[3]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", choices=["compiled", "pure"], default="compiled")
    parser.add_argument("--pure-path", help="directory holding the pure build (--build pure)")
    parser.add_argument("--rounds", type=int, default=4, help="ABBA rounds per shape (>= 3)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed window per phase")
    parser.add_argument("--rate", type=float, default=40.0, help="open loop: msgs/s per client")
    parser.add_argument("--hostile-nice", type=int, default=10)
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn's --ws")
    parser.add_argument("--no-pin", action="store_true", help="no CPU pinning")
    parser.add_argument("--append", help="also append the section to this markdown file")
    parser.add_argument(
        "--kinds", default=",".join(HOSTILE_KINDS), help="the hostile kinds, comma-separated"
    )
    parser.add_argument("--shapes", default="closed,open", help="closed, open or both")
    args = parser.parse_args()
    kinds = tuple(args.kinds.split(","))
    shapes = tuple(args.shapes.split(","))

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.build == "pure" and args.pure_path:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (os.path.abspath(args.pure_path), env.get("PYTHONPATH", "")) if p
        )
    module, stack = _check_build(args.build, env)
    server_cpus, client_cpus, placement = _placement(not args.no_pin)
    if client_cpus is not None:
        os.sched_setaffinity(0, client_cpus)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{TITLE[3:]}: {args.build} build ({module}); {stack}; {placement}; load {load}")
    started = time.monotonic()
    server = Server(env, server_cpus, args.ws)
    try:
        # Warm-up, not timed: imports, first connections, the allocator's high-water mark.
        for shape in shapes:
            for beside in (False, True):
                run_phase(
                    server, shape, beside, 1.0, args.rate, client_cpus, args.hostile_nice, env,
                    kinds,
                )  # fmt: skip
        rss_before = server.rss()
        rounds: list[dict[tuple[str, bool], Phase]] = []
        for r in range(args.rounds):
            round_: dict[tuple[str, bool], Phase] = {}
            for shape in shapes:
                order = (False, True) if r % 2 == 0 else (True, False)
                for beside in order:
                    phase = run_phase(
                        server, shape, beside, args.seconds, args.rate, client_cpus,
                        args.hostile_nice, env, kinds,
                    )  # fmt: skip
                    round_[(shape, beside)] = phase
                    state = "FAILED" if phase.failed else f"{phase.rate:,.0f}/s"
                    where = "beside" if beside else "alone"
                    print(f"round {r + 1} {shape} {where}: {state}", flush=True)
            rounds.append(round_)
        rss_after = server.rss()
    finally:
        server.stop()
    output = server.output()
    elapsed = time.monotonic() - started

    lines = [
        "",
        TITLE,
        "",
        f"`benchmarks/bench_hostile.py`, {args.build} build, {stack}, one worker "
        f"(`--ws {args.ws}`) serving `tests/production_app.py`; {placement}; hostile clients "
        f"at nice {args.hostile_nice}. 50 well-behaved clients on `/echo` (one process) "
        "alone, then beside the hostile ones (each kind in its own process): a flood of "
        "10,000 messages/s at `rate_limit=(100, 1.0)`, 200 silent connections at "
        "`idle_timeout=0.5` (reconnecting: 200 always open), 256 KiB messages at "
        "`max_message_size=1024`, foreign `Origin`s. "
        f"{args.rounds} rounds of each shape in ABBA order, {args.seconds:g} s timed per "
        "phase after a warm-up; medians (min-max). Closed loop: each client sends, waits for "
        f"the echo, sends again. Open loop: each sends {args.rate:g} messages/s on a schedule "
        f"({50 * args.rate:,.0f}/s offered, below capacity). Server CPU from /proc during the "
        "timed window (100 % = its whole CPU); loop lag: how late a 5 ms sleep wakes, in the "
        "server (`GET /lag`) and in the well-behaved clients' process. Rates and latencies "
        "suffer from any other load on the machine, CPU time much less: the notes give the "
        "share of the server's CPU the hostile clients took (its CPU beside them less the "
        "well-behaved echoes at their cost alone). A phase in which a well-behaved client got "
        "an error or lost a message, or a hostile kind was never refused, is not timed.",
        "",
    ]
    notes: list[str] = []
    for shape, title in (("closed", "Closed loop"), ("open", "Open loop")):
        if shape not in shapes:
            continue
        rows, shape_notes = summarize(rounds, shape)
        print(f"\n{title}")
        lines += [*print_table(title, rows), ""]
        notes += shape_notes
    notes += [
        f"server RSS {rss_before:,} KiB after the warm-up, {rss_after:,} KiB at the end "
        f"({rss_after - rss_before:+,} KiB)",
        f"run time {elapsed:.0f} s; load average at the start {load}",
    ]
    if "Traceback" in output:
        notes.append("the server logged a traceback (see its output)")
    lines += [f"- {note}" for note in notes]
    print("\n".join(f"- {note}" for note in notes))
    if args.append:
        with open(args.append, "a", encoding="utf-8") as results:
            results.write("\n".join(lines) + "\n")
    if "Traceback" in output:
        print(output[-3000:])


if __name__ == "__main__":
    main()
