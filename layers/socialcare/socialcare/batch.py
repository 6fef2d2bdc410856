"""Powertools' BatchProcessor, plus one audit line per failed record.

A failed record goes back to its queue (partial batch failure) and, after its retries,
to the DLQ. The line says why, by error type; only our own typed errors add their
message, because others (e.g. validation errors) may quote the payload.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from socialcare.errors import RetryableError, SocialcareError
from socialcare.observability import count, logger


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
                "detail": str(error)[:300] if isinstance(error, SocialcareError) else "",
                "retryable": isinstance(error, RetryableError),
            },
        )
        count("RecordFailures", error=type(error).__name__)
        return super().failure_handler(record, exception)  # type: ignore[return-value]
