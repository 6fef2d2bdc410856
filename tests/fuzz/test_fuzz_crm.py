"""CRM answers over real HTTP (the contract client against a local server): whatever the
CRM says (mutated or cut customer and interaction lists, deep JSON, odd statuses and
Retry-After headers, names and addresses that break greetings and headers), a lookup is
customers or a CrmError, and identity and the contact policy built on it decide or raise
CrmError; a customer left with an address has one plain one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare import addresses
from socialcare.adapters.memory import MemoryState
from socialcare.errors import CrmError
from socialcare.hashing import Hasher
from socialcare.identity import matching, policy
from socialcare.identity.http_crm import HttpCrm
from socialcare.models import Mention, Reason
from socialcare_cli import servers
from tests.conftest import TESTS
from tests.fuzz.hostile import wire
from tests.fuzz.report import cases, run

TIMEOUT_S = 30  # TriageMentionsFunction
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DIRECTORY = json.loads((TESTS / "data" / "crm.json").read_text())
SAMPLES = [
    {"customers": DIRECTORY["customers"]},
    {"customers": DIRECTORY["customers"][:1]},
    {"interactions": [{"channel": "sms", "kind": "outage_notice", "at": NOW.isoformat()}]},
    {"interactions": [{"channel": "ticket", "kind": "case", "at": "2026-11-01", "open": True}]},
]
STATUSES = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 404, 429, 500, 503])
RETRY_AFTER = st.sampled_from(["0", "-1", "1e308", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", "ø"])


class Scripted:
    """The CRM as a route for servers.serve: answers drawn per case."""

    answers: list[tuple[int, dict[str, str], bytes]]

    def __call__(self, *request: Any) -> tuple[int, dict[str, str], bytes]:
        return self.answers.pop(0) if self.answers else (503, {}, b"")


CRM = Scripted()


@st.composite
def answers(draw: st.DrawFn) -> list[tuple[int, dict[str, str], bytes]]:
    out = []
    for _ in range(8):  # enough for a lookup, its retries and the policy's reads
        headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/html"]))}
        status = draw(STATUSES)
        if status == 429:
            headers["Retry-After"] = draw(RETRY_AFTER)
        out.append((status, headers, draw(wire(draw(st.sampled_from(SAMPLES))))))
    return out


def author(handle: Any, email: Any, name: Any) -> Mention:
    """A post of a minute or five ago by an author with these (drawn) details."""
    return Mention(
        source="x",
        post_id="1",
        handle=handle,
        email=email,
        display_name=name,
        location="Aarhus",
        created_at=NOW - timedelta(minutes=5),
    )


def decide(crm: HttpCrm, mention: Mention, name_matching: str) -> Reason:
    """Identity, then the contact policy: what triage asks of the CRM for one mention."""
    who = matching.identify(mention, crm, name_matching=name_matching)  # type: ignore[arg-type]
    if who.customer is None:
        return who.reason or Reason.NO_CUSTOMER_MATCH
    customer = who.customer
    assert customer.email is None or addresses.normalise(customer.email) == customer.email
    customer.first_name  # noqa: B018 - the greeting is worked out from any name
    return policy.check(
        customer,
        crm=crm,
        state=MemoryState(),
        hasher=Hasher("fuzz-hash-key-0123456789"),
        now=NOW,
        config=policy.PolicyConfig(),
    )


@settings(max_examples=cases(0.5))
@given(
    script=answers(),
    handle=st.none() | st.text(max_size=30),
    email=st.none() | st.emails() | st.text(max_size=30),
    name=st.none() | st.text(max_size=60) | st.just("Søren Ærø Hansen"),
    name_matching=st.sampled_from(["off", "review", "on"]),
)
def test_any_crm_answer_is_a_decision_or_a_crm_error(
    script: list[Any], handle: Any, email: Any, name: Any, name_matching: str
) -> None:
    mention = author(handle, email, name)
    with servers.serve(CRM) as url:
        CRM.answers = list(script)
        crm = HttpCrm(url, "fuzz-token", timeout_s=2, retries=1, backoff_s=0.001)
        out = run(
            "crm answers (HTTP)",
            TIMEOUT_S,
            lambda: decide(crm, mention, name_matching),
            (CrmError,),
        )
    assert isinstance(out, Reason | CrmError)
