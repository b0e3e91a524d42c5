"""Every python block of the documentation site (docs/**/*.md) runs, as the README's do.

The blocks of one page run in order in one namespace, so a page such as the tutorial can build
its example step by step; then every ``async def test_*`` the page defined is run (under
asyncio, as anyio's pytest plugin would). A block that cannot run on its own (a pytest module
that needs pytest's collection, a setup.py) is preceded by an explicit marker, which must say
why:

    <!-- docs-test: skip (the reason) -->

Pages this test does not own but the site includes (docs/behaviour.md, docs/interop.md,
docs/architecture.md) are checked the same way if they ever hold a python block.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import types
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

# A fenced python block, with the line before it (where an opt-out marker would be).
_BLOCK = re.compile(r"(?:^(?P<before>[^\n]*)\n)?^```python\n(?P<code>.*?)^```", re.S | re.M)
_SKIP = re.compile(r"<!-- docs-test: skip \((?P<reason>[^)]+)\) -->")

pytestmark = pytest.mark.anyio


def python_blocks(page: Path) -> list[tuple[int, str, str | None]]:
    """The page's python blocks: (line number, code, skip reason or None)."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("code")) + 1
        skip = _SKIP.search(match.group("before") or "")
        blocks.append((line, match.group("code"), skip.group("reason") if skip else None))
    return blocks


def _pages_with_python() -> list[Path]:
    """The pages with at least one block to run."""
    return [page for page in PAGES if any(skip is None for _, _, skip in python_blocks(page))]


def test_the_docs_have_python_blocks() -> None:
    # A guard for the extraction itself: a broken regex would make every page pass vacuously.
    assert len(_pages_with_python()) >= 8, _pages_with_python()
    assert sum(len(python_blocks(page)) for page in PAGES) >= 25


def test_every_skip_marker_is_on_a_python_block() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        markers = len(_SKIP.findall(text))
        skipped = sum(1 for _, _, reason in python_blocks(page) if reason is not None)
        assert markers == skipped, f"{page.name}: a docs-test marker is not right above a block"


@pytest.fixture
def anyio_backend() -> str:
    # The examples start tasks with asyncio (broadcast.forward beside a receive loop).
    return "asyncio"


@pytest.mark.parametrize("page", _pages_with_python(), ids=lambda page: str(page.relative_to(DOCS)))
async def test_page_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real module, registered while its blocks run: msgspec and typing resolve annotations
    # through sys.modules[cls.__module__].
    name = "docs_example_" + re.sub(r"\W", "_", str(page.relative_to(DOCS)).removesuffix(".md"))
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv("CHAT_BROADCAST", raising=False)  # the tutorial's default: memory://
    for line, code, skip in python_blocks(page):
        if skip is not None:
            compile(code, f"{page}:{line}", "exec")  # still valid Python
            continue
        # Pad with newlines so that a traceback points at the page's own line numbers.
        exec(compile("\n" * (line - 1) + code, str(page), "exec"), module.__dict__)
    tests: list[Callable[[], Coroutine[Any, Any, None]]] = [
        value
        for key, value in vars(module).items()
        if key.startswith("test_") and inspect.iscoroutinefunction(value)
    ]
    for test in tests:
        await test()


_MYPY_ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*)$")


@pytest.mark.static
def test_page_examples_type_check(tmp_path: Path) -> None:
    """The examples are typed code: mypy --strict accepts each page's blocks, as one module
    (as the page reads: a later block uses the names of the earlier ones)."""
    try:
        from mypy import api as mypy_api
    except ImportError:
        if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
            pytest.fail("mypy is not installed; TYPEDWS_REQUIRE_ALL=1 forbids skipping")
        pytest.skip("mypy is not installed")
    modules: dict[str, Path] = {}
    for page in _pages_with_python():
        # Each block at its own lines, so that mypy's line numbers are the page's.
        lines = [""] * page.read_text(encoding="utf-8").count("\n")
        for line, code, skip in python_blocks(page):
            if skip is None:
                for offset, text in enumerate(code.splitlines()):
                    lines[line - 1 + offset] = text
        name = re.sub(r"\W", "_", str(page.relative_to(DOCS)).removesuffix(".md"))
        module = tmp_path / f"docs_{name}.py"
        module.write_text("\n".join(lines) + "\n", encoding="utf-8")
        modules[module.name] = page
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\npython_version = 3.10\n", encoding="utf-8")
    stdout, stderr, status = mypy_api.run(
        [
            f"--config-file={config}",
            f"--cache-dir={tmp_path / 'cache'}",
            f"--python-executable={sys.executable}",
            "--show-error-codes",
            "--no-error-summary",
            "--no-color-output",
            *(str(tmp_path / name) for name in modules),
        ]
    )
    assert status in (0, 1), f"mypy crashed (status {status}):\n{stdout}\n{stderr}"
    errors: list[str] = []
    for output in stdout.splitlines():
        match = _MYPY_ERROR.match(output)
        if match is not None:
            page = modules[Path(match["path"]).name]
            errors.append(f"{page.relative_to(DOCS)}:{match['line']}: {match['message']}")
    assert errors == [], "\n".join(errors)
