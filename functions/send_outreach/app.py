"""SendOutreach: SQS batch of outreach requests -> at most one e-mail per person."""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from socialcare import wiring
from socialcare.batch import AuditedBatchProcessor, require_time
from socialcare.errors import MailDeferred
from socialcare.models import OutreachRequest
from socialcare.observability import count, logger, metrics
from socialcare.outreach.mailer import send_outreach


class OutreachRecord(SqsRecordModel):
    body: Json[OutreachRequest]


runtime = wiring.mailer_runtime()
processor = AuditedBatchProcessor(event_type=EventType.SQS, model=OutreachRecord)
# Idempotent on the business key (person, mention), never on the SQS message id; an
# agent's approval of the review copy is a request of its own (the same key otherwise).
idempotency = IdempotencyConfig(
    event_key_jmespath="approved && [customer_hash, mention_id, 'approved'] || "
    "[customer_hash, mention_id]",
    expires_after_seconds=7 * 86_400,
)
persistence = DynamoDBPersistenceLayer(
    table_name=runtime.settings.state_table,
    key_attr="pk",
    expiry_attr="expires_at",
    boto3_client=runtime.dynamodb,
)


# Records are keyed `idem#<hash>`: the prefix the mailer's IAM statement allows.
@idempotent_function(
    data_keyword_argument="request",
    config=idempotency,
    persistence_store=persistence,
    key_prefix="idem",
)
def deliver(request: OutreachRequest) -> dict[str, Any] | None:
    decision = send_outreach(request, runtime.deps, runtime.mode())
    return decision.model_dump(mode="json") if decision else None


# Being cut off between SES and our state write leaves an e-mail of unknown fate: start
# a send only with room for the SES call (connect + read timeouts) and the CRM record.
RECORD_BUDGET_S = 20


def record_handler(record: OutreachRecord, lambda_context: LambdaContext | None = None) -> None:
    require_time(lambda_context, RECORD_BUDGET_S)
    try:
        deliver(request=record.body)
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
    idempotency.register_lambda_context(context)
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=record_handler, processor=processor, context=context
    )
