"""Review mode on the deployed stack: a name match goes to the agents (NameMatching off),
its Approve and Reject links are sealed by the stack's KMS key and followed over HTTP
through the Review function's Function URL, GET then POST, as an agent's browser does.
The deployed mailer then sends under the held per-person key, once.

Emulator gap: MiniStack's KMS encrypts without authenticating (an XOR stream), so an
altered token here may open into garbage (400) instead of being refused (403); moto's
real AES-GCM refusal is tests/integration/test_review.py's.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from socialcare.models import OutreachRequest
from socialcare_cli import review_agent
from socialcare_cli.main import main
from tests.conftest import load_json
from tests.e2e import emulator
from tests.e2e.conftest import REVIEW_ADDRESS, STACK, Deployed
from tests.e2e.test_deployed_stack import decisions, queue_depth

pytestmark = pytest.mark.e2e
WAIT_S = 60
HTTP_S = 60  # a Function URL's first call starts the function (a cold start on a busy machine)
PILOT_REREAD_S = 61  # socialcare.operations.pilot.Pilot's max_age_s, and a second
CUSTOMERS = {c["id"]: c for c in load_json("crm.json")["customers"]}


@pytest.fixture(scope="module")
def in_pilot(deployed: Deployed) -> list[str]:
    """This module's customers join the stack's pilot, as an operator adds them
    (`socialcare pilot add --stack`); the functions re-read the list within a minute."""
    customers = ["C-1003", "C-1004"]
    with deployed.as_operator():
        args = [arg for c in customers for arg in ("--customer", c)]
        assert main(["pilot", "add", "--stack", STACK, *args]) == 0
    time.sleep(PILOT_REREAD_S)
    return customers


def name_match(deployed: Deployed, customer_id: str) -> OutreachRequest:
    """What triage sends for a careful name match, put on OutreachQueue."""
    customer = CUSTOMERS[customer_id]
    request = OutreachRequest(
        mention_id=uuid.uuid4().hex,
        fetch_id=uuid.uuid4().hex,
        customer_ref=customer_id,
        customer_hash=deployed.hasher.person(customer_id),
        email=customer["email"],
        first_name=customer["name"].split()[0],
        source="x",
        post_url="https://x.com/someone/status/1",
        post_created_at=datetime.now(UTC),
        match="name",
    )
    deployed.client("sqs").send_message(
        QueueUrl=deployed.resources["OutreachQueue"], MessageBody=request.model_dump_json()
    )
    return request


def review_link(deployed: Deployed, request: OutreachRequest, action: str) -> str:
    """The link in the review e-mail about this customer, on MiniStack's URL path."""

    def found() -> str | None:
        for message in deployed.emails_to(REVIEW_ADDRESS):
            body = str(message.get("BodyText", ""))
            if f"would go to {request.email}" in body:
                link = re.search(rf"/{action}\?token=([A-Za-z0-9_-]+)", body)
                return link.group(1) if link else None
        return None

    token = emulator.wait_for(
        found, WAIT_S, f"the review e-mail about {request.customer_ref}", explain=deployed.explain
    )
    return f"{deployed.function_url('ReviewUrl')}{action}?token={token}"


def test_approve_sends_once_to_the_customer(deployed: Deployed, in_pilot: list[str]) -> None:
    request = name_match(deployed, "C-1003")
    link = review_link(deployed, request, "approve")
    assert deployed.outputs["ReviewUrl"].startswith("https://")
    assert deployed.emails_to(request.email) == []  # the agents first
    clicked = review_agent.click(link, timeout_s=HTTP_S)
    assert (clicked.page, clicked.done) == (200, 200), clicked.text[:300]
    emulator.wait_for(
        lambda: deployed.emails_to(request.email),
        WAIT_S,
        "the approved e-mail to the customer",
        explain=deployed.explain,
    )
    again = review_agent.click(link, timeout_s=HTTP_S)  # a second click: nothing more
    assert again.page == 200 and "Allerede godkendt" in again.text
    emulator.wait_for(
        lambda: queue_depth(deployed, "OutreachQueue") == 0, WAIT_S, "OutreachQueue to drain"
    )
    assert len(deployed.emails_to(request.email)) == 1
    mailed = decisions(deployed, "SendOutreachFunction")[request.mention_id]
    assert [d["mode"] for d in mailed if d["reason"] == "contact"] == ["review", "live"]
    assert queue_depth(deployed, "OutreachDeadLetterQueue") == 0


def test_reject_sends_nothing_and_is_audited(deployed: Deployed, in_pilot: list[str]) -> None:
    request = name_match(deployed, "C-1004")
    link = review_link(deployed, request, "reject")
    page = requests.get(link, timeout=HTTP_S)
    assert page.status_code == 200 and '<form method="post"' in page.text  # GET: a question
    clicked = review_agent.click(link, timeout_s=HTTP_S)
    assert (clicked.page, clicked.done) == (200, 200), clicked.text[:300]
    late = review_agent.click(link.replace("/reject?", "/approve?"), timeout_s=HTTP_S)
    assert late.page == 409 and late.done == 0
    audits: Any = emulator.wait_for(
        lambda: [
            r
            for r in deployed.records("ReviewFunction", "decision")
            if r["mention_id"] == request.mention_id
        ],
        WAIT_S,
        "the rejected_by_agent audit line",
    )
    assert [a["reason"] for a in audits] == ["rejected_by_agent"]
    assert deployed.emails_to(request.email) == []
    log = "\n".join(deployed.log_lines("ReviewFunction"))
    assert request.email not in log and CUSTOMERS["C-1004"]["name"] not in log


def test_a_forged_link_gets_a_page_and_changes_nothing(deployed: Deployed) -> None:
    base = deployed.function_url("ReviewUrl")
    for url, statuses in [
        (f"{base}approve?token={'A' * 200}", {400, 403}),
        (f"{base}approve?token=not-a-token!", {400}),
        (f"{base}approve", {400}),
    ]:
        for method in (requests.get, requests.post):
            answer = method(url, timeout=HTTP_S)
            assert answer.status_code in statuses, (url, answer.status_code)
            assert "Linket" in answer.text
