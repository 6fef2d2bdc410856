"""docs/dpo.md against the template and the code: its retention figures, and the periods
its Art. 14 notice promises in Danish and English, are the deployed ones; every link in
the DPO pack, the privacy record and the CLI page resolves."""

from __future__ import annotations

import re

import pytest

from socialcare.outreach import optout
from tests.unit.test_privacy_record import ROOT, SECONDS, T, seconds

DOCS = ROOT / "docs"
DPO = (DOCS / "dpo.md").read_text(encoding="utf-8")


def default(name: str) -> int:
    return int(T["Parameters"][name]["Default"])


def test_every_parameter_figure_is_the_template_default() -> None:
    figures = re.findall(r"`(\w+)` = (\d+ (?:second|minute|hour|day)s?)", DPO)
    assert {name for name, _ in figures} >= {
        "MentionRetentionSeconds",
        "DeadLetterRetentionSeconds",
        "MaxPostAgeHours",
        "CooldownDays",
        "LogRetentionDays",
        "DataSubjectLogRetentionDays",
    }
    for name, said in figures:
        unit = next(u for u in ("Seconds", "Hours", "Days") if name.endswith(u))
        assert seconds(said) == default(name) * SECONDS[unit.lower().rstrip("s")], name


def test_fixed_periods_are_the_code_constants() -> None:
    row = next(line for line in DPO.splitlines() if line.startswith("| An opt-out"))
    assert row.endswith("| 10 years |") and optout.FOREVER_S == 10 * 365 * 86_400
    wiring = (ROOT / "layers" / "socialcare" / "socialcare" / "wiring.py").read_text()
    kept = re.search(r"IDEMPOTENCY_S = (\d+) \* 86_400", wiring)
    assert kept
    row = next(line for line in DPO.splitlines() if "idempotency record (`idem#`)" in line)
    assert row.endswith(f"| {kept.group(1)} days |")


def notice(language: str) -> str:
    """The notice's text in one language, blockquote marks and line breaks undone."""
    section = DPO.split(f"### {language}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    quoted = [line.removeprefix(">").strip() for line in section.splitlines()]
    return " ".join(" ".join(quoted).split())


@pytest.mark.parametrize(
    ("language", "promises"),
    [
        (
            "Dansk",
            [
                "højst {hours} timer",
                "op til {seen} dage",
                "({cooldown} dage, så du højst får én e-mail om måneden)",
                "(10 år)",
                "gemmes i {logs} dage",
                "art. 6, stk. 1, litra f",
                "Datatilsynet",
            ],
        ),
        (
            "English",
            [
                "{hours} hours at most",
                "up to {seen} days",
                "({cooldown} days, so you get at most one e-mail a month)",
                "(10 years)",
                "kept for {logs} days",
                "Article 6(1)(f)",
                "Datatilsynet",
            ],
        ),
    ],
)
def test_the_notice_promises_the_deployed_periods(language: str, promises: list[str]) -> None:
    periods = {
        "hours": default("MentionRetentionSeconds") // 3600,
        "seen": default("MaxPostAgeHours") // 24 + 1,  # seen# lives max age + 1 day
        "cooldown": default("CooldownDays"),
        "logs": default("LogRetentionDays"),
    }
    text = notice(language)
    for promise in promises:
        assert promise.format(**periods) in text, promise


def test_the_privacy_record_and_the_readme_point_to_the_pack() -> None:
    assert "[dpo.md](dpo.md)" in (DOCS / "privacy.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/dpo.md" in readme and "docs/cli.md" in readme
