"""socialcare.batch: a poison message is reported, audited, and never quoted; the others
in its batch are handled.

Found by the end-to-end test: a batch holding only a malformed message made the batch
processor raise, and the raised error's traceback quoted the payload into the function log.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from socialcare import batch
from socialcare.batch import MentionRecord
from socialcare.errors import CrmError

SECRET = "leak.check@example.net"


def sqs_record(body: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "r",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1700000000000",
            "SenderId": "000000000000",
            "ApproximateFirstReceiveTimestamp": "1700000000000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:000000000000:mentions",
        "awsRegion": "eu-west-1",
    }


def mention(post_id: str) -> str:
    return json.dumps(
        {
            "source": "x",
            "post_id": post_id,
            "text": "nede",
            "created_at": datetime.now(UTC).isoformat(),
        }
    )


def audits(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [vars(r) for r in caplog.records if r.getMessage() == "record failed; back to the queue"]


def test_an_all_poison_batch_is_reported_not_raised_and_the_payload_not_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    poison = sqs_record('{"source": "x", "text": "' + SECRET)
    handled: list[Any] = []

    with caplog.at_level(logging.INFO):  # the deployed POWERTOOLS_LOG_LEVEL
        result = batch.process({"Records": [poison]}, MentionRecord, lambda r, c: handled.append(r))

    assert result == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    assert handled == []
    [audit] = audits(caplog)
    assert audit["message_id"] == poison["messageId"]
    assert audit["error"] == "ValidationError"
    everything = capsys.readouterr().out + "".join(repr(vars(r)) for r in caplog.records)
    assert SECRET not in everything


def test_only_the_failed_records_go_back_with_the_context_passed_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good, failing, poison = sqs_record(mention("1")), sqs_record(mention("2")), sqs_record("{")
    seen: list[tuple[str, Any]] = []

    def record_handler(record: MentionRecord, context: Any) -> None:
        seen.append((record.body.post_id, context))
        if record.body.post_id == "2":
            raise CrmError("CRM GET answered HTTP 503")

    with caplog.at_level(logging.INFO):
        result = batch.process(
            {"Records": [good, failing, poison]}, MentionRecord, record_handler, "ctx"
        )

    assert result["batchItemFailures"] == [
        {"itemIdentifier": failing["messageId"]},
        {"itemIdentifier": poison["messageId"]},
    ]
    assert seen == [("1", "ctx"), ("2", "ctx")]
    crm, bad = audits(caplog)
    assert (crm["error"], crm["detail"], crm["retryable"]) == (
        "CrmError",
        "CRM GET answered HTTP 503",
        True,
    )
    assert bad["error"] == "ValidationError" and bad["retryable"] is False


def test_then_gets_what_the_handler_returned_and_its_failures_go_back_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ok, later_fails, fails, none = (sqs_record(mention(p)) for p in ("1", "2", "3", "4"))
    given: list[dict[str, Any]] = []

    def record_handler(record: MentionRecord, context: Any) -> str | None:
        if record.body.post_id == "3":
            raise CrmError("CRM GET answered HTTP 503")
        return None if record.body.post_id == "4" else record.body.post_id

    def then(handled: dict[str, Any]) -> dict[str, Exception]:
        given.append(handled)
        return {later_fails["messageId"]: CrmError("SQS send failed")}

    with caplog.at_level(logging.INFO):
        result = batch.process(
            {"Records": [ok, later_fails, fails, none]}, MentionRecord, record_handler, then=then
        )

    assert given == [{ok["messageId"]: "1", later_fails["messageId"]: "2"}]
    assert result["batchItemFailures"] == [
        {"itemIdentifier": fails["messageId"]},
        {"itemIdentifier": later_fails["messageId"]},
    ]
    assert [a["message_id"] for a in audits(caplog)] == [
        fails["messageId"],
        later_fails["messageId"],
    ]
