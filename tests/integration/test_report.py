"""The report people look at (socialcare_cli.report): its counts are the decision log's,
it loads nothing and runs nothing, and whatever a post says is shown as text.
In a real browser: tests/browser."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from socialcare.models import Reason
from socialcare_cli import report
from tests.integration.test_decide import CASES, contract, decide, mention_lines, no_aws

__all__ = ["contract", "no_aws"]  # fixtures used here


class Page(HTMLParser):
    """What a test needs of a report: tags seen, and the text of data-* elements."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, dict[str, str | None]]] = []
        self.reason: dict[str, str] = {}
        self._open: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs.append((tag, dict(attrs)))
        self._open = dict(attrs).get("data-reason")

    def handle_data(self, data: str) -> None:
        if self._open:
            self.reason[self._open] = self.reason.get(self._open, "") + data.strip()

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def counts_in(path: Path) -> dict[str, int]:
    return {k: int(v) for k, v in Page(path.read_text()).reason.items()}


def test_decide_report_counts_each_reason_as_the_decision_lines_do(
    no_aws: None, contract: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "backtest.html"
    code, rows, err = decide(
        capsys, "--crm", contract[1], "--name-matching", "on", "--report", str(out),
        stdin=mention_lines(),
    )  # fmt: skip
    assert code == 0 and err.strip().endswith(f"report: {out}")
    written = Counter(row["reason"] for row in rows)
    assert counts_in(out) == {r.value: written[r.value] for r in Reason}
    html = out.read_text()
    contacts = sum(1 for *_, (reason, _c, _m) in CASES if reason == "contact")
    assert html.count('<div class="email"') == contacts  # the e-mail each contact would get
    assert html.count('class="post"') == len(CASES)


def hostile_report() -> report.Report:
    text = '<script>alert(1)</script><img src="https://tracker.example/x.png"> "quoted" & more'
    html = '<p onclick="x()">Hi</p><img src="https://tracker.example/pixel.gif">'
    return report.Report(
        title="t",
        decisions=[{"reason": "contact", "decision": "contact", "source": "x"}],
        posts=[{"source": "x", "text": text, "url": "https://x.com/a/status/1"}],
        fetched=1,
        emails=[report.EmailView("a@b.example", "s", "see https://x.com/a/status/1", html)],
    )


def test_content_is_text_never_markup_and_nothing_can_load_or_run() -> None:
    built = hostile_report()
    built.link_emails_by_post_url()
    html = report.render(built)
    page = Page(html)
    assert page.tags["script"] == 0 and page.tags["img"] == 0 and page.tags["link"] == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    (csp,) = [a["content"] for t, a in page.attrs if a.get("http-equiv")]
    assert csp and csp.startswith("default-src 'none'")
    (frame,) = [a for t, a in page.attrs if t == "iframe"]
    assert frame["sandbox"] == "" and frame["srcdoc"] == built.emails[0].html  # escaped in
    assert built.email_of == {0: 0} and 'href="#email-1"' in html


def test_the_funnel_reads_the_reasons() -> None:
    reasons = Counter(contact=2, not_complaint=3, duplicate=1, no_customer_match=1, no_email=1)
    assert report.funnel(reasons, fetched=9) == [
        ("fetched", 9),
        ("decided", 8),
        ("complaints", 4),
        ("matched", 3),
        ("e-mailed", 2),
    ]


def test_a_reason_beyond_the_vocabulary_is_still_counted(tmp_path: Path) -> None:
    decisions = [{"reason": "not_in_pilot", "decision": "skip", "source": "x"}]
    path = report.write(report.Report("t", decisions, [None], fetched=1), tmp_path / "r.html")
    assert counts_in(path)["not_in_pilot"] == 1
    assert "not known to this report" in path.read_text()  # said so, not a crash
