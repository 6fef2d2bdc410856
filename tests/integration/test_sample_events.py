"""The sample events in events/ (also used with `sam local invoke`) drive the handlers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from socialcare import backoff
from socialcare_cli.local_aws import sent_emails
from socialcare_cli.template import Stack
from tests.conftest import context

EVENTS = Path(__file__).resolve().parents[2] / "events"


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def fresh(records: dict[str, Any]) -> dict[str, Any]:
    """Sample events carry a fixed date; move it to now so the post is not stale."""
    for record in records["Records"]:
        body = json.loads(record["body"])
        for key in ("created_at", "post_created_at"):
            if key in body:
                body[key] = datetime.now(UTC).isoformat()
        record["body"] = json.dumps(body)
    return records


def test_fetch_event(stack: Stack, handler: Any) -> None:
    report = handler("FetchMentionsFunction")(event("fetch_replay.json"), context())
    assert report["source"] == "replay" and report["fetched"] == 5


def test_triage_event_reports_the_malformed_record_only(stack: Stack, handler: Any) -> None:
    records = fresh(event("triage_sqs.json"))
    response = handler("TriageMentionsFunction")(records, context())
    assert response["batchItemFailures"] == [{"itemIdentifier": records["Records"][1]["messageId"]}]


def test_mailer_event_sends_one_email(stack: Stack, handler: Any, aws: str) -> None:
    response = handler("SendOutreachFunction")(fresh(event("mailer_sqs.json")), context())
    assert response["batchItemFailures"] == []
    assert [m["destinations"][0] for m in sent_emails(aws)] == ["mette.jensen@example.net"]


def test_review_event_asks_kms_and_refuses_a_link_not_sealed_here(
    stack: Stack, handler: Any
) -> None:
    """A GET of /approve as the Function URL delivers it: the token is decrypted (the cold
    path a real click takes) and, not being ours, answered with the 403 page."""
    response = handler("ReviewFunction")(event("review_confirm.json"), context())
    assert response["statusCode"] == 403
    assert response["headers"]["Content-Type"].startswith("text/html")
    assert "Linket virker ikke" in response["body"]


def test_a_mention_without_fetch_id_is_retried_not_called_duplicate(
    stack: Stack, handler: Any, crm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = fresh(event("triage_sqs.json"))
    body = json.loads(records["Records"][0]["body"])
    del body["fetch_id"]
    records["Records"] = [{**records["Records"][0], "body": json.dumps(body)}]
    directory, _ = crm
    directory.fail_next = [(503, {}, b'{"error": "down"}')] * 3  # the first try fails
    monkeypatch.setattr(backoff, "delay_s", lambda times, base_s=30: 0)
    triage = handler("TriageMentionsFunction")
    assert triage(records, context())["batchItemFailures"] == []  # waits on the queue
    sqs = boto3.client("sqs")
    (waiting,) = sqs.receive_message(QueueUrl=stack.physical["MentionsQueue"])["Messages"]
    assert json.loads(waiting["Body"])["fetch_id"] == records["Records"][0]["messageId"]
    assert triage(records, context())["batchItemFailures"] == []  # SQS redelivers it too
    copy = {**records["Records"][0], "messageId": waiting["MessageId"], "body": waiting["Body"]}
    assert triage({"Records": [copy]}, context())["batchItemFailures"] == []
    attrs = sqs.get_queue_attributes(
        QueueUrl=stack.physical["OutreachQueue"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"  # contact, not duplicate
