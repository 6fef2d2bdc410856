"""AuditedBatchProcessor: a poison message is reported, audited, and never quoted.

Found by the end-to-end test: a batch holding only a malformed message made Powertools
raise, and the raised error's traceback quoted the payload into the function log.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from socialcare.batch import AuditedBatchProcessor
from socialcare.models import Mention

SECRET = "leak.check@example.net"


class MentionRecord(SqsRecordModel):
    body: Json[Mention]


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


def test_an_all_poison_batch_is_reported_not_raised_and_the_payload_not_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    poison = sqs_record('{"source": "x", "text": "' + SECRET)
    processor = AuditedBatchProcessor(event_type=EventType.SQS, model=MentionRecord)
    handled: list[Any] = []

    with caplog.at_level(logging.INFO):  # the deployed POWERTOOLS_LOG_LEVEL
        result = process_partial_response(
            event={"Records": [poison]},
            record_handler=handled.append,
            processor=processor,
        )

    assert result == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    assert handled == []
    [audit] = [r for r in caplog.records if r.getMessage() == "record failed; back to the queue"]
    assert vars(audit)["message_id"] == poison["messageId"]
    assert vars(audit)["error"] == "ValidationError"
    everything = capsys.readouterr().out + "".join(repr(vars(r)) for r in caplog.records)
    assert SECRET not in everything
