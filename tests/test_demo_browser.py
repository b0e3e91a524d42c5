"""The demo page in headless Chromium when the server goes away: reconnect, resume, gap notice.

The server (``python -m typedws.demo``, memory broadcast) is stopped with Ctrl-C under the
page and started again on the same port. The page reconnects by itself with ``?last_id=`` of
the last event it saw; the new process has a new history, so that id is unknown there and the
server answers with a gap, which the page must show, before it rejoins under its name.
Skipped without chromium/chromedriver/selenium, unless TYPEDWS_REQUIRE_ALL=1 (then it fails),
as tests/test_browser.py.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from browser import WAIT, headless_chromium, log_lines
from servers import ServerProcess, free_port


def test_page_reconnects_resumes_and_shows_a_gap(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    args = ["typedws.demo", "--port", str(port)]
    servers = [ServerProcess("typedws.demo", args, port).start()]
    try:
        with headless_chromium(tmp_path) as driver:
            wait = WebDriverWait(driver, WAIT)

            def wait_for(text: str, count: int = 1) -> None:
                try:
                    wait.until(lambda _: sum(text in line for line in log_lines(driver)) >= count)
                except Exception:
                    pytest.fail(f"the page never showed {text!r}; it shows {log_lines(driver)!r}")

            def pid(server: ServerProcess) -> int:
                assert server.process is not None
                return server.process.pid

            driver.get(f"http://127.0.0.1:{port}/")
            wait.until(lambda _: driver.find_element(By.ID, "status").text == "connected")
            driver.find_element(By.ID, "name").send_keys("ada")
            driver.find_element(By.ID, "join").click()
            wait_for(f"ada joined (worker {pid(servers[0])})")

            assert servers[0].stop(signal.SIGINT) == 0
            wait.until(lambda _: "reconnecting" in driver.find_element(By.ID, "status").text)
            status = driver.find_element(By.ID, "status").text
            assert status.startswith("disconnected (code 1012)")

            servers.append(ServerProcess("typedws.demo", args, port).start())
            wait.until(lambda _: driver.find_element(By.ID, "status").text == "connected")
            # The old id means nothing to the new process: the page is told, then rejoins.
            wait_for("notice: some messages were missed (an unknown number, reset)")
            wait_for("ada joined (worker", count=2)
            assert log_lines(driver)[-2:] == [
                "notice: some messages were missed (an unknown number, reset)",
                f"ada joined (worker {pid(servers[1])})",
            ]
            assert driver.find_element(By.ID, "members").text == "in the room: ada"
            driver.save_screenshot(str(tmp_path / "typedws-chat-reconnected.png"))
    finally:
        for server in servers:
            server.stop()
