"""demo-out/report.html in a real browser: the counts it shows are decisions.jsonl's,
nothing is loaded or run, and each e-mail renders inside its sandboxed frame."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from socialcare.models import Reason
from socialcare_cli.demo import DemoResult, run_demo
from socialcare_cli.report import funnel
from tests.browser.webdriver import Browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("demo"), progress=lambda _: None, digest=True)


def written(demo: DemoResult) -> Counter[str]:
    lines = (demo.out / "decisions.jsonl").read_text().splitlines()
    return Counter(json.loads(line)["reason"] for line in lines)


def test_the_report_shows_the_decision_log_s_counts(
    browser: Browser, demo: DemoResult, shots: Path
) -> None:
    assert demo.report
    browser.open(demo.report.as_uri())
    shown = {e.attribute("data-reason"): int(e.text) for e in browser.find_all("[data-reason]")}
    reasons = written(demo)
    assert shown == {r.value: reasons[r.value] for r in Reason}
    steps = {e.attribute("data-step"): e for e in browser.find_all("[data-step]")}
    for label, n in funnel(reasons, demo.fetched):
        assert steps[label].text.split()[-1] == str(n), label
    assert browser.find("#incident").text == "off"
    assert len(browser.find_all(".post")) == sum(reasons.values())
    browser.screenshot(shots / "report.png")


def test_nothing_is_loaded_or_run_and_each_e_mail_renders_in_its_sandbox(
    browser: Browser, demo: DemoResult, shots: Path
) -> None:
    assert demo.report
    browser.open(demo.report.as_uri() + "#emails")
    assert browser.script("return document.scripts.length") == 0
    loaded = browser.script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded == []  # no stylesheet, font, image or frame source
    frames = browser.find_all("iframe")
    assert len(frames) == len(demo.emails) + 1  # the customers' e-mails and the digest
    assert all(frame.attribute("sandbox") == "" for frame in frames)
    greetings = []
    for frame in frames[:-1]:
        browser.enter_frame(frame)
        greetings.append(browser.find("body").text.split()[0])
        assert browser.script("return document.scripts.length") == 0
        browser.enter_frame(None)
    assert set(greetings) == {"Hej", "Hi"}  # Danish and English, as the customers see them
    browser.screenshot(shots / "report-emails.png", full_page=False)
