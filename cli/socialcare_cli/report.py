"""A report people look at: what a run decided, post by post, as one HTML file.

`socialcare demo` writes DIR/report.html and `socialcare decide --report FILE.html` writes
one for a backtest. It is a local file for people, not part of the deployed system, so it
shows the posts and the e-mails beside the decisions. Self-contained: inline CSS and SVG,
no script, and a Content-Security-Policy that lets nothing load from the network; each
HTML e-mail sits in a sandboxed frame (srcdoc), every value escaped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from socialcare.models import Reason, TriageResult

EARLY = ("own_account", "repost", "duplicate", "stale")  # decided before reading the post
UNMATCHED = ("no_customer_match", "ambiguous_match")


@dataclass(frozen=True)
class EmailView:
    """An e-mail as its reader sees it: the text part beside the HTML part."""

    to: str
    subject: str
    text: str
    html: str
    name: str = ""  # the outbox file, when there is one


def read_email(path: Path) -> EmailView:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    parts = {"text/plain": "", "text/html": ""}
    for part in message.walk():
        if part.get_content_type() in parts and not parts[part.get_content_type()]:
            parts[part.get_content_type()] = str(part.get_content())
    return EmailView(
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        text=parts["text/plain"],
        html=parts["text/html"],
        name=path.name,
    )


def funnel(reasons: Mapping[str, int], fetched: int) -> list[tuple[str, int]]:
    """fetched -> decided -> complaints -> matched -> e-mailed, from the decisions' reasons."""
    decided = sum(reasons.values())
    complaints = decided - sum(reasons.get(r, 0) for r in (*EARLY, "not_complaint"))
    matched = complaints - sum(reasons.get(r, 0) for r in UNMATCHED)
    return [
        ("fetched", fetched),
        ("decided", decided),
        ("complaints", complaints),
        ("matched", matched),
        ("e-mailed", reasons.get("contact", 0)),
    ]


@dataclass
class Report:
    """What a run decided. `posts[i]` is the post behind `decisions[i]` (None if unknown)."""

    title: str
    decisions: list[dict[str, Any]]
    posts: list[dict[str, Any] | None]
    fetched: int
    emails: list[EmailView] = field(default_factory=list)
    # For each decision, the index of its e-mail in `emails`, if one was written.
    email_of: dict[int, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # mode, run details: one line each
    incident: str = "off"
    digest: EmailView | None = None  # the agents' shadow digest, when one was sent

    def link_emails_by_post_url(self) -> None:
        """Pair each `contact` decision with the e-mail that links to its post."""
        for i, (decision, post) in enumerate(zip(self.decisions, self.posts, strict=True)):
            url = (post or {}).get("url")
            if decision.get("reason") != "contact" or not url:
                continue
            for n, email in enumerate(self.emails):
                if url in email.text or url in email.html:
                    self.email_of[i] = n
                    break


def _reasons(decisions: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(str(d.get("reason")) for d in decisions)


def _vocabulary(counts: Counter[str]) -> list[str]:
    """Every reason code of the vocabulary, then any the data holds beyond it."""
    codes = [r.value for r in Reason]
    return codes + sorted(set(counts) - set(codes))


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("socialcare_cli", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: Report) -> str:
    counts = _reasons(report.decisions)
    sources = sorted({str(d.get("source")) for d in report.decisions})
    by_source = Counter((str(d.get("source")), str(d.get("reason"))) for d in report.decisions)
    steps = funnel(counts, report.fetched)
    widest = max((n for _, n in steps), default=0) or 1
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            report=report,
            steps=steps,
            widest=widest,
            reasons=_vocabulary(counts),
            counts=counts,
            sources=sources,
            by_source=by_source,
            per_source=Counter(str(d.get("source")) for d in report.decisions),
            rows=list(zip(report.decisions, report.posts, strict=True)),
        )
    )


def write(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path


class Backtest:
    """Collects `socialcare decide`'s decisions with their input lines, and for each
    `contact` the e-mail the mailer would render (example sender, inert links)."""

    def __init__(self) -> None:
        from socialcare.brand import load_brand
        from socialcare_cli.cmd_preview import preview_deps

        self.decisions: list[dict[str, Any]] = []
        self.posts: list[dict[str, Any] | None] = []
        self.emails: list[EmailView] = []
        self.email_of: dict[int, int] = {}
        self._mailer = preview_deps(load_brand())

    def add(self, line: dict[str, Any], row: dict[str, Any], result: TriageResult) -> None:
        from socialcare.outreach.mailer import build_email

        decision = result.decision
        more = {"source": decision.source, "language": decision.language}
        self.decisions.append({**row, **more, "topics": decision.topics})
        self.posts.append({"source": decision.source, **line})
        if result.outreach is not None:
            email = build_email(result.outreach, self._mailer, "live")
            self.email_of[len(self.decisions) - 1] = len(self.emails)
            self.emails.append(EmailView(email.to, email.subject, email.text, email.html))

    def report(self, notes: list[str]) -> Report:
        return Report(
            title="socialcare decide: a backtest",
            decisions=self.decisions,
            posts=self.posts,
            fetched=len(self.decisions),
            emails=self.emails,
            email_of=self.email_of,
            notes=notes,
            incident="not read in a dry run",
        )
