"""SendOutreach: SQS batch of outreach requests -> at most one e-mail per person."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import batch, wiring
from socialcare.batch import OutreachRecord, require_time
from socialcare.errors import MailDeferred
from socialcare.observability import count, logger, metrics

runtime = wiring.mailer_runtime()

# Being cut off between SES and our state write leaves an e-mail of unknown fate: start
# a send only with room for the SES call (connect + read timeouts) and the CRM record.
RECORD_BUDGET_S = 20


def record_handler(record: OutreachRecord, lambda_context: LambdaContext | None = None) -> None:
    require_time(lambda_context, RECORD_BUDGET_S)
    try:
        runtime.deliver(request=record.body, lambda_context=lambda_context)
    except MailDeferred as exc:
        # Over the hourly cap or throttled by SES: a fresh, delayed copy waits its turn;
        # this one is done, so a long backlog never runs out of receives into the DLQ.
        again = record.body
        if exc.why == "throttled":
            again = again.model_copy(update={"throttled": again.throttled + 1})
        runtime.outreach_queue.send_all([again], delay_s=exc.retry_in_s)
        count("MailDeferred")
        logger.info(
            "deferred",
            extra={"mention_id": again.mention_id, "in_s": exc.retry_in_s, "why": exc.why},
        )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return batch.process(event, OutreachRecord, record_handler, context)
