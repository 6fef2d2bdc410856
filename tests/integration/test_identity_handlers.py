"""Identity and contact policy inside the deployed functions: TriageMentions and
SendOutreach imported as Lambda imports them, on moto's server, with the CRM contract
server over HTTP (tests/data/crm.json)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from email import message_from_string, policy
from typing import Any

import boto3
import pytest

from socialcare import backoff
from socialcare.adapters.dynamodb import DynamoState
from socialcare.hashing import Hasher
from socialcare.identity.policy import optout_key, person_key
from socialcare.wiring import derived_secret
from socialcare_cli import lambda_local, local_aws
from socialcare_cli.demo import LogCapture
from socialcare_cli.template import Stack
from tests.conftest import HASH_KEY

COMPLAINT = "@lynetbredbaand internettet er nede igen og routeren virker ikke"


def send(stack: Stack, *mentions: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    for i, fields in enumerate(mentions):
        body = {
            "source": "x",
            "post_id": f"p{i}",
            "fetch_id": f"fetch-{i}",  # set once by the fetcher; a redelivery keeps it
            "text": COMPLAINT,
            "created_at": datetime.now(UTC).isoformat(),
            **fields,
        }
        sqs.send_message(QueueUrl=stack.physical["MentionsQueue"], MessageBody=json.dumps(body))


def run(
    stack: Stack, function: str, handler: Any, max_batches: int = 100
) -> tuple[lambda_local.PollStats, list[dict[str, Any]]]:
    logical, props = stack.sqs_event(function)
    capture = LogCapture()
    with capture.active():
        stats = lambda_local.poll(
            stack.physical[logical],
            stack.attributes[(logical, "Arn")],
            handler,
            function_name=function,
            batch_size=props["BatchSize"],
            max_batches=max_batches,
        )
    LOGGED.append(capture.buffer.getvalue())
    return stats, [line for line in capture.lines() if line.get("message") == "decision"]


LOGGED: list[str] = []  # everything the functions printed in this module's tests


def person(customer_id: str) -> str:
    return Hasher(derived_secret(HASH_KEY, "hash")).person(customer_id)


def test_opt_out_and_the_mailers_person_key_are_read_never_claimed_by_triage(
    stack: Stack, handler: Any
) -> None:
    state = DynamoState(boto3.client("dynamodb"), stack.physical["StateTable"])
    state.claim(optout_key(person("C-1001")), "unsubscribe", 3600)  # Mette opted out
    state.claim(person_key(person("C-1015")), "earlier-mention", 3600)  # Emma: mailer's key
    send(
        stack,
        {"handle": "mettejensen"},
        {"handle": "emmawilson"},
        {"handle": "oliver.bsky.social", "source": "bluesky"},
    )
    stats, decisions = run(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    assert stats.failures == 0
    assert sorted(d["reason"] for d in decisions) == ["contact", "opted_out", "recently_contacted"]
    assert state.holder(person_key(person("C-1002"))) is None  # triage only reads the key


def test_name_match_in_review_mode_goes_to_the_agents(stack: Stack, handler: Any, aws: str) -> None:
    # Karen Poulsen (Odense) has no linked handle: only her name and city identify her.
    karen = {"handle": "kpoulsen", "display_name": "Karen Poulsen", "location": "Odense"}
    send(stack, {**karen, "post_id": "k1"})
    _, off = run(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    assert [(d["reason"], d.get("match")) for d in off] == [("no_customer_match", None)]

    send(stack, {**karen, "post_id": "k2"})
    triage = handler("TriageMentionsFunction", NAME_MATCHING="review")
    _, decided = run(stack, "TriageMentionsFunction", triage)
    assert [(d["reason"], d.get("match")) for d in decided] == [("contact", "name")]
    mailer = handler("SendOutreachFunction", NAME_MATCHING="review")  # stack mode is live
    stats, mailed = run(stack, "SendOutreachFunction", mailer)
    assert stats.failures == 0 and [d["reason"] for d in mailed] == ["contact"]
    (raw,) = local_aws.sent_emails(aws)
    email = message_from_string(raw["raw_data"], policy=policy.default)
    assert email["To"] == "agents@lynet.example"
    assert email["X-Socialcare-Review"] == "1"
    body = email.get_body(preferencelist=("plain",))
    assert body is not None and "matched by name" in body.get_content()
    # The name, handle and place that identified her are nowhere in the logs or metrics.
    printed = "".join(LOGGED).lower()
    assert "decision" in printed
    for secret in ("karen", "poulsen", "kpoulsen", "odense", "example.net"):
        assert secret not in printed, secret


@pytest.mark.parametrize(
    ("failure", "env", "tries"),
    [
        ({"fail_next": [(429, {"Retry-After": "0"}, b'{"error": "slow down"}')] * 50}, {}, 3),
        ({"fail_next": [(500, {}, b'{"error": "boom"}')] * 50}, {}, 3),
        ({"delay_s": 0.3}, {"HTTP_TIMEOUT_S": "0.05"}, 3),
        # JSON nested 50,000 deep: a RecursionError escaped the typed errors before
        ({"fail_next": [(200, {}, b"[" * 50_000 + b"]" * 50_000)] * 50}, {}, 1),
    ],
    ids=["429", "5xx", "timeout", "deep-json"],
)
def test_crm_failure_waits_on_the_queue_never_no_match(
    stack: Stack,
    handler: Any,
    crm: Any,
    failure: dict[str, Any],
    env: dict[str, str],
    tries: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backoff, "delay_s", lambda times, base_s=30: 1)  # not 15-30 s
    directory, _ = crm
    triage = handler("TriageMentionsFunction", **env)
    # nobody has this handle: once the CRM answers, the answer is "no customer match"
    send(stack, {"handle": "nobody_here", "display_name": "No Body"})
    for name, value in failure.items():
        setattr(directory, name, value)
    stats, decisions = run(stack, "TriageMentionsFunction", triage, max_batches=1)
    assert stats.failures == 0 and decisions == []  # waiting on the queue, nothing decided
    assert directory.calls >= tries  # retried first (a 200 is an answer: not retried)
    directory.fail_next, directory.delay_s = [], 0.0
    time.sleep(1.1)  # the delayed copy becomes visible
    stats, decisions = run(stack, "TriageMentionsFunction", triage)
    assert stats.failures == 0
    assert [d["reason"] for d in decisions] == ["no_customer_match"]


def test_incident_hook_skips_the_declared_topics(stack: Stack, crm: Any) -> None:
    module, triage = lambda_local.load_handler(
        stack, "TriageMentionsFunction", {"HTTP_BACKOFF_S": "0.01"}
    )
    module.runtime.deps.incident_topics = frozenset({"outage"})  # the operations issue sets it
    send(stack, {"handle": "mettejensen"})
    _, decisions = run(stack, "TriageMentionsFunction", triage)
    assert [d["reason"] for d in decisions] == ["incident_mode"]
