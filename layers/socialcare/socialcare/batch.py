"""SQS batches with partial failures (ReportBatchItemFailures), one audit line per failure.

A failed record goes back to its queue (partial batch failure) and, after its retries,
to the DLQ; the others are done. The line says why, by error type; only our own typed
errors add their message, because others (e.g. validation errors) may quote the payload.
A batch in which every record failed is reported the same way, never raised: a raised
error's traceback would carry the payload into the function log.

By hand rather than Powertools' BatchProcessor: its module imports asyncio and every
Powertools event class, about a third of `import boto3` at each cold start (docs/bench.md),
for this loop. Records are validated by pydantic models of their own, as its parser did.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Json

from socialcare.errors import OutOfTime, RetryableError, SocialcareError, what_failed
from socialcare.models import Mention, OutreachRequest
from socialcare.observability import count, logger


class SqsRecord(BaseModel):
    """The fields of an SQS record the handlers read (Lambda's event has more)."""

    model_config = ConfigDict(extra="ignore")

    messageId: str  # SQS's own name
    body: str


class MentionRecord(SqsRecord):
    body: Json[Mention]  # type: ignore[assignment]


class OutreachRecord(SqsRecord):
    body: Json[OutreachRequest]  # type: ignore[assignment]


R = TypeVar("R", bound=SqsRecord)


def process(
    event: Mapping[str, Any],
    model: type[R],
    record_handler: Callable[[R, Any], Any],
    context: Any = None,
    *,
    then: Callable[[dict[str, Any]], Mapping[str, Exception]] | None = None,
) -> dict[str, Any]:
    """Validate and handle each record; Lambda's answer names the ones that failed.

    `then` finishes the batch as a whole: it gets what the handler returned for each
    record that did not fail (by message id, None left out) and answers the errors of
    those that failed there."""
    failures: list[dict[str, str]] = []
    handled: dict[str, Any] = {}
    for raw in event.get("Records", []):
        message_id = str(raw.get("messageId", ""))
        try:
            out = record_handler(model.model_validate(raw), context)
        except Exception as error:  # this record fails alone
            _fail(failures, message_id, error)
            continue
        if out is not None:
            handled[message_id] = out
    for message_id, failed in (then(handled) if then and handled else {}).items():
        _fail(failures, message_id, failed)
    return {"batchItemFailures": failures}


def _fail(failures: list[dict[str, str]], message_id: str, error: Exception) -> None:
    _audit(message_id, error)
    failures.append({"itemIdentifier": message_id})


def _audit(message_id: str, error: Exception) -> None:
    logger.error(
        "record failed; back to the queue",
        extra={
            "message_id": message_id,
            "error": type(error).__name__,
            # Our errors say what failed; others (pydantic's) would quote the post.
            "detail": str(error)[:300]
            if isinstance(error, SocialcareError)
            else what_failed(error),
            "retryable": isinstance(error, RetryableError),
        },
    )
    count("RecordFailures", error=type(error).__name__)


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
