"""Headless Chromium for the browser tests, driven by selenium through chromedriver.

Uses Debian's ``chromium`` and ``chromium-driver`` packages (.ci/run installs them). Without
them a test is skipped, unless TYPEDWS_REQUIRE_ALL=1 (as in CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = os.environ.get("TYPEDWS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TYPEDWS_CHROMEDRIVER", "/usr/bin/chromedriver")
#: Seconds to wait for the page to show something.
WAIT = 15.0

# As the machine notes ask for headless Chromium here: no sandbox as root, and no background
# networking (the closed network refuses it, many connections at a time).
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1000,800",
)


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@contextmanager
def headless_chromium(tmp_path: Path) -> Iterator[WebDriver]:
    """A fresh headless Chromium (own profile under ``tmp_path``), quit on exit."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
            pytest.fail(f"{missing}; TYPEDWS_REQUIRE_ALL=1 forbids skipping the browser test")
        pytest.skip(missing)

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(WAIT)
        yield driver
    finally:
        driver.quit()


def log_lines(driver: WebDriver) -> list[str]:
    """The lines of the demo page's message log, oldest first."""
    from selenium.webdriver.common.by import By

    return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#log li")]
