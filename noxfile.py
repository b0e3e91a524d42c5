"""Automation for typedws: `nox` runs the default sessions (what CI runs); `nox -l` lists all.

Sessions use uv to create environments when it is installed (much faster), else virtualenv.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "mypy", "tests", "tests_compiled"]
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
TEST_REQUIREMENTS = ["-r", "requirements/test.txt"]
# The pure and the compiled build come from the same sources: never let an installer reuse a
# wheel it cached for the other flavour.
NO_CACHE = {"UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1"}
PURE = {**NO_CACHE, "TYPEDWS_PURE": "1"}


def _install_typedws(session: nox.Session, *, compiled: bool) -> None:
    # setuptools builds in ./build and would copy stale modules from an earlier build.
    shutil.rmtree("build", ignore_errors=True)
    session.install(".", env=NO_CACHE if compiled else PURE)


def _pytest(session: nox.Session, *, compiled: bool) -> None:
    env = {"TYPEDWS_EXPECT_COMPILED": "1" if compiled else "0"}
    # Run from a temporary directory: tests must import the installed package, not src/.
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--rootdir={os.getcwd()}",
        "-c",
        os.path.join(os.getcwd(), "pyproject.toml"),
        os.path.join(os.getcwd(), "tests"),
        *session.posargs,
        env=env,
    )


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test-suite against the pure-Python install (TYPEDWS_PURE=1)."""
    session.install(*TEST_REQUIREMENTS)
    _install_typedws(session, compiled=False)
    _pytest(session, compiled=False)


@nox.session(python=PYTHON)
def tests_compiled(session: nox.Session) -> None:
    """Build the mypyc-compiled wheel, install it, and run the same test-suite against it."""
    session.install(*TEST_REQUIREMENTS)
    _install_typedws(session, compiled=True)
    session.run("python", "-c", "import typedws, sys; sys.exit(0 if typedws.COMPILED else 1)")
    _pytest(session, compiled=True)


@nox.session(python=PYTHON)
def mypy(session: nox.Session) -> None:
    """Type-check src/ and tests/ with mypy --strict (config: mypy.ini)."""
    session.install("mypy>=2.0", *TEST_REQUIREMENTS)
    _install_typedws(session, compiled=False)
    session.run("mypy")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("-r", "requirements/lint.txt")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def _run_tests(session: nox.Session, test_file: str, env: dict[str, str], *args: str) -> None:
    """pytest on one test file, against the installed compiled build, figures shown (-s)."""
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--rootdir={os.getcwd()}",
        "-c",
        os.path.join(os.getcwd(), "pyproject.toml"),
        "-s",
        os.path.join(os.getcwd(), "tests", test_file),
        *args,
        *session.posargs,
        env={"TYPEDWS_EXPECT_COMPILED": "1", **env},
    )


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """State-machine fuzzing at length: TYPEDWS_FUZZ_EXAMPLES examples (default 10000; the
    normal test run does 500), compiled build, with hypothesis statistics."""
    session.install(*TEST_REQUIREMENTS)
    _install_typedws(session, compiled=True)
    examples = os.environ.get("TYPEDWS_FUZZ_EXAMPLES", "10000")
    env = {"TYPEDWS_FUZZ_EXAMPLES": examples}
    _run_tests(session, "test_fuzz_state.py", env, "--hypothesis-show-statistics")


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The full load and fault run through uvicorn (TYPEDWS_SOAK=1): 500 clients x 200 JSON
    messages, 5 rounds of 100 dropped connections, compiled build; prints the figures."""
    session.install(*TEST_REQUIREMENTS)
    _install_typedws(session, compiled=True)
    _run_tests(session, "test_load.py", {"TYPEDWS_SOAK": "1"})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (benchmarks/run.py): typedws compiled and pure side by side with Starlette,
    Lilya and Litestar; writes benchmarks/RESULTS.md and benchmarks/ratios.png.

    The compiled build is installed in the session; the pure build goes to a separate directory
    that the runner puts first on the path of a second worker process. Pass runner options after
    ``--`` (``nox -s bench -- --quick``).
    """
    # mypy too, though the wheel is built in its own isolated environment: that one resolves the
    # same (newest) mypy, and RESULTS.md then names the mypyc version that compiled the build.
    session.install("-r", "requirements/bench.txt", "mypy>=2.0")
    _install_typedws(session, compiled=True)
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
