"""The browser tests' fixtures: one headless Chromium for the session, the screenshot
folder, and a way to open an e-mail the way its reader would (its HTML part as a page,
its links pointed at the local stand-ins of the Function URLs)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import webdriver

SHOTS = Path(__file__).resolve().parents[2] / "test-out" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Browser]:
    why = webdriver.missing()
    if why:
        if os.environ.get("SOCIALCARE_BROWSER_REQUIRED"):
            pytest.fail(why)  # make browser-test and CI: a missing browser is a failure
        pytest.skip(why)
    with webdriver.chromium() as session:
        yield session


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def as_page(html: str, function_url: str, local: str, path: Path) -> str:
    """An e-mail's HTML part as a file to open, its links to `function_url` pointed at
    `local` (the Function URL's stand-in on 127.0.0.1): the file:// URL."""
    path.write_text(re.sub(re.escape(function_url.rstrip("/")) + "/?", local + "/", html))
    return path.as_uri()
