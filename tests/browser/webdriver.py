"""Headless Chromium driven over the W3C WebDriver protocol (Debian's chromedriver).

The protocol is JSON over HTTP, so `requests` (already a dependency) is the whole client:
no browser-automation package to install or lock. Only what the tests use is here.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from socialcare_cli.local_aws import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
# As root, in a closed network (.library/env/machines/python.md): no sandbox, and no
# background connections, updates or sync that would only be refused.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]


class WebDriverError(RuntimeError):
    pass


class Element:
    def __init__(self, browser: Browser, ref: str) -> None:
        self._browser, self.ref = browser, ref

    @property
    def text(self) -> str:
        return str(self._browser.call("GET", f"element/{self.ref}/text"))

    def attribute(self, name: str) -> str | None:
        value = self._browser.call("GET", f"element/{self.ref}/attribute/{name}")
        return None if value is None else str(value)

    def click(self) -> None:
        self._browser.call("POST", f"element/{self.ref}/click", {})


class Browser:
    """One WebDriver session: open pages, find and click elements, take screenshots."""

    def __init__(self, base: str, session: str) -> None:
        self._base, self._session = base, session

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self._base}/session/{self._session}/{path}"
        response = requests.request(method, url, json=body, timeout=60)
        value = response.json().get("value")
        if response.status_code >= 400:
            raise WebDriverError(f"{method} {path}: {value}")
        return value

    def open(self, url: str) -> None:
        self.call("POST", "url", {"url": url})

    @property
    def url(self) -> str:
        return str(self.call("GET", "url"))

    def find_all(self, css: str) -> list[Element]:
        found = self.call("POST", "elements", {"using": "css selector", "value": css})
        return [Element(self, item[ELEMENT]) for item in found]

    def find(self, css: str) -> Element:
        found = self.find_all(css)
        if len(found) != 1:
            raise WebDriverError(f"{css!r}: {len(found)} elements, expected one")
        return found[0]

    def wait_for_text(self, css: str, expected: str, timeout_s: float = 10.0) -> str:
        """The element's text once it holds `expected`: after a form's POST the click
        returns before the next page is in, so the old page's element may go stale."""
        deadline = time.monotonic() + timeout_s
        text = ""
        while time.monotonic() < deadline:
            try:
                text = self.find(css).text
            except WebDriverError:  # stale, or not there yet: the page is being replaced
                text = ""
            if expected in text:
                return text
            time.sleep(0.1)
        raise WebDriverError(f"{css!r} did not show {expected!r} in {timeout_s} s")

    def script(self, source: str, *args: Any) -> Any:
        """Run JavaScript in the page (the tests' probe; the pages themselves have none)."""
        return self.call("POST", "execute/sync", {"script": source, "args": list(args)})

    def enter_frame(self, element: Element | None) -> None:
        """Into an iframe (also a sandboxed one), or back to the page with None."""
        frame = {ELEMENT: element.ref} if element else None
        self.call("POST", "frame", {"id": frame})

    def back(self) -> None:
        self.call("POST", "back", {})

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page; full_page grows the window to the document's height first."""
        if full_page:
            height = int(self.script("return document.documentElement.scrollHeight"))
            self.resize(1280, min(max(height, 600), 12000))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("GET", "screenshot")))
        if full_page:
            self.resize(1280, 900)
        return path

    def resize(self, width: int, height: int) -> None:
        self.call("POST", "window/rect", {"width": width, "height": height})


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    absent = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if absent:
        return f"not installed: {', '.join(absent)} (make browser-test installs them)"
    return None


@contextmanager
def chromium() -> Iterator[Browser]:
    """chromedriver on a free loopback port, one headless Chromium session with a fresh
    profile; both end with the block."""
    port = free_port()
    profile = tempfile.mkdtemp(prefix="socialcare-chromium-")
    driver = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
        [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        options = {"binary": CHROMIUM, "args": [*ARGS, f"--user-data-dir={profile}"]}
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        created = requests.post(
            f"{base}/session", json={"capabilities": capabilities}, timeout=60
        ).json()["value"]
        if "sessionId" not in created:
            raise WebDriverError(f"no session: {created}")
        browser = Browser(base, created["sessionId"])
        try:
            yield browser
        finally:
            requests.delete(f"{base}/session/{created['sessionId']}", timeout=30)
    finally:
        driver.terminate()
        driver.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _wait_ready(base: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/status", timeout=2).json()["value"]["ready"]:
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.1)
    raise WebDriverError(f"chromedriver at {base} did not become ready")
