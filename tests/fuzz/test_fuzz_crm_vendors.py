"""Vendor CRM answers over real HTTP (the HubSpot, Zendesk and Salesforce adapters against a
local server): whatever the vendor says — its own shapes mutated or cut, error bodies and
arrays, deep JSON, odd statuses and Retry-After headers, tokens that are not tokens — a
lookup and the contact policy built on it decide or raise CrmError, as for the contract
(test_fuzz_crm.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.errors import CrmError
from socialcare.identity.crm import CrmConfig, build_crm
from socialcare.identity.vendor import reset_limiters
from socialcare.models import Reason
from socialcare_cli import servers
from tests.fuzz.hostile import wire
from tests.fuzz.report import cases, run
from tests.fuzz.test_fuzz_crm import RETRY_AFTER, STATUSES, TIMEOUT_S, Scripted, author, decide

PERSON = {"FirstName": "Mette", "LastName": "Jensen", "Email": "mette@example.net"}
SHAPES: dict[str, list[Any]] = {
    "hubspot": [
        {
            "total": 1,
            "results": [
                {
                    "id": "51",
                    "properties": {"firstname": "Mette", "email": "mette@example.net"},
                }
            ],
        },
        {"results": [], "paging": {"next": {"after": "100"}}},
        {"status": "error", "category": "RATE_LIMITS", "message": "slow down"},
    ],
    "zendesk": [
        {
            "users": [{"id": 9001, "name": "Mette Jensen", "email": "mette@example.net"}],
            "identities": [{"user_id": 9001, "type": "twitter", "value": "mettejensen"}],
            "next_page": None,
        },
        {"tickets": [{"id": 1, "status": "open", "created_at": "2026-11-01T10:00:00Z"}]},
        {"error": "RecordNotFound", "description": "Not found"},
    ],
    "salesforce": [
        {"access_token": "00Dx!token", "token_type": "Bearer"},
        {"totalSize": 1, "done": True, "records": [{"Id": "003000000000001AAA", **PERSON}]},
        {"totalSize": 2, "done": False, "nextRecordsUrl": "/services/data/v60.0/query/01g-1"},
        {"searchRecords": [{"Id": "003000000000001AAA", **PERSON}]},
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    ],
}
CRM = Scripted()


@st.composite
def answers(draw: st.DrawFn, vendor: str) -> list[tuple[int, dict[str, str], bytes]]:
    out = []
    for _ in range(6):  # a token, a lookup and its retries; then the server answers 503
        headers = {"Content-Type": "application/json"}
        status = draw(STATUSES | st.just(403))
        if status in (429, 403):
            headers["Retry-After"] = draw(RETRY_AFTER)
        if draw(st.booleans()):
            headers["Sforce-Limit-Info"] = draw(
                st.sampled_from(["api-usage=5/0", "x", "api-usage=9/10"])
            )
        out.append((status, headers, draw(wire(draw(st.sampled_from(SHAPES[vendor]))))))
    return out


@st.composite
def scripts(draw: st.DrawFn) -> tuple[str, list[Any]]:
    vendor = draw(st.sampled_from(sorted(SHAPES)))
    return vendor, draw(answers(vendor))


# A fifth of the base: each case draws six hostile bodies, the slowest part of a case.
@settings(max_examples=cases(0.2))
@given(
    script=scripts(),
    handle=st.none() | st.text(max_size=30) | st.just("mette' OR Name != '"),
    email=st.none() | st.emails() | st.just("o'brien\\@x.dk"),
    name=st.none() | st.text(max_size=60) | st.just("Søren {Ærø} OR *"),
    name_matching=st.sampled_from(["off", "review", "on"]),
)
def test_any_vendor_answer_is_a_decision_or_a_crm_error(
    script: tuple[str, list[Any]], handle: Any, email: Any, name: Any, name_matching: str
) -> None:
    vendor, answers_ = script
    mention = author(handle, email, name)
    reset_limiters()  # a pause one case asked for is not the next case's
    with servers.serve(CRM) as url:
        CRM.answers = list(answers_)
        options = {"salesforce": {"client_id": "fuzz"}}
        config = CrmConfig(url, vendor, "fuzz-token", options=options, timeout_s=2, retries=1)
        crm = build_crm(config)
        out = run(
            f"crm answers ({vendor})",
            TIMEOUT_S,
            lambda: decide(crm, mention, name_matching),
            (CrmError,),
        )
    assert isinstance(out, Reason | CrmError)
