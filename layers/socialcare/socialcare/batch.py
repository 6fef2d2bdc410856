"""Powertools' BatchProcessor, plus one audit line per failed record.

A failed record goes back to its queue (partial batch failure) and, after its retries,
to the DLQ. The line says why, by error type; only our own typed errors add their
message, because others (e.g. validation errors) may quote the payload.
"""

from __future__ import annotations

import math
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from socialcare.errors import OutOfTime, RetryableError, SocialcareError, what_failed
from socialcare.observability import count, logger, metric_scope


class AuditedBatchProcessor(BatchProcessor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # An all-failed batch is reported like any other (every id in batchItemFailures)
        # instead of raised: the raised BatchProcessingError carries each record's
        # traceback into the function log, and a pydantic error there quotes the payload.
        kwargs.setdefault("raise_on_entire_batch_failure", False)
        super().__init__(*args, **kwargs)

    def _process_record(self, record: dict[str, Any]) -> Any:
        with metric_scope():  # one EMF blob per record, its failure count included
            return super()._process_record(record)

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
        count("RecordFailures")  # the error type is in the line above: unbounded as a dimension
        return super().failure_handler(record, exception)  # type: ignore[return-value]


def lease_s(context: Any, default_s: int = 60) -> int:
    """How long a record's work may still run: the rest of the invocation (Lambda stops
    it at the timeout), so a lease of this length outlives any attempt that holds it."""
    if context is None:
        return default_s
    return max(1, math.ceil(context.get_remaining_time_in_millis() / 1000))


def require_time(context: Any, needed_s: float) -> None:
    """Start a record only if it can finish before the Lambda timeout; otherwise it goes
    back to the queue untouched (OutOfTime), instead of being cut off half-way."""
    left_ms = context.get_remaining_time_in_millis() if context is not None else None
    if left_ms is not None and left_ms < needed_s * 1000:
        raise OutOfTime(f"{left_ms} ms left; a record may need {needed_s:.0f} s")
