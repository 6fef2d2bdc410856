"""Placement through the deployed path (issue 19): Trustpilot reviews read over HTTP from
the platform's stand-in by FetchMentionsFunction, triaged against the contract CRM and
e-mailed through SES on moto's server. A review never names us and is still about us; a
bare 1-star is not e-mailed; the e-mail calls a review a review."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from email import message_from_string, policy
from typing import Any

import boto3
import pytest

from socialcare.sources.auth import TOKENS
from socialcare_cli import lambda_local, local_aws, platforms, servers
from socialcare_cli.template import Stack, load_template
from tests.conftest import CRM_TOKEN, HASH_KEY, context
from tests.integration.platform_cases import BY_NAME, SECRETS, UNIT, load

CASE = BY_NAME["trustpilot"]


def reviews() -> dict[str, Any]:
    """The recorded-shape page, written by customers the CRM knows by e-mail: Jonas's
    2-star never names us; Emma's 1-star has no words at all."""
    page = copy.deepcopy(load(f"trustpilot/{CASE.pages[0]}"))
    unnamed, named = page["reviews"][1], page["reviews"][0]
    assert "Lynet" not in unnamed["title"] + unnamed["text"]
    unnamed["consumer"]["email"] = "jonas.berg@example.net"
    bare = copy.deepcopy(named)
    bare.update(id="6746f0a1b2c3d4e5f6a7b8d9", stars=1, title="", text="")
    bare["consumer"].update(id="5f6746f0a1c0ffee0000000009", email="emma.wilson@example.net")
    page["reviews"] = [named, unnamed, bare]
    return platforms.fresh(page, "trustpilot")


@pytest.fixture
def deployed(aws: str, crm: tuple[Any, str]) -> Iterator[tuple[Stack, str]]:
    """The stack with Trustpilot on, pointed at the stand-in (its URL) and the CRM."""
    fake = CASE.fake([reviews()])
    with servers.serve(fake) as url:
        stack = Stack(
            load_template(),
            overrides={
                "EnableTrustpilot": "true",
                "TrustpilotBusinessUnitId": UNIT,
                "CrmUrl": crm[1],
                "OutreachMode": "live",
            },
        )
        local_aws.provision(stack)
        local_aws.set_secret(stack, "HashKeySecret", HASH_KEY)
        local_aws.set_secret(stack, "CrmTokenSecret", CRM_TOKEN)
        local_aws.set_secret(
            stack, "TrustpilotSourceSecret", json.dumps(SECRETS["trustpilot-secret"])
        )
        yield stack, url


def run(stack: Stack, function: str, **env: str) -> Any:
    return lambda_local.load_handler(stack, function, {"HTTP_BACKOFF_S": "0.01", **env})[1]


def drain(stack: Stack, function: str) -> lambda_local.PollStats:
    logical, props = stack.sqs_event(function)
    url, arn = stack.physical[logical], stack.attributes[(logical, "Arn")]
    return lambda_local.poll(
        url, arn, run(stack, function), function_name=function, batch_size=props["BatchSize"]
    )


def peek(stack: Stack, queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = stack.physical[queue]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_reviews_are_addressed_and_emailed_as_reviews(
    aws: str, deployed: tuple[Stack, str]
) -> None:
    stack, url = deployed
    TOKENS.clear()
    fetch = run(stack, "FetchMentionsFunction", TRUSTPILOT_API_URL=url)
    assert fetch({"source": "trustpilot"}, context())["fetched"] == 3

    served = reviews()["reviews"]
    queued = {m["post_id"]: m for m in peek(stack, "MentionsQueue")}
    assert {(m["addressed"], m["stars"]) for m in queued.values()} == {
        (True, r["stars"]) for r in served
    }

    assert drain(stack, "TriageMentionsFunction").failures == 0
    assert drain(stack, "SendOutreachFunction").failures == 0
    sent = [
        message_from_string(m["raw_data"], policy=policy.default)
        for m in local_aws.sent_emails(aws)
    ]
    # Karen names us, Jonas does not: both are e-mailed; Emma's bare 1-star is not.
    assert sorted(m["To"] for m in sent) == ["jonas.berg@example.net", "karen.poulsen@example.net"]
    for message in sent:
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Vi så din offentlige anmeldelse på Trustpilot" in text
        assert "opslag på Trustpilot" not in text
