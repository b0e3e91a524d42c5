"""The layer benchmark on every supported CPython, each with its own compiled build of typedws.

    python benchmarks/bench_pythons.py [--append RESULTS.md] [--venvs DIR] [--rounds N] [--quick]
                                       [--pythons 3.10,3.11,3.12,3.13]

For each CPython (``python3.10`` ... ``python3.13`` on PATH), an environment made by uv in
``--venvs`` gets the compiled build of this tree, built as ``nox -s tests_compiled`` builds it
(uv, no cache, the Python's lock in requirements/lock/ as constraints of the install and of the
isolated build, hence the mypy that pyproject.toml pins) and the pure build beside it
(``TYPEDWS_PURE=1``, ``--target``). Then the layer benchmark (bench_layer.py) runs in that
interpreter through run.py's workers: bare, thin and typedws compiled in one worker, typedws
pure in a second, interleaved in alternating order, pinned to one CPU, as run.py runs it.

Reported per Python: median ns per message for each case, typedws / thin (the target of issue
18: at most 1.05x for the small messages on every Python), and which of the C edits of
build_support/mypyc_tuning.py the build carries (the marker string in the shared library, as
tests/test_build_tuning.py reads it) with what the build said about each edit.

The environments are kept: a second run rebuilds one only when the build's inputs (src/,
build_support/, setup.py, pyproject.toml, mypy.ini, typings/, the lock) or the interpreter
changed. Each build runs in a copy of those inputs, so two build at a time and neither touches
the tree's build/ directory.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from run import Table, Worker, _one_cpu, interleave

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
#: What a build reads (MANIFEST.in's list, and the sources).
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "mypy.ini",
    "MANIFEST.in",
    "README.md",
    "build_support",
    "src",
    "typings",
)
#: Besides typedws (and its dependencies): what _worker.py imports (bench_typed needs pydantic).
BENCH_NEEDS = ("msgspec", "pydantic")
CASES = ["small text", "small binary", "large text", "large binary"]
SMALL = ("small text", "small binary")
#: The target of issue 18 for the small messages, on every Python.
TARGET = 1.05

# As noxfile.py: never a cached wheel of the other flavour; never a downloaded interpreter.
NO_CACHE = {"UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1", "UV_PYTHON_DOWNLOADS": "never"}
_MARKER = re.compile(rb"typedws-mypyc-tuning: edits[ 0-9]*")
_STAMP = "typedws-bench-build.json"
_PRODUCTS = {".pyc", ".so", ".c", ".o", ".pyd"}


@dataclass
class Build:
    """One Python's environment: the compiled build installed, the pure build beside it."""

    python: str  # "3.11"
    venv: Path
    version: str = ""  # "3.11.7"
    #: What build_support/mypyc_tuning.py said while building (one line per edit).
    tuning: list[str] = field(default_factory=list)
    #: The edits the marker in the installed shared library names: "1 2 3 5", or "none".
    edits: str = ""
    built: bool = False  # False: reused from an earlier run
    seconds: float = 0.0

    @property
    def interpreter(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def pure(self) -> Path:
        return self.venv.with_name(self.venv.name + "-pure")


def _files(root: Path) -> list[Path]:
    """Every file of the build's inputs (not the bytecode or build products lying among them)."""
    found: list[Path] = []
    for name in BUILD_INPUTS:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix not in _PRODUCTS
            ]
    return sorted(found)


def _lock(python: str) -> Path:
    return ROOT / "requirements" / "lock" / f"py{python}.txt"


def _key(python: str, version: str) -> str:
    """What decides whether an environment must be rebuilt."""
    digest = hashlib.sha256(f"{python} {version}\n".encode())
    for path in [*_files(ROOT), _lock(python)]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run(args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Run a command, its output appended to ``log``; raise with the log's tail on failure."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", **(env or {})},
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-40:])
        raise RuntimeError(f"{' '.join(args[:3])} ... failed ({log}):\n{tail}")


def _interpreter_version(python: str) -> str:
    exe = shutil.which(f"python{python}")
    if exe is None:
        raise SystemExit(f"python{python} is not on PATH (every supported CPython must be)")
    code = "import platform; print(platform.python_version())"
    return subprocess.run(
        [exe, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def _edits_in_library(build: Build) -> str:
    """The C edits named by the marker in the installed shared library (see test_build_tuning)."""
    site = build.venv / "lib" / f"python{build.python}" / "site-packages"
    libraries = sorted(site.glob("*__mypyc*"))
    if not libraries:
        raise RuntimeError(f"no mypyc shared library in {site}: not the compiled build")
    for library in libraries:
        found = _MARKER.search(library.read_bytes())
        if found:
            return found.group().decode().rsplit("edits", 1)[1].strip() or "none"
    return "none"


def prepare(python: str, venvs: Path) -> Build:
    """The environment of one Python, built anew if its inputs changed since the last run."""
    started = time.perf_counter()
    build = Build(python, venvs / f"py{python}")
    build.version = _interpreter_version(python)
    key = _key(python, build.version)
    stamp = build.venv / _STAMP
    if stamp.exists():
        saved = json.loads(stamp.read_text(encoding="utf-8"))
        if saved.get("key") == key and build.pure.is_dir():
            build.tuning = saved["tuning"]
            build.edits = _edits_in_library(build)
            build.seconds = time.perf_counter() - started
            return build
    shutil.rmtree(build.venv, ignore_errors=True)
    shutil.rmtree(build.pure, ignore_errors=True)
    venvs.mkdir(parents=True, exist_ok=True)
    log = venvs / f"py{python}-build.log"
    log.write_text("", encoding="utf-8")
    lock = str(_lock(python))
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH (pip install uv)")
    _run([uv, "venv", "--quiet", "--python", f"python{python}", str(build.venv)], log)
    install = [uv, "pip", "install", "--python", build.interpreter]
    # The dependencies first, from uv's cache; only typedws itself must never come from it.
    _run([*install, "--quiet", "-c", lock, *BENCH_NEEDS, "multidict"], log)
    with tempfile.TemporaryDirectory(prefix=f"typedws-bench-py{python}-") as copy:
        tree = Path(copy)
        for name in BUILD_INPUTS:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(
                    source,
                    tree / name,
                    ignore=shutil.ignore_patterns("__pycache__", *(f"*{s}" for s in _PRODUCTS)),
                )
            elif source.is_file():
                shutil.copy2(source, tree / name)
        # -v: the build backend's output, where build_support/mypyc_tuning.py says what it did.
        verbose = venvs / f"py{python}-compiled.log"
        verbose.write_text("", encoding="utf-8")
        constraints = ["-c", lock, "--build-constraints", lock]
        _run([*install, "-v", *constraints, str(tree)], verbose, env=NO_CACHE)
        build.tuning = [
            line.split("mypyc_tuning.py:", 1)[1].strip()
            if "mypyc_tuning.py:" in line
            else line.strip()
            for line in verbose.read_text(encoding="utf-8").splitlines()
            if "mypyc_tuning.py" in line and "$ " not in line
        ]
        shutil.rmtree(tree / "build", ignore_errors=True)
        pure_env = {**NO_CACHE, "TYPEDWS_PURE": "1"}
        pure = [*install, "--quiet", "--no-deps", "--target", str(build.pure), str(tree)]
        _run(pure, log, env=pure_env)
    build.edits = _edits_in_library(build)
    build.built = True
    stamp.write_text(json.dumps({"key": key, "tuning": build.tuning}), encoding="utf-8")
    build.seconds = time.perf_counter() - started
    return build


def measure(build: Build, cpus: set[int] | None, rounds: int) -> Table:
    """The layer benchmark in ``build``'s interpreter, as run.py runs it."""
    compiled = Worker(None, cpus, python=build.interpreter)
    pure = Worker(str(build.pure), cpus, python=build.interpreter)
    try:
        if not compiled.compiled:
            raise SystemExit(f"{build.venv}: typedws is not the compiled build ({compiled.file})")
        if pure.compiled:
            raise SystemExit(f"{build.pure} does not hold the pure build ({pure.file})")
        impls = {
            "bare": (compiled, "bare"),
            "thin": (compiled, "thin"),
            "typedws": (compiled, "typedws"),
            "typedws pure": (pure, "typedws"),
        }
        return interleave("layer", "ns/message", impls, CASES, rounds)
    finally:
        compiled.close()
        pure.close()


def _paired(table: Table, case: str, label: str) -> tuple[float, float, float]:
    """Ratio of ``label`` to thin: of the medians, and the quartiles of the per-round ratios."""
    thin = table.samples[case]["thin"]
    ratios = sorted(x / t for x, t in zip(table.samples[case][label], thin, strict=True))
    if len(ratios) >= 4:
        low, _, high = statistics.quantiles(ratios, n=4)
    else:
        low, high = ratios[0], ratios[-1]
    return table.median(case, label) / table.median(case, "thin"), low, high


def _edit_notes(build: Build) -> str:
    """What the build output said about each edit, shortened: "1 (29/29 awaits), 2 (13 ...)"."""
    notes: list[str] = []
    for line in build.tuning:
        text = line.split(": ", 1)[1] if line.startswith(("build/", "/")) else line
        text = re.sub(r"^edit (\d) applied to (\d+) of (\d+) awaits", r"1: \2/\3 awaits", text)
        text = re.sub(r"^edit 2 applied to (\d+) environment types", r"2: \1 environments", text)
        text = re.sub(r"^edit 5 applied to (\d+) generator classes", r"5: \1 classes", text)
        text = re.sub(r"^edit (\d) applied$", r"\1", text)
        text = re.sub(r"^edit 4 applied: (.*)$", r"4: \1", text)
        notes.append(text)
    return "; ".join(notes) or "nothing (no line from build_support/mypyc_tuning.py)"


def render(
    results: list[tuple[Build, Table]], rounds: int, pinned: str, elapsed: float
) -> list[str]:
    lines = [
        "## Layer on each Python",
        "",
        "`benchmarks/bench_pythons.py`: the layer benchmark (echo handler over the in-memory "
        "server, as above) in each supported CPython, each with the compiled build of this tree "
        "built for it (uv, the Python's lock, the pinned mypyc) and the pure build beside it. "
        f"bare, thin and typedws compiled in one worker, typedws pure in a second; {rounds} "
        f"interleaved rounds in alternating order; {pinned}. Median ns per message; `x thin`: "
        "the ratio of the medians, with the interquartile range of the per-round ratios "
        "(paired: one round's typedws over the same round's thin). Target (issue 18): typedws "
        f"compiled <= {TARGET:.2f}x thin for the small messages on every Python.",
        "",
        "| Python | case | bare | thin | typedws | typedws x thin | typedws pure | pure x thin |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for build, table in results:
        for case in table.cases:
            ratio, low, high = _paired(table, case, "typedws")
            pure_ratio, _, _ = _paired(table, case, "typedws pure")
            cells = [
                build.version,
                case,
                *(f"{table.median(case, label):,.0f}" for label in ("bare", "thin", "typedws")),
                f"{ratio:.3f}x ({low:.2f}-{high:.2f})",
                f"{table.median(case, 'typedws pure'):,.0f}",
                f"{pure_ratio:.2f}x",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "C edits of build_support/mypyc_tuning.py in each build: the marker string in the "
        "installed shared library (edits 1-3 and 5; edit 4 is a compiler flag, in the build "
        "output only), and what the build printed about each.",
        "",
        "| Python | marker: edits | build output |",
        "|---|---|---|",
    ]
    for build, _ in results:
        lines.append(f"| {build.version} | {build.edits} | {_edit_notes(build)} |")
    lines += ["", f"Targets (issue 18), same run ({elapsed:.0f} s, builds included):", ""]
    for build, table in results:
        for case in SMALL:
            ratio, low, high = _paired(table, case, "typedws")
            verdict = "met" if ratio <= TARGET else "NOT met"
            lines.append(
                f"- layer on {build.version}, {case}: typedws <= {TARGET:.2f}x thin: "
                f"{ratio:.3f}x (rounds {low:.2f}-{high:.2f}), {verdict}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--append", help="also append the section to this markdown file")
    parser.add_argument(
        "--venvs",
        default=os.path.join(tempfile.gettempdir(), "typedws-bench-pythons"),
        help="where the environments are made and kept between runs",
    )
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds per Python")
    parser.add_argument("--quick", action="store_true", help="5 rounds: a smoke test")
    parser.add_argument(
        "--pythons", default=",".join(PYTHONS), help="comma-separated, e.g. 3.10,3.13"
    )
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else args.rounds
    pythons = [p.strip() for p in args.pythons.split(",") if p.strip()]
    venvs = Path(args.venvs).resolve()

    started = time.perf_counter()
    print(f"building typedws for Python {', '.join(pythons)} in {venvs} ...", flush=True)
    # Two builds at a time: each is one C compiler process for most of its minute.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        builds = list(pool.map(lambda python: prepare(python, venvs), pythons))
    for build in builds:
        how = f"built in {build.seconds:.0f} s" if build.built else "reused"
        print(f"  {build.version}: {how}; C edits in the library: {build.edits}", flush=True)

    cpus = _one_cpu()
    own_cpus = os.sched_getaffinity(0) if cpus is not None else None
    pinned = (
        f"runner and workers pinned to one CPU (CPU {min(cpus)})"
        if cpus is not None
        else "not pinned (no CPU affinity on this platform)"
    )
    results: list[tuple[Build, Table]] = []
    try:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
        for build in builds:
            print(f"layer benchmark on Python {build.version}...", flush=True)
            results.append((build, measure(build, cpus, rounds)))
    finally:
        if own_cpus is not None:
            os.sched_setaffinity(0, own_cpus)

    lines = render(results, rounds, pinned, time.perf_counter() - started)
    print("\n" + "\n".join(lines))
    if args.append:
        with open(args.append, "a", encoding="utf-8") as results_file:
            results_file.write("\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
