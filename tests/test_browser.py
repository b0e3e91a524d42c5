"""The demo in a real browser: headless Chromium, driven by selenium through chromedriver.

Uses Debian's ``chromium`` and ``chromium-driver`` packages (.ci/run installs them). Without
them the test is skipped, unless TYPEDWS_REQUIRE_ALL=1 (as in CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from websockets.sync.client import connect as ws_connect

from servers import ServerProcess, free_port

CHROMIUM = os.environ.get("TYPEDWS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TYPEDWS_CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 15.0


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
            return f"{path} not found (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    port = free_port()
    demo = ServerProcess("typedws.demo", ["typedws.demo", "--port", str(port)], port).start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        demo.stop()


def test_chat_in_headless_chromium(demo_url: str, tmp_path: Path) -> None:
    missing = _missing()
    if missing is not None:
        if os.environ.get("TYPEDWS_REQUIRE_ALL") == "1":
            pytest.fail(f"{missing}; TYPEDWS_REQUIRE_ALL=1 forbids skipping the browser test")
        pytest.skip(missing)

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
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
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(WAIT)
        wait = WebDriverWait(driver, WAIT)

        def log_lines() -> list[str]:
            return [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#log li")]

        def wait_for_line(line: str) -> None:
            try:
                wait.until(lambda _: any(shown.startswith(line) for shown in log_lines()))
            except Exception:
                pytest.fail(f"the page never showed {line!r}; it shows {log_lines()!r}")

        driver.get(f"http://{demo_url}/")
        assert driver.title == "typedws chat"
        wait.until(lambda _: driver.find_element(By.ID, "status").text == "connected")

        # join: the page's own join comes back as a broadcast.
        driver.find_element(By.ID, "name").send_keys("ada")
        driver.find_element(By.ID, "join").click()
        wait_for_line("ada joined")

        # Someone else joins and talks, from a plain websockets client: the page sees both.
        with ws_connect(f"ws://{demo_url}/ws", open_timeout=WAIT) as bob:
            bob.send('{"type": "join", "name": "bob"}')
            wait_for_line("bob joined")
            assert driver.find_element(By.ID, "members").text == "in the room: ada, bob"
            bob.send('{"type": "message", "text": "hello from python"}')
            wait_for_line("bob: hello from python")

            # message: typed in the page, broadcast to everyone, bob included.
            driver.find_element(By.ID, "text").send_keys("hello from chromium")
            driver.find_element(By.ID, "send").click()
            wait_for_line("ada: hello from chromium")
            seen = [msgspec.json.decode(bob.recv(timeout=WAIT)) for _ in range(3)]
            # Room events come in envelopes that carry their id (the page resumes from it).
            assert seen[-1]["data"] == {
                "type": "message",
                "name": "ada",
                "text": "hello from chromium",
            }

        # An invalid message (text is a number) is answered with an error, not a hang-up.
        driver.find_element(By.TAG_NAME, "summary").click()
        driver.find_element(By.ID, "send-raw").click()
        wait_for_line("error: JSON message does not match the expected type: ")
        errors = [line for line in log_lines() if line.startswith("error:")]
        assert errors[0].endswith("Expected `str`, got `int` - at `$.text`")
        wait_for_line("bob left")
        assert driver.find_element(By.ID, "status").text == "connected"

        # Still connected after the error: a normal message goes through.
        driver.find_element(By.ID, "text").send_keys("still here")
        driver.find_element(By.ID, "send").click()
        wait_for_line("ada: still here")

        screenshot = tmp_path / "typedws-chat.png"
        assert driver.save_screenshot(str(screenshot))
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        driver.find_element(By.ID, "leave").click()
        wait.until(lambda _: driver.find_element(By.ID, "status").text.startswith("disconnected"))
        assert driver.find_element(By.ID, "status").text == "disconnected (code 1000)"
    finally:
        driver.quit()
