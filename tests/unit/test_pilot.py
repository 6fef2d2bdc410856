"""The pilot audience: only its customers are e-mailed, everyone else is `not_in_pilot`."""

from __future__ import annotations

from typing import Any

import pytest

from socialcare.adapters.memory import MemoryMailer, MemoryQueue
from socialcare.errors import ConfigError, FormatError, RetryableError
from socialcare.identity.policy import person_key
from socialcare.models import Reason
from socialcare.operations import pilot
from socialcare.outreach.mailer import MailerDeps, send_outreach
from socialcare.pipeline import TriageDeps, handle, triage
from tests.unit.conftest import make_mention, make_request

NAME = "/socialcare/pilot"


class Parameters:
    """Powertools' SSM provider as the functions use it: get(name, max_age)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str, max_age: int = 0) -> str:
        return self.values[name]


def pilot_of(customers: list[str] | None = None, emails: list[str] | None = None) -> pilot.Pilot:
    value = pilot.PilotList(customers=customers or [], emails=emails or []).to_json()
    return pilot.Pilot(Parameters({NAME: value}), NAME)


def test_only_pilot_customers_are_emailed_the_rest_decided_in_full(
    triage_deps: TriageDeps,
) -> None:
    triage_deps.pilot = pilot_of(customers=[triage_deps.hasher.person("C-1")])
    queue = MemoryQueue()
    decision = handle(make_mention(), triage_deps, queue)
    assert decision.reason is Reason.CONTACT and len(queue.messages) == 1

    oliver = make_mention(
        source="bluesky", post_id="p2", handle="oliver.bsky.social", text="Lynet is down again"
    )
    decision = handle(oliver, triage_deps, queue)
    # Matched and checked as in shadow mode: audited with the customer's hash and how
    # they were found, but nothing reaches the mailer.
    assert decision.reason is Reason.NOT_IN_PILOT and decision.decision == "skip"
    assert decision.customer_hash == triage_deps.hasher.person("C-2")
    assert decision.match == "handle" and decision.topics
    assert len(queue.messages) == 1


def test_the_policy_comes_first_and_an_email_hash_admits_too(triage_deps: TriageDeps) -> None:
    triage_deps.pilot = pilot_of(emails=[triage_deps.hasher.address("Mette@Example.net ")])
    assert triage(make_mention(), triage_deps).decision.reason is Reason.CONTACT
    # Peter was texted by customer service 3 hours ago: that reason, not the pilot's.
    peter = make_mention(post_id="p3", handle="peter")
    assert triage(peter, triage_deps).decision.reason is Reason.ALREADY_IN_CONTACT


def test_the_mailer_skips_someone_taken_out_of_the_pilot_since(mailer_deps: MailerDeps) -> None:
    mailer_deps.pilot = pilot_of(customers=["someone else"])
    decision = send_outreach(make_request(), mailer_deps, "live")
    assert decision is not None and decision.reason is Reason.NOT_IN_PILOT
    assert isinstance(mailer_deps.mailer, MemoryMailer) and mailer_deps.mailer.sent == []
    assert mailer_deps.state.holder(person_key("h1")) is None
    mailer_deps.pilot = pilot_of(customers=["h1"])
    decision = send_outreach(make_request(), mailer_deps, "live")
    assert decision is not None and decision.reason is Reason.CONTACT


def test_an_unreadable_pilot_list_fails_the_record_rather_than_admit_everyone(
    triage_deps: TriageDeps,
) -> None:
    triage_deps.pilot = pilot.Pilot(Parameters({}), NAME)  # the parameter is gone
    with pytest.raises(RetryableError, match=NAME):
        triage(make_mention(), triage_deps)
    triage_deps.pilot = pilot.Pilot(Parameters({NAME: "mette"}), NAME)
    with pytest.raises(ConfigError, match="socialcare pilot clear"):
        triage(make_mention(post_id="p9"), triage_deps)


@pytest.mark.parametrize(
    ("value", "customers"),
    [
        ('{"v": 1, "customers": ["a"], "emails": []}', ["a"]),
        ('{"customers": ["a"]}', ["a"]),  # written before versions: read as version 1
    ],
)
def test_pilot_list_versions(value: str, customers: list[Any]) -> None:
    assert pilot.parse(value).customers == customers


def test_a_newer_pilot_list_is_refused_naming_the_fix() -> None:
    with pytest.raises(FormatError, match=f"format 2.*socialcare pilot clear --parameter {NAME}"):
        pilot.parse('{"v": 2, "audience": []}', NAME)
