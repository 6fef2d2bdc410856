"""The privacy scan behind `make privacy`: after a demo run, is any post text, handle,
name or e-mail address of the sample anywhere the deployed system keeps things?

Scanned: the log lines and EMF metrics (logs.jsonl), the decisions (decisions.jsonl),
the state table's items (state.jsonl) and every other file of the run, including what
the functions wrote under TMPDIR (Lambda's only writable place). Exempt, by name, are
the demo's outputs meant for people (EXEMPT); their hits are counted apart, which also
shows the scan finds what it looks for.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from socialcare.sources import parse_page
from socialcare_cli.demo_platforms import PAGES, sample_page

EXEMPT = {
    "outbox": "the e-mails SES accepted: written to the customer, by name, on purpose",
    "report.html": "a page of the run for people to read",
}
SHINGLE = 4  # words of a post text that, found together, count as a hit
MIN_TOKEN = 3  # shorter name parts (initials, "Bo") would match inside ordinary words


@dataclass
class Needles:
    """What must not be found: kind -> values."""

    exact: dict[str, set[str]] = field(default_factory=dict)  # case-insensitive
    names: set[str] = field(default_factory=set)  # case-sensitive (hex hashes are lowercase)

    def add(self, kind: str, value: str | None) -> None:
        if value and len(value.strip()) >= MIN_TOKEN:
            self.exact.setdefault(kind, set()).add(value.strip().lower())

    def add_name(self, name: str | None) -> None:
        for part in re.split(r"[\s,.]+", name or ""):
            if len(part) >= MIN_TOKEN and part[0].isupper():
                self.names.add(part)

    def add_text(self, text: str) -> None:
        words = text.lower().split()
        for i in range(max(1, len(words) - SHINGLE + 1)):
            self.add("post text", " ".join(words[i : i + SHINGLE]))

    def patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        """One pattern per kind; a needle matches only as a whole word (or words)."""

        def alternation(values: Iterable[str]) -> str:
            ordered = sorted(values, key=len, reverse=True)
            return r"(?<!\w)(?:" + "|".join(re.escape(v) for v in ordered) + r")(?!\w)"

        out = [(k, re.compile(alternation(v), re.IGNORECASE)) for k, v in self.exact.items()]
        if self.names:
            out.append(("name", re.compile(alternation(self.names))))
        return out


def sample_needles() -> Needles:
    """The sample's people and posts: the demo's posts and CRM, and the platform pages
    read the way the sources read them."""
    root = resources.files("socialcare_cli").joinpath("sample")
    needles = Needles()
    for post in json.loads(root.joinpath("posts.json").read_text(encoding="utf-8")):
        needles.add("handle", post.get("handle"))
        needles.add_name(post.get("display_name"))
        needles.add_text(post.get("text", ""))
    crm = json.loads(root.joinpath("crm.json").read_text(encoding="utf-8"))
    for customer in crm["customers"]:
        needles.add_name(customer.get("name"))
        needles.add("e-mail address", customer.get("email"))
        for handle in customer.get("handles", []):
            needles.add("handle", handle.split(":", 1)[-1])
    for source, pages in PAGES.items():
        for page in pages:
            mentions, _ = parse_page(source, sample_page(source, page))
            for mention in mentions:
                needles.add("handle", mention.handle)
                needles.add_name(mention.display_name)
                needles.add("e-mail address", mention.email)
                needles.add_text(mention.text)
    return needles


@dataclass
class Report:
    scanned: list[str] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)  # "file: kind" -> count
    exempt: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.hits.values())


def _files(out: Path) -> Iterator[tuple[Path, bool]]:
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        top = path.relative_to(out).parts[0]
        yield path, top in EXEMPT


def scan(out: Path, needles: Needles) -> Report:
    report = Report()
    patterns = needles.patterns()
    for path, exempt in _files(out):
        if path.suffix in (".json", ".jsonl"):  # as read back: \u-escapes undone
            text = _unescaped(path)
        else:
            text = " ".join(path.read_text(encoding="utf-8", errors="replace").split())
        name = str(path.relative_to(out))
        (report.exempt if exempt else report.hits).update(
            {f"{name}: {kind}": len(p.findall(text)) for kind, p in patterns if p.search(text)}
        )
        if not exempt:
            report.scanned.append(name)
    return report


def _unescaped(path: Path) -> str:
    values: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                values.append(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            values.append(str(value))

    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        walk(json.loads(text))  # one document
    except ValueError:
        for line in text.splitlines():  # JSON Lines
            try:
                walk(json.loads(line))
            except ValueError:
                values.append(line)
    return " ".join(" ".join(values).split())
