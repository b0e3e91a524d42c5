"""Run every benchmark side by side and write RESULTS.md and the chart.

    python benchmarks/run.py --pure-path DIR [--rounds N] [--quick] [--no-e2e]

The compiled build of typedws must be the one installed in this interpreter's environment; the
pure build (``TYPEDWS_PURE=1 pip install --target DIR .``) is put first on ``PYTHONPATH`` of a
second worker process. Every in-process benchmark is interleaved: each round runs one trial of
every implementation, in alternating order (forward, then backward), and the table reports the
median over the rounds, so that slow drift of a noisy machine hits all implementations alike.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _one_cpu() -> set[int] | None:
    """The CPU every in-process benchmark runs on, or None where affinity cannot be set.

    The workers take turns (the runner waits for each answer), so one CPU is enough, and it is
    the same for every implementation. Left to the scheduler, a worker stays on the CPU it
    started on; on this 2-vCPU machine one vCPU is at times far slower than the other (another
    tenant on its core), and whichever worker sat there measured up to 2x slower for the whole
    run while the others did not (seen in repeated runs of the events benchmark).
    """
    if not hasattr(os, "sched_getaffinity"):
        return None
    return {min(os.sched_getaffinity(0))}


class Worker:
    """One worker process (see _worker.py), with or without the pure build on its path.

    ``python``: the interpreter to run it with (default: this one); bench_pythons.py runs the
    workers of each supported CPython from that Python's own environment.
    """

    def __init__(
        self, pure_path: str | None, cpus: set[int] | None = None, python: str | None = None
    ) -> None:
        env = dict(os.environ)
        if pure_path:
            pure_path = os.path.abspath(pure_path)  # the worker runs in benchmarks/
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (pure_path, env.get("PYTHONPATH", "")) if p
            )
        self.process = subprocess.Popen(
            [python or sys.executable, str(HERE / "_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(HERE),
        )
        if cpus is not None:
            os.sched_setaffinity(self.process.pid, cpus)
        hello = self._read()
        self.compiled: bool = hello["compiled"]
        self.file: str = hello["file"]

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("benchmark worker died")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError("benchmark worker failed:\n" + answer["error"])
        return answer

    def ask(self, **command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@dataclass
class Table:
    """Samples of one benchmark: ``samples[case][label]`` is a list of ns (one per round)."""

    bench: str
    unit: str
    labels: list[str]
    cases: list[str]
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def median(self, case: str, label: str) -> float:
        return statistics.median(self.samples[case][label])


def interleave(
    bench: str,
    unit: str,
    impls: dict[str, tuple[Worker, str]],
    cases: list[str],
    rounds: int,
) -> Table:
    """Run ``rounds`` rounds; in each, one trial per (case, implementation), order alternating."""
    table = Table(bench, unit, list(impls), cases)
    for case in cases:
        table.samples[case] = {label: [] for label in impls}
        for worker, impl in impls.values():
            worker.ask(bench=bench, op="prepare", impl=impl, case=case)
    labels = list(impls)
    for round_number in range(rounds):
        order = labels if round_number % 2 == 0 else labels[::-1]
        for case in cases:
            for label in order:
                worker, impl = impls[label]
                answer = worker.ask(bench=bench, op="trial", impl=impl, case=case)
                table.samples[case][label].append(answer["ns"])
    return table


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_description() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in (
            "msgspec",
            "starlette",
            "lilya",
            "litestar",
            "pydantic",
            "uvicorn",
            "websockets",
            "mypy",
        )
    )
    return [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        f"- Load average at the start (other work on the machine): {load}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- Versions: typedws {_version('typedws')}, {versions}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pure-path", required=True, help="directory holding the pure build")
    parser.add_argument("--rounds", type=int, default=60, help="rounds per in-process benchmark")
    parser.add_argument("--e2e-rounds", type=int, default=15, help="rounds of the uvicorn run")
    parser.add_argument("--e2e-seconds", type=float, default=1.0, help="seconds per e2e trial")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end benchmark")
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke test")
    parser.add_argument("--out", default=str(HERE), help="where RESULTS.md and the PNG go")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.e2e_rounds, args.e2e_seconds = 5, 1, 1.0

    from report import write_outputs

    started = time.perf_counter()
    machine = machine_description()
    # typedws compiled and pure each get a worker of their own, so that both builds run in a
    # process that has run nothing else (the other layers fragment the heap of theirs). The
    # floors (bare, thin, thin typed) run in the compiled typedws worker: a ratio to a floor is
    # then measured within one process. Between two processes running the same code the medians
    # differ by up to ~6% here (memory layout), which would otherwise land in the ratio.
    cpus = _one_cpu()
    own_cpus = os.sched_getaffinity(0) if cpus is not None else None
    machine.append(
        f"- In-process benchmarks: runner and workers pinned to CPU {min(cpus)}"
        if cpus is not None
        else "- In-process benchmarks: not pinned (no CPU affinity on this platform)"
    )
    if cpus is not None:
        os.sched_setaffinity(0, cpus)  # the runner too: it only waits while a worker runs
    compiled = Worker(None, cpus)
    typed_compiled = Worker(None, cpus)
    pure = Worker(args.pure_path, cpus)
    if not compiled.compiled:
        raise SystemExit(f"the installed typedws is not the compiled build ({compiled.file})")
    if pure.compiled:
        raise SystemExit(f"{args.pure_path} does not hold the pure build ({pure.file})")
    print(f"compiled typedws: {compiled.file}\npure typedws:     {pure.file}", flush=True)

    tables: list[Table] = []
    try:
        layer_impls = {
            "bare": (typed_compiled, "bare"),
            "thin": (typed_compiled, "thin"),
            "typedws": (typed_compiled, "typedws"),
            "typedws pure": (pure, "typedws"),
            "starlette": (compiled, "starlette"),
            "lilya": (compiled, "lilya"),
            "litestar": (compiled, "litestar"),
        }
        layer_cases = ["small text", "small binary", "large text", "large binary"]
        print("layer benchmark...", flush=True)
        tables.append(interleave("layer", "ns/message", layer_impls, layer_cases, args.rounds))
        typed_impls = {
            "thin typed": (typed_compiled, "thin typed"),
            "typedws": (typed_compiled, "typedws"),
            "typedws pure": (pure, "typedws"),
            "starlette+pydantic": (compiled, "starlette+pydantic"),
        }
        print("typed decode benchmark...", flush=True)
        tables.append(
            interleave(
                "typed", "ns/message", typed_impls, ["chat text", "chat binary"], args.rounds
            )
        )
        # Endpoints (issue 14): in the compiled worker, as the typed decode benchmark, with the
        # pure build beside for reference.
        dispatch_impls = {
            "hand loop": (typed_compiled, "hand loop"),
            "endpoint": (typed_compiled, "endpoint"),
            "endpoint pure": (pure, "endpoint"),
        }
        print("endpoint dispatch benchmark...", flush=True)
        tables.append(
            interleave(
                "dispatch",
                "ns/message",
                dispatch_impls,
                ["dispatch text", "dispatch binary"],
                args.rounds,
            )
        )
        send_impls = {
            "send_json": (typed_compiled, "send_json"),
            "typed send": (typed_compiled, "typed send"),
            "typed send pure": (pure, "typed send"),
        }
        print("typed send benchmark...", flush=True)
        tables.append(
            interleave(
                "typed send", "ns/message", send_impls, ["send text", "send binary"], args.rounds
            )
        )
        event_impls = {"typedws": (typed_compiled, "typedws"), "typedws pure": (pure, "typedws")}
        print("event validation benchmark...", flush=True)
        from bench_events import CASES as EVENT_CASES

        tables.append(interleave("events", "ns/event", event_impls, list(EVENT_CASES), args.rounds))
        print("event checks-only benchmark...", flush=True)
        from bench_checks import CASES as CHECK_CASES

        tables.append(interleave("checks", "ns/event", event_impls, list(CHECK_CASES), args.rounds))
    finally:
        for worker in (compiled, typed_compiled, pure):
            worker.close()
        if own_cpus is not None:
            os.sched_setaffinity(0, own_cpus)  # the end-to-end run needs every CPU

    e2e = None
    if not args.no_e2e:
        from bench_e2e import run_e2e

        print("end-to-end benchmark (uvicorn)...", flush=True)
        e2e = run_e2e(rounds=args.e2e_rounds, seconds=args.e2e_seconds)

    elapsed = time.perf_counter() - started
    text = write_outputs(Path(args.out), machine, tables, e2e, args, elapsed)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
