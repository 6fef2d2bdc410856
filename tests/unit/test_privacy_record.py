"""docs/privacy.md and the runbook (docs/operations.md) against the template and the code: a figure,
key, queue or alarm that changes in one place and not the other fails here."""

from __future__ import annotations

import hmac
import inspect
import re

import pytest

from socialcare import pipeline
from socialcare.outreach import optout, unsubscribe
from socialcare.sources import fetch
from socialcare.wiring import MailerRuntime, derived_secret
from socialcare_cli.template import TEMPLATE, load_template

ROOT = TEMPLATE.parent
T = load_template()
RES = T["Resources"]
PRIVACY = (ROOT / "docs" / "privacy.md").read_text()
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
LIBRARY = ROOT / "layers" / "socialcare" / "socialcare"
SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}


def row(key: str) -> str:
    """The one retention-table row that starts with `key`."""
    rows = [line for line in PRIVACY.splitlines() if line.startswith(f"| {key}")]
    assert len(rows) == 1, key
    return rows[0]


def seconds(text: str) -> int:
    number, unit = text.split()
    return int(number) * SECONDS[unit.rstrip("s")]


def test_every_parameter_figure_is_the_template_default() -> None:
    figures = re.findall(r"`(\w+)` = (\d+ (?:second|minute|hour|day)s?)", PRIVACY)
    assert len(figures) >= 6
    for name, said in figures:
        default = int(T["Parameters"][name]["Default"])
        unit = next(u for u in ("Seconds", "Hours", "Days") if name.endswith(u))
        assert seconds(said) == default * SECONDS[unit.lower().rstrip("s")], name


def test_fixed_periods_are_the_code_constants() -> None:
    assert "10 years" in row("DynamoDB, `optout#") and optout.FOREVER_S == 10 * 365 * 86_400
    pause = row("DynamoDB, `pause#")
    assert seconds(re.findall(r"(\d+ hours?)", pause)[0]) == fetch.CAPPED_PAUSE_S
    assert seconds(re.findall(r"up to (\d+ days?)", pause)[0]) == fetch.MAX_PAUSE_S
    outreach_code = (LIBRARY / "outreach" / "mailer.py").read_text()
    rate_ttl = re.search(r'"rate#[^)]*ttl_s=(\d+)', outreach_code)
    assert rate_ttl and seconds(row("DynamoDB, `rate#").split("|")[3].strip()) == int(
        rate_ttl.group(1)
    )
    kept_days = MailerRuntime.IDEMPOTENCY_S // 86_400
    assert f"| {kept_days} days |" in row("DynamoDB, idempotency")
    triage = (LIBRARY / "pipeline.py").read_text()
    assert "max_post_age.total_seconds()) + 86_400" in triage and "+ 1 day" in row(
        "DynamoDB, `seen#"
    )
    decided = row("DynamoDB, `decided#")
    assert seconds(re.findall(r"(\d+ days)", decided)[0]) == pipeline.DECIDED_TTL_S
    link_ttl = inspect.signature(unsubscribe.make_token).parameters["ttl_s"].default
    assert f"expire after {link_ttl // 86_400} days" in " ".join(PRIVACY.split())


def test_every_kind_of_state_key_is_recorded() -> None:
    code = "".join(p.read_text() for p in LIBRARY.rglob("*.py"))
    kinds = set(re.findall(r'f"([a-z]+)#', code))
    assert {"cursor", "seen", "person", "optout", "rate", "pause"} <= kinds
    missing = [k for k in kinds if f"`{k}#" not in PRIVACY]
    assert not missing, missing


@pytest.mark.parametrize("kind", ["AWS::SQS::Queue", "AWS::SNS::Topic"])
def test_every_queue_and_topic_is_recorded(kind: str) -> None:
    names = [k for k, v in RES.items() if v["Type"] == kind]
    missing = [n for n in names if f"`{n}`" not in PRIVACY]
    assert names and not missing, missing


def test_ses_events_are_only_what_the_register_needs() -> None:
    destination = RES["EmailEventDestination"]["Properties"]["EventDestination"]
    assert sorted(destination["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert "sends no other events" in PRIVACY


def test_hash_keys_are_derived_as_written() -> None:
    assert "`HMAC-SHA256(secret, purpose)`" in PRIVACY
    assert derived_secret("k" * 48, "hash") == hmac.new(b"k" * 48, b"hash", "sha256").hexdigest()
    code = (LIBRARY / "wiring.py").read_text() + (LIBRARY / "keyring.py").read_text()
    purposes = set(re.findall(r'\.derived\("(\w+)"\)', code))
    assert purposes == {"hash", "unsubscribe", "cursor", "digest"}
    assert all(f"`{p}`" in PRIVACY for p in purposes)


def test_runbook_covers_every_alarm_by_name_or_pattern() -> None:
    runbook = OPERATIONS[OPERATIONS.index("## Runbook") :]
    named = re.findall(r"`([A-Za-z<>]+Alarm)`", runbook)
    patterns = [re.compile(re.sub(r"<\w+>", "[A-Za-z]+", n) + "$") for n in named]
    alarms = [k for k, v in RES.items() if v["Type"] == "AWS::CloudWatch::Alarm"]
    uncovered = [a for a in alarms if not any(p.match(a) for p in patterns)]
    assert len(alarms) > 30 and not uncovered, uncovered
