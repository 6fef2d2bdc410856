"""Powertools' BatchProcessor, plus one audit line per failed record; the SQS records.

A failed record goes back to its queue (partial batch failure) and, after its retries,
to the DLQ. The line says why, by error type; only our own typed errors add their
message, because others (e.g. validation errors) may quote the payload.

Import order matters for cold starts: Powertools' batch utility imports every parser model
(~300 ms) when pydantic is already loaded, so it is imported here before pydantic, and
the record models are our own (Powertools' SqsRecordModel would import them all too).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from pydantic import BaseModel, ConfigDict, Json

from socialcare.errors import OutOfTime, RetryableError, SocialcareError, what_failed
from socialcare.models import Mention, OutreachRequest
from socialcare.observability import count, logger


class SqsRecord(BaseModel):
    """The fields of an SQS record the handlers read (Lambda's event has more)."""

    model_config = ConfigDict(extra="ignore")

    messageId: str  # SQS's own name: the batch processor reads it
    body: str


class MentionRecord(SqsRecord):
    body: Json[Mention]  # type: ignore[assignment]


class OutreachRecord(SqsRecord):
    body: Json[OutreachRequest]  # type: ignore[assignment]


class AuditedBatchProcessor(BatchProcessor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # An all-failed batch is reported like any other (every id in batchItemFailures)
        # instead of raised: the raised BatchProcessingError carries each record's
        # traceback into the function log, and a pydantic error there quotes the payload.
        kwargs.setdefault("raise_on_entire_batch_failure", False)
        super().__init__(*args, **kwargs)

    def failure_handler(self, record: Any, exception: Any) -> PartialItemFailureResponse:  # type: ignore[override]
        _, error, _ = exception
        logger.error(
            "record failed; back to the queue",
            extra={
                # A record that failed its model (a poison message) arrives unparsed.
                "message_id": getattr(record, "messageId", None)
                or getattr(record, "message_id", None),
                "error": type(error).__name__,
                # Our errors say what failed; others (pydantic's) would quote the post.
                "detail": str(error)[:300]
                if isinstance(error, SocialcareError)
                else what_failed(error),
                "retryable": isinstance(error, RetryableError),
            },
        )
        count("RecordFailures", error=type(error).__name__)
        return super().failure_handler(record, exception)  # type: ignore[return-value]


def require_time(context: Any, needed_s: float) -> None:
    """Start a record only if it can finish before the Lambda timeout; otherwise it goes
    back to the queue untouched (OutOfTime), instead of being cut off half-way."""
    left_ms = context.get_remaining_time_in_millis() if context is not None else None
    if left_ms is not None and left_ms < needed_s * 1000:
        raise OutOfTime(f"{left_ms} ms left; a record may need {needed_s:.0f} s")
