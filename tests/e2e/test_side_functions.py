"""The deployed stack's other four functions, each through the path AWS uses to call it:
ReceiveWebhook and Unsubscribe through their Function URLs (real HTTP), EmailEvents
through the SES events topic, IncidentSwitch through the ops topic (SNS -> Lambda
subscriptions as the template declares them). Runs after test_deployed_stack.py (file
order), so the pipeline tests see only their own mentions.

Emulator gaps: CloudWatch evaluates no alarm and SES publishes no event here, so the test
publishes the notifications CloudWatch and SES would send (same shapes as
tests/integration) to the deployed topics; the topics' KMS key policy is not enforced.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from socialcare.identity.policy import address_optout_key, optout_key
from socialcare.operations import incident
from socialcare.outreach.unsubscribe import make_token
from socialcare.wiring import derived_secret
from socialcare_cli.demo import alarm_notification
from socialcare_cli.template import Stack, load_template
from tests.conftest import HASH_KEY, load_json
from tests.e2e import emulator
from tests.e2e.conftest import META_SECRET, STACK, Deployed
from tests.integration import push_cases as push

pytestmark = pytest.mark.e2e
WAIT_S = 60


def state_item(stack: Deployed, key: str) -> dict[str, Any] | None:
    got = stack.client("dynamodb").get_item(
        TableName=stack.resources["StateTable"], Key={"pk": {"S": key}}, ConsistentRead=True
    )
    return got.get("Item")


def signed(body: bytes, secret: str = META_SECRET["app_secret"]) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def page_post(post_id: str) -> bytes:
    """A Page `feed` notification (tests/data) about a new post, written just now."""
    body = load_json("platforms/facebook/webhook-feed-status.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["post_id"] = f"{body['entry'][0]['id']}_{post_id}"
    value["created_time"] = body["entry"][0]["time"] = int(time.time())
    return json.dumps(body).encode()


def triage_reasons(stack: Deployed, mention_id: str) -> list[str]:
    return [
        r["reason"]
        for r in stack.records("TriageMentionsFunction", "decision")
        if r["mention_id"] == mention_id
    ]


def test_webhook_handshake_and_signed_notifications_reach_triage(deployed: Deployed) -> None:
    url = deployed.function_url("WebhookUrl")
    handshake = {"hub.mode": "subscribe", "hub.challenge": "4711"}
    ok = requests.get(url, params={**handshake, "hub.verify_token": "e2e-verify"}, timeout=30)
    assert (ok.status_code, ok.text) == (200, "4711")
    wrong = requests.get(url, params={**handshake, "hub.verify_token": "guess"}, timeout=30)
    assert wrong.status_code == 403

    forged_id, good_id = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    forged = page_post(forged_id)
    refused = [
        requests.post(url, data=forged, headers=signed(forged, "not-the-secret"), timeout=30),
        requests.post(url, data=forged, headers={"Content-Type": "application/json"}, timeout=30),
        requests.post(url, data=forged + b" ", headers=signed(forged), timeout=30),  # altered
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    good = page_post(good_id)
    assert requests.post(url, data=good, headers=signed(good), timeout=30).status_code == 200

    page = json.loads(good)["entry"][0]["id"]
    mention = deployed.hasher.mention(f"facebook:{page}_{good_id}")
    reasons = emulator.wait_for(
        lambda: triage_reasons(deployed, mention),
        WAIT_S,
        "triage of the webhook's mention",
        explain=deployed.explain,
    )
    # A complaint (phone queue, no internet) by an author the CRM does not know.
    assert reasons == ["no_customer_match"]
    assert triage_reasons(deployed, deployed.hasher.mention(f"facebook:{page}_{forged_id}")) == []
    value = json.loads(good)["entry"][0]["changes"][0]["value"]
    clear = {value["from"]["name"], value["message"], value["message"][:20]}
    written = deployed.log_lines("ReceiveWebhookFunction") + deployed.log_lines(
        "TriageMentionsFunction"
    )
    assert written and not [c for c in clear for line in written if c in line]


def test_the_push_routes_are_reached_and_check_before_reading(deployed: Deployed) -> None:
    """Trustpilot's, Threads' and Google's routes on the same Function URL: each refuses
    what fails its check (401) and answers what passes it, without reading anything back
    (acknowledged events only: the platforms' APIs are not reachable from here)."""
    base = deployed.function_url("WebhookUrl")
    deleted = json.dumps(
        {"events": [{"eventName": "service-review-deleted", "eventData": {"id": "1" * 24}}]}
    ).encode()
    json_type = {"Content-Type": "application/json"}
    trustpilot = f"{base}trustpilot/"
    assert requests.post(trustpilot + "guess", data=deleted, timeout=30).status_code == 401
    right = requests.post(trustpilot + push.TP_TOKENS[1], data=deleted, timeout=30)
    assert right.status_code == 200, right.text  # the previous secret, while rotating
    not_json = requests.post(trustpilot + push.TP_TOKENS[0], data=b"{", timeout=30)
    assert not_json.status_code == 400

    threads, app_secret = f"{base}threads", push.THREADS_SECRET["app_secret"]
    challenge = {"hub.mode": "subscribe", "hub.challenge": "815"}
    verify = push.THREADS_SECRET["verify_token"]
    ok = requests.get(threads, params={**challenge, "hub.verify_token": verify}, timeout=30)
    assert (ok.status_code, ok.text) == (200, "815")
    ours = json.dumps({"values": {"field": "publish", "value": {"id": "1"}}}).encode()
    assert requests.post(threads, data=ours, headers=json_type, timeout=30).status_code == 401
    forged = signed(ours, "not-the-secret")
    assert requests.post(threads, data=ours, headers=forged, timeout=30).status_code == 401
    signed_ok = requests.post(threads, data=ours, headers=signed(ours, app_secret), timeout=30)
    assert signed_ok.status_code == 200, signed_ok.text  # our own post: ignored

    google = f"{base}google"
    for bearer in (None, "not.a.token", "Basic e2e"):
        headers = {**json_type, **({"Authorization": bearer} if bearer else {})}
        assert requests.post(google, data=b"{}", headers=headers, timeout=30).status_code == 401
    assert requests.post(f"{base}tiktok", data=b"{}", timeout=30).status_code == 404


def test_unsubscribe_link_confirms_on_get_and_opts_out_on_post(deployed: Deployed) -> None:
    url = deployed.function_url("UnsubscribeUrl")
    customer_hash = deployed.hasher.person(f"C-e2e-{uuid.uuid4().hex[:6]}")
    token = make_token(derived_secret(HASH_KEY, "unsubscribe"), customer_hash)

    page = requests.get(url, params={"token": token}, timeout=30)
    assert page.status_code == 200 and "<form" in page.text
    assert state_item(deployed, optout_key(customer_hash)) is None  # GET changes nothing

    altered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert requests.post(url, data={"token": altered}, timeout=30).status_code in (400, 403)
    assert state_item(deployed, optout_key(customer_hash)) is None

    # RFC 8058 one-click: a POST to the link itself.
    assert requests.post(url, params={"token": token}, timeout=30).status_code == 200
    item = state_item(deployed, optout_key(customer_hash))
    assert item and item["owner"]["S"] == "unsubscribe"


def test_a_bounce_published_to_the_ses_events_topic_opts_the_address_out(
    deployed: Deployed,
) -> None:
    address = f"bounced-{uuid.uuid4().hex[:8]}@example.net"
    event = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]},
        "mail": {"destination": [address], "messageId": "e2e"},
    }
    deployed.client("sns").publish(
        TopicArn=deployed.resources["EmailEventsTopic"], Message=json.dumps(event)
    )
    key = address_optout_key(deployed.hasher.address(address))
    item = emulator.wait_for(
        lambda: state_item(deployed, key),
        WAIT_S,
        "the bounce in the opt-out register",
        explain=deployed.explain,
    )
    assert item["owner"]["S"] == "bounce"
    assert not any(address in line for line in deployed.log_lines("EmailEventsFunction"))


def test_a_complaint_spike_alarm_on_the_ops_topic_turns_incident_mode_on(
    deployed: Deployed,
) -> None:
    ssm, name = deployed.client("ssm"), f"/{STACK}/incident"
    message = alarm_notification(Stack(load_template()), "outage")
    try:
        deployed.client("sns").publish(
            TopicArn=deployed.resources["OpsTopic"], Message=json.dumps(message)
        )

        def active() -> frozenset[str]:
            value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            return incident.parse(value).active_topics(datetime.now(UTC))

        assert emulator.wait_for(
            active, WAIT_S, "incident mode on for outage", explain=deployed.explain
        ) == {"outage"}
    finally:
        ssm.put_parameter(Name=name, Value=incident.OFF, Type="String", Overwrite=True)
