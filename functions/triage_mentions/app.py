"""TriageMentions: SQS batch of mentions -> one decision each, outreach requests queued."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import batch, wiring
from socialcare.batch import MentionRecord, lease_s, require_time
from socialcare.observability import logger, metrics
from socialcare.pipeline import Leased, begin, finish_batch

runtime = wiring.triage_runtime()

# A record may wait on the CRM several times (timeouts, retries with backoff).
RECORD_BUDGET_S = 10


def record_handler(
    record: MentionRecord, lambda_context: LambdaContext | None = None
) -> Leased | None:
    require_time(lambda_context, RECORD_BUDGET_S)
    mention = record.body
    if "fetch_id" not in mention.model_fields_set:
        # From another producer: the SQS message id is stable across redeliveries, so a
        # retry is not mistaken for a second fetch (duplicate).
        mention = mention.model_copy(update={"fetch_id": record.messageId})
    return begin(
        mention, runtime.deps, retry_queue=runtime.mentions_queue, lease_s=lease_s(lambda_context)
    )


def finish(decided: dict[str, Leased]) -> dict[str, Exception]:
    """The batch's requests and digest entries in one send per queue, then each marked done."""
    return finish_batch(decided, runtime.deps, runtime.outreach_queue)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return batch.process(event, MentionRecord, record_handler, context, then=finish)
