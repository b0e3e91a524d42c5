"""The demo in a real browser: headless Chromium, driven by selenium (see tests/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from websockets.sync.client import connect as ws_connect

from browser import WAIT, headless_chromium, log_lines
from servers import ServerProcess, free_port


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    port = free_port()
    demo = ServerProcess("typedws.demo", ["typedws.demo", "--port", str(port)], port).start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        demo.stop()


def test_chat_in_headless_chromium(demo_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with headless_chromium(tmp_path) as driver:
        wait = WebDriverWait(driver, WAIT)

        def wait_for_line(line: str) -> None:
            try:
                wait.until(lambda _: any(shown.startswith(line) for shown in log_lines(driver)))
            except Exception:
                pytest.fail(f"the page never showed {line!r}; it shows {log_lines(driver)!r}")

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
        errors = [line for line in log_lines(driver) if line.startswith("error:")]
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
