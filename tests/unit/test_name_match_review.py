"""Name matches go to the agents (review) unless the company set NameMatching=on."""

from __future__ import annotations

import pytest

from socialcare.adapters.memory import MemoryMailer
from socialcare.outreach.mailer import MailerDeps, send_outreach
from tests.unit.conftest import make_request


def recipients(deps: MailerDeps) -> list[str]:
    assert isinstance(deps.mailer, MemoryMailer)
    return [e.to for e in deps.mailer.sent]


@pytest.mark.parametrize(
    ("setting", "match", "to"),
    [
        ("review", "name", "agents@lynet.example"),
        ("off", "name", "agents@lynet.example"),  # switched off while it was queued
        ("on", "name", "mette@example.net"),
        ("review", "handle", "mette@example.net"),
        ("review", "email", "mette@example.net"),
    ],
)
def test_live_name_matches_follow_the_setting(
    mailer_deps: MailerDeps, setting: str, match: str, to: str
) -> None:
    mailer_deps.name_matching = setting
    decision = send_outreach(make_request(match=match), mailer_deps, "live")
    assert decision is not None and decision.reason.value == "contact"
    assert recipients(mailer_deps) == [to]
    if to == "agents@lynet.example":
        assert mailer_deps.mailer.sent[0].text.startswith(
            "REVIEW: would go to mette@example.net (customer C-1), matched by name"
        )
        assert mailer_deps.crm.recorded == []  # not live: nothing recorded in the CRM


def test_shadow_stays_shadow_for_name_matches(mailer_deps: MailerDeps) -> None:
    mailer_deps.name_matching = "review"
    send_outreach(make_request(match="name"), mailer_deps, "shadow")
    assert recipients(mailer_deps) == []
