"""Opt-out: the unsubscribe Function URL over real HTTP, and SES bounce/complaint events.
Both fill the register the mailer and triage read; it holds hashes only."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests

from socialcare.outreach.unsubscribe import make_token
from socialcare.wiring import derived_secret
from socialcare_cli import lambda_local, servers
from socialcare_cli.template import Stack
from tests.conftest import HASH_KEY, context
from tests.integration.test_sample_events import EVENTS

SECRET = derived_secret(HASH_KEY, "unsubscribe")
CUSTOMER_HASH = "8e4a6f318612ea65008e13abe3955cf6"


@pytest.fixture
def url(stack: Stack, handler: Any) -> Any:
    route = lambda_local.function_url_route(handler("UnsubscribeFunction"), "unsubscribe")
    with servers.serve(route) as base:
        yield base


def register(stack: Stack) -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    return sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("optout#"))


def test_get_shows_a_confirmation_page_and_changes_nothing(url: str, stack: Stack) -> None:
    response = requests.get(url, params={"token": make_token(SECRET, CUSTOMER_HASH)}, timeout=5)
    assert response.status_code == 200 and '<form method="post"' in response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert register(stack) == []


def test_one_click_post_records_the_hash_only(url: str, stack: Stack) -> None:
    token = make_token(SECRET, CUSTOMER_HASH)
    response = requests.post(
        url,
        params={"token": token},
        data="List-Unsubscribe=One-Click",
        timeout=5,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert register(stack) == [f"optout#{CUSTOMER_HASH}"]


@pytest.mark.parametrize("path", ["afmeld", "unsubscribe/"])
def test_a_path_on_the_company_domain_reaches_the_same_pages(
    url: str, stack: Stack, path: str
) -> None:
    # A proxy on the company's domain (CloudFront, nginx) forwards its own path unchanged.
    token = make_token(SECRET, CUSTOMER_HASH)
    page = requests.get(f"{url}/{path}", params={"token": token}, timeout=5)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert requests.get(f"{url}/{path}", timeout=5).status_code == 400  # no token: refused
    done = requests.post(f"{url}/{path}", params={"token": token}, timeout=5)
    assert done.status_code == 200 and register(stack) == [f"optout#{CUSTOMER_HASH}"]


def test_the_confirmation_form_posts_the_token(url: str, stack: Stack) -> None:
    token = make_token(SECRET, CUSTOMER_HASH)
    response = requests.post(url, data={"token": token}, timeout=5)
    assert response.status_code == 200 and register(stack) == [f"optout#{CUSTOMER_HASH}"]


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (make_token("someone-elses-secret-key", CUSTOMER_HASH), 403),  # forged
        (make_token(SECRET, CUSTOMER_HASH).replace(CUSTOMER_HASH, "0" * 32), 403),  # altered
        (make_token(SECRET, CUSTOMER_HASH, ttl_s=-10), 403),  # expired
        ("garbage", 400),
        ("", 400),
        ("é.1.é", 400),  # a TypeError in compare_digest before: a 5xx that paged on-call
        ("ø" * 5000, 400),
    ],
)
def test_bad_tokens_are_refused_and_change_nothing(
    url: str, stack: Stack, token: str, status: int
) -> None:
    for method in (requests.get, requests.post):
        response = method(url, params={"token": token}, timeout=5)
        assert response.status_code == status
    assert register(stack) == []


def test_opted_out_customer_gets_no_email(stack: Stack, handler: Any, url: str, aws: str) -> None:
    from socialcare.hashing import Hasher
    from socialcare_cli.local_aws import sent_emails

    customer_hash = Hasher(derived_secret(HASH_KEY, "hash")).person("C-1001")
    requests.post(url, params={"token": make_token(SECRET, customer_hash)}, timeout=5)
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    logical, _ = stack.sqs_event("TriageMentionsFunction")
    lambda_local.poll(
        stack.physical[logical],
        stack.attributes[(logical, "Arn")],
        handler("TriageMentionsFunction"),
        function_name="t",
    )
    logical, _ = stack.sqs_event("SendOutreachFunction")
    lambda_local.poll(
        stack.physical[logical],
        stack.attributes[(logical, "Arn")],
        handler("SendOutreachFunction"),
        function_name="m",
    )
    recipients = {m["destinations"][0] for m in sent_emails(aws)}
    assert "mette.jensen@example.net" not in recipients and recipients


def sns_event(message: dict[str, Any]) -> dict[str, Any]:
    """events/email_events_sns.json with another SES event as its message."""
    event = json.loads((EVENTS / "email_events_sns.json").read_text())
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def test_sample_sns_event_registers_the_bounce(stack: Stack, handler: Any) -> None:
    event = json.loads((EVENTS / "email_events_sns.json").read_text())
    assert handler("EmailEventsFunction")(event, context()) == {"opted_out": 1}


@pytest.mark.parametrize(
    ("message", "registered"),
    [
        (
            {
                "eventType": "Bounce",
                "bounce": {
                    "bounceType": "Permanent",
                    "bouncedRecipients": [{"emailAddress": "gone@example.net"}],
                },
            },
            1,
        ),
        (
            {
                "eventType": "Bounce",
                "bounce": {
                    "bounceType": "Transient",
                    "bouncedRecipients": [{"emailAddress": "full@example.net"}],
                },
            },
            0,
        ),
        (
            {
                "eventType": "Complaint",
                "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.net"}]},
            },
            1,
        ),
        ({"eventType": "Delivery", "delivery": {"recipients": ["ok@example.net"]}}, 0),
    ],
)
def test_bounces_and_complaints_fill_the_register(
    stack: Stack, handler: Any, message: dict[str, Any], registered: int
) -> None:
    result = handler("EmailEventsFunction")(sns_event({**message, "mail": {}}), context())
    assert result == {"opted_out": registered}
    keys = register(stack)
    assert len(keys) == registered
    assert not any("@" in k for k in keys)


def test_a_bounced_address_is_never_written_to_again(stack: Stack, handler: Any, aws: str) -> None:
    from socialcare_cli.local_aws import sent_emails

    bounce = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "Emma.Wilson@example.net"}],
        },
    }
    handler("EmailEventsFunction")(sns_event(bounce), context())
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    for function in ("TriageMentionsFunction", "SendOutreachFunction"):
        logical, _ = stack.sqs_event(function)
        lambda_local.poll(
            stack.physical[logical],
            stack.attributes[(logical, "Arn")],
            handler(function),
            function_name=function,
        )
    recipients = {m["destinations"][0] for m in sent_emails(aws)}
    assert "emma.wilson@example.net" not in recipients and len(recipients) == 2


def test_a_bounce_then_a_complaint_then_the_link_all_keep_one_opt_out(
    stack: Stack, handler: Any, url: str
) -> None:
    address = "twice@example.net"
    bounce = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]},
    }
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": address}]},
    }
    events = handler("EmailEventsFunction")
    assert events(sns_event({**bounce, "mail": {}}), context()) == {"opted_out": 1}
    # The key is held by "bounce" now; the complaint must not fail (and go to the DLQ).
    assert events(sns_event({**complaint, "mail": {}}), context()) == {"opted_out": 1}
    for _ in range(2):
        token = make_token(SECRET, CUSTOMER_HASH)
        assert requests.post(url, data={"token": token}, timeout=5).status_code == 200
    items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    reasons = sorted(i["reason"]["S"] for i in items if i["pk"]["S"].startswith("optout#"))
    assert reasons == ["bounce", "unsubscribe"]


def test_a_binary_form_body_is_refused_not_a_crash(url: str, stack: Stack) -> None:
    binary = {"Content-Type": "application/octet-stream"}
    response = requests.post(url, data=b"\xff\xfetoken=\x80", headers=binary, timeout=5)
    assert response.status_code == 400 and register(stack) == []  # was UnicodeDecodeError
