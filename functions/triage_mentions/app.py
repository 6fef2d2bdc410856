"""TriageMentions: SQS batch of mentions -> one decision each, outreach requests queued."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import batch, wiring
from socialcare.batch import MentionRecord, lease_s, require_time
from socialcare.observability import logger, metrics
from socialcare.pipeline import handle

runtime = wiring.triage_runtime()


# A record may wait on the CRM several times (timeouts, retries with backoff).
RECORD_BUDGET_S = 10


def record_handler(record: MentionRecord, lambda_context: LambdaContext | None = None) -> None:
    require_time(lambda_context, RECORD_BUDGET_S)
    mention = record.body
    if "fetch_id" not in mention.model_fields_set:
        # From another producer: the SQS message id is stable across redeliveries, so a
        # retry is not mistaken for a second fetch (duplicate).
        mention = mention.model_copy(update={"fetch_id": record.messageId})
    handle(
        mention,
        runtime.deps,
        runtime.outreach_queue,
        retry_queue=runtime.mentions_queue,
        lease_s=lease_s(lambda_context),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return batch.process(event, MentionRecord, record_handler, context)
