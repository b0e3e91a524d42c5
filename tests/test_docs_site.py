"""The documentation site builds with ``mkdocs build --strict`` and works in headless Chromium.

The test builds the site itself (into tmp_path), serves it from a local http.server on
127.0.0.1 and opens it with the project's headless Chromium (tests/browser.py): the home page,
the API reference of ``WebSocket``, the state diagram, and the search box (``receive_json``
finds the reference entry), with no console error on any page. Screenshots are saved under the
test's tmp_path.

The test sessions do not install the documentation tools (requirements/docs.txt), so without
mkdocs the test is skipped, saying why; ``nox -s docs`` installs them and sets TYPEDWS_DOCS=1,
under which a missing tool fails the test if TYPEDWS_REQUIRE_ALL=1 (as in CI).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from browser import WAIT, headless_chromium

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

ROOT = Path(__file__).resolve().parent.parent
#: The reference entry the search must find.
ANCHOR = "#typedws.WebSocket.receive_json"

# Installed before any script of a page runs: records console errors, uncaught exceptions,
# rejected promises and resources that failed to load (their error events do not bubble, so
# the listener is on the capture phase).
_RECORD_ERRORS = """
window.__docsErrors = [];
const original = console.error.bind(console);
console.error = (...args) => {
  window.__docsErrors.push(args.map(String).join(' '));
  original(...args);
};
window.addEventListener('error', (event) => {
  const target = event.target;
  if (target && target !== window && (target.src || target.href)) {
    window.__docsErrors.push('failed to load ' + (target.src || target.href));
  } else {
    window.__docsErrors.push('uncaught: ' + event.message);
  }
}, true);
window.addEventListener('unhandledrejection', (event) => {
  window.__docsErrors.push('unhandled rejection: ' + String(event.reason));
});
"""


def _docs_tools_missing() -> str | None:
    for module in (
        "mkdocs",
        "material",
        "mkdocstrings",
        "mkdocstrings_handlers.python",
        "griffe_sphinx",
    ):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{module} is not installed (pip install -r requirements/docs.txt)"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with --strict from this tree."""
    missing = _docs_tools_missing()
    if missing is not None:
        if os.environ.get("TYPEDWS_DOCS") == "1" and os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
            pytest.fail(f"{missing}; the docs session with TYPEDWS_REQUIRE_ALL=1 forbids skipping")
        pytest.skip(missing)
    out = tmp_path_factory.mktemp("docs") / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    return out


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """The built site, served over HTTP on 127.0.0.1 (the search index is fetched, which a
    file:// page may not do)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_built_site_has_every_page(site: Path) -> None:
    for page in (
        "index.html",
        "tutorial/index.html",
        "behaviour/index.html",
        "interop/index.html",
        "benchmarks/index.html",
        "state-machine/index.html",
        "asyncapi/index.html",
        "architecture/index.html",
        "reference/typedws/index.html",
    ):
        assert (site / page).is_file(), page
    # Pulled in by docs/_hooks.py rather than copied into docs/.
    assert (site / "ratios.png").read_bytes() == (ROOT / "benchmarks" / "ratios.png").read_bytes()
    assert "Build tuning" in (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    # The demo's AsyncAPI document, included at build time and published for download.
    assert (site / "asyncapi-demo.json").is_file()
    assert "ws_receive" in (site / "asyncapi" / "index.html").read_text(encoding="utf-8")
    diagram = (site / "assets" / "state-machine.svg").read_text(encoding="utf-8")
    assert "CONNECTING to CONNECTED: accept" in diagram
    assert "CONNECTING to CONNECTED: connect" in diagram


def _open(driver: WebDriver, url: str) -> None:
    driver.get(url)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _errors(driver: WebDriver) -> list[str]:
    """What the page reported since it loaded, and Chromium's own severe log entries (a
    resource that failed to load, a blocked request)."""
    errors: list[str] | None = driver.execute_script("return window.__docsErrors || null")
    assert errors is not None, "the error recorder did not run on this page"
    # (selenium leaves get_log unannotated.)
    get_log: Callable[[str], list[dict[str, Any]]] = driver.get_log
    logged = [str(entry["message"]) for entry in get_log("browser") if entry["level"] == "SEVERE"]
    return errors + logged


def test_the_site_in_headless_chromium(base_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with headless_chromium(tmp_path) as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _RECORD_ERRORS})
        wait = WebDriverWait(driver, WAIT)

        # The home page.
        _open(driver, base_url)
        assert driver.title.startswith("typedws")
        heading = driver.find_element(By.CSS_SELECTOR, "article h1")
        assert heading.text.strip().startswith("typedws")
        driver.save_screenshot(str(tmp_path / "home.png"))
        assert _errors(driver) == []

        # The API reference of WebSocket, down to receive_json.
        _open(driver, base_url + "reference/typedws/")
        entry = driver.find_element(By.ID, "typedws.WebSocket.receive_json")
        driver.execute_script("arguments[0].scrollIntoView()", entry)
        assert "receive_json" in entry.text
        assert driver.find_element(By.ID, "typedws.WebSocket").is_displayed()
        driver.save_screenshot(str(tmp_path / "websocket-api.png"))
        assert _errors(driver) == []

        # The state diagram, drawn at build time, is displayed.
        _open(driver, base_url + "state-machine/")
        image = driver.find_element(By.CSS_SELECTOR, "article img[src$='state-machine.svg']")
        wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", image) > 0)
        driver.execute_script("arguments[0].scrollIntoView()", image)
        driver.save_screenshot(str(tmp_path / "state-machine.png"))
        assert _errors(driver) == []

        # Search: type receive_json, get the reference entry.
        _open(driver, base_url)
        box = driver.find_element(By.CSS_SELECTOR, "input.md-search__input")
        if not box.is_displayed():  # a narrow window: the search opens from a header button
            driver.find_element(By.CSS_SELECTOR, "label.md-header__button[for='__search']").click()
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input")))
        box.click()
        box.send_keys("receive_json")

        def reference_hit(d: WebDriver) -> str | None:
            for link in d.find_elements(By.CSS_SELECTOR, ".md-search-result__item a"):
                href = link.get_attribute("href") or ""
                # Material adds the query to highlight: .../reference/typedws/?h=...#anchor
                if "/reference/typedws/" in href and href.endswith(ANCHOR):
                    return href
            return None

        href = wait.until(reference_hit)
        assert href is not None
        driver.save_screenshot(str(tmp_path / "search.png"))
        assert _errors(driver) == []
        _open(driver, href)
        assert driver.find_element(By.ID, "typedws.WebSocket.receive_json").is_displayed()
        assert _errors(driver) == []
