"""The demo page in headless Chromium when the server goes away: reconnect, resume, gap notice.

The server (``python -m typedws.demo``, memory broadcast) is stopped with Ctrl-C under the
page and started again on the same port. The page reconnects by itself with ``?last_id=`` of
the last event it saw; the new process has a new history, so that id is unknown there and the
server answers with a gap, which the page must show, before it rejoins under its name.
Skipped without chromium/chromedriver/selenium, unless TYPEDWS_REQUIRE_ALL=1 (then it fails),
as tests/test_browser.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from servers import ServerProcess, free_port
from test_browser import CHROMEDRIVER, CHROMIUM, WAIT, _missing


def test_page_reconnects_resumes_and_shows_a_gap(tmp_path: Path) -> None:
    missing = _missing()
    if missing is not None:
        if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
            pytest.fail(f"{missing}; TYPEDWS_REQUIRE_ALL=1 forbids skipping the browser test")
        pytest.skip(missing)

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    args = ["typedws.demo", "--port", str(port)]
    demo = ServerProcess("typedws.demo", args, port).start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        wait = WebDriverWait(driver, WAIT)

        def log_lines() -> list[str]:
            return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#log li")]

        def wait_for(predicate_text: str, count: int = 1) -> None:
            try:
                wait.until(lambda _: sum(predicate_text in line for line in log_lines()) >= count)
            except Exception:
                pytest.fail(f"the page never showed {predicate_text!r}; it shows {log_lines()!r}")

        driver.get(f"http://127.0.0.1:{port}/")
        wait.until(lambda _: driver.find_element(By.ID, "status").text == "connected")
        driver.find_element(By.ID, "name").send_keys("ada")
        driver.find_element(By.ID, "join").click()
        assert demo.process is not None
        wait_for(f"ada joined (worker {demo.process.pid})")

        assert demo.stop(signal.SIGINT) == 0
        wait.until(lambda _: "reconnecting" in driver.find_element(By.ID, "status").text)
        assert driver.find_element(By.ID, "status").text.startswith("disconnected (code 1012)")

        demo = ServerProcess("typedws.demo", args, port).start()
        wait.until(lambda _: driver.find_element(By.ID, "status").text == "connected")
        # The old id means nothing to the new process: the page is told, then rejoins.
        wait_for("notice: some messages were missed (an unknown number, reset)")
        wait_for("ada joined (worker", count=2)
        assert log_lines()[-2:] == [
            "notice: some messages were missed (an unknown number, reset)",
            f"ada joined (worker {demo.process.pid})",  # type: ignore[union-attr]
        ]
        assert driver.find_element(By.ID, "members").text == "in the room: ada"
        driver.save_screenshot(str(tmp_path / "typedws-chat-reconnected.png"))
    finally:
        driver.quit()
        demo.stop()
