"""Review mode end to end on the emulator: the handlers as Lambda loads them, the review
e-mails as SES (moto) accepted them, their links sealed by KMS (moto: AES-GCM) and
followed over real HTTP through the Review function's local Function URL, as an agent's
browser follows them (GET the page, POST its form)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from typing import Any

import boto3
import pytest
import requests

from socialcare.adapters.kms import KmsSealer
from socialcare.outreach.approval import seal, unseal
from socialcare_cli import lambda_local, local_aws, review_agent
from socialcare_cli.demo import LogCapture
from socialcare_cli.template import Stack
from tests.conftest import context
from tests.integration.test_pipeline_handlers import depth, drain


@pytest.fixture
def review_url(stack: Stack, handler: Any) -> Iterator[str]:
    """Review mode (the SSM parameter), and the Review function's URL on 127.0.0.1."""
    boto3.client("ssm").put_parameter(
        Name=stack.physical["OutreachModeParameter"], Value="review", Overwrite=True
    )
    with review_agent.function_url(stack) as bind:
        bind(handler("ReviewFunction"))
        yield stack.attributes[("ReviewFunctionUrl", "FunctionUrl")]


def to(endpoint: str) -> list[str]:
    return [m["destinations"][0] for m in local_aws.sent_emails(endpoint)]


def reviews(stack: Stack, handler: Any, aws: str) -> list[dict[str, str]]:
    """Fetch, triage and mail in review mode: the review e-mails' links."""
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    return review_agent.review_copies(local_aws.sent_emails(aws))


def person_items(stack: Stack) -> dict[str, dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    return {i["pk"]["S"]: i for i in items if i["pk"]["S"].startswith("person#")}


def test_approve_all_sends_one_email_per_reviewed_customer(
    stack: Stack, handler: Any, aws: str, review_url: str
) -> None:
    links = reviews(stack, handler, aws)
    assert len(links) == 3 and set(to(aws)) == {"agents@lynet.example"}
    assert all(link["approve"].startswith(review_url) for link in links)
    held = person_items(stack)
    assert len(held) == 3 and {i["state"]["S"] for i in held.values()} == {"review"}
    for link in links:
        clicked = review_agent.click(link["approve"])
        assert (clicked.page, clicked.done) == (200, 200) and "Godkendt" in clicked.text
    mailer = handler("SendOutreachFunction")
    drain(stack, "SendOutreachFunction", mailer)
    customers = sorted(a for a in to(aws) if a != "agents@lynet.example")
    assert customers == [
        "emma.wilson@example.net",
        "mette.jensen@example.net",
        "oliver.smith@example.net",
    ]
    # Clicked again (and the mailer run again): nothing more.
    for link in links:
        assert review_agent.click(link["approve"]).page == 200
    drain(stack, "SendOutreachFunction", mailer)
    assert len(to(aws)) == 6
    assert {i["state"]["S"] for i in person_items(stack).values()} == {"recorded"}
    sent = [
        message_from_string(m["raw_data"], policy=policy.default)
        for m in local_aws.sent_emails(aws)
    ]
    for message in sent:
        review = message["To"] == "agents@lynet.example"
        assert (message["List-Unsubscribe"] is None) == review  # the customer's link only


def test_reject_sends_nothing_and_is_audited_without_content(
    stack: Stack, handler: Any, aws: str, review_url: str
) -> None:
    links = reviews(stack, handler, aws)
    capture = LogCapture()
    review = handler("ReviewFunction")
    with review_agent.function_url(stack) as bind, capture.active():
        bind(review)
        base = stack.attributes[("ReviewFunctionUrl", "FunctionUrl")]
        rejected = review_agent.click(links[0]["reject"].replace(review_url, base))
        late = review_agent.click(links[0]["approve"].replace(review_url, base))
    assert (rejected.page, rejected.done) == (200, 200) and "Afvist" in rejected.text
    assert late.page == 409 and late.done == 0  # no button on an already decided page
    drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    assert set(to(aws)) == {"agents@lynet.example"} and len(person_items(stack)) == 2
    lines = capture.lines()
    (audit,) = [line for line in lines if line.get("message") == "decision"]
    assert audit["reason"] == "rejected_by_agent" and audit["decision"] == "skip"
    text = json.dumps(lines)
    for personal in ("mette", "oliver", "emma", "example.net", "nede", "down"):
        assert personal not in text.lower()


def test_get_changes_nothing_and_bad_links_get_a_page(
    stack: Stack, handler: Any, aws: str, review_url: str
) -> None:
    (first, *_) = reviews(stack, handler, aws)
    before = person_items(stack)
    token = first["approve"].split("token=")[1]
    sealer = KmsSealer(stack.attributes[("ReviewLinkKey", "Arn")], lambda: boto3.client("kms"))
    request = unseal(sealer, token, datetime.now(UTC)).request
    expired = seal(sealer, request, datetime.now(UTC) - timedelta(minutes=1))
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    for url, status in [
        (first["approve"], 200),  # scanners and previews: the page only
        (first["reject"], 200),
        (f"{review_url}approve?token={expired}", 410),
        (f"{review_url}approve?token={flipped}", 403),  # altered: AES-GCM refuses it
        (f"{review_url}approve?token=not-a-token!", 400),
        (f"{review_url}approve", 400),
        (f"{review_url}delete?token={token}", 404),
    ]:
        page = requests.get(url, timeout=10)
        assert page.status_code == status, url
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Referrer-Policy"] == "no-referrer"
        if status != 200:
            assert requests.post(url, timeout=10).status_code == status
    drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    assert person_items(stack) == before and set(to(aws)) == {"agents@lynet.example"}
    assert depth(stack, "OutreachQueue") == 0


def test_an_opt_out_between_review_and_approval_wins(
    stack: Stack, handler: Any, aws: str, review_url: str
) -> None:
    from socialcare.outreach.unsubscribe import make_token
    from socialcare.wiring import derived_secret
    from tests.conftest import HASH_KEY

    links = reviews(stack, handler, aws)
    request = unseal(
        KmsSealer(stack.attributes[("ReviewLinkKey", "Arn")], lambda: boto3.client("kms")),
        links[0]["approve"].split("token=")[1],
        datetime.now(UTC),
    ).request
    unsubscribe = handler("UnsubscribeFunction")
    event = lambda_local.function_url_event(
        "POST",
        "/",
        {"token": make_token(derived_secret(HASH_KEY, "unsubscribe"), request.customer_hash)},
    )
    assert unsubscribe(event, context())["statusCode"] == 200
    assert review_agent.click(links[0]["approve"]).done == 200
    drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    assert request.email not in to(aws)
    assert f"person#{request.customer_hash}" not in person_items(stack)
