"""SendDigest (schedule, ShadowDigest): drains DigestQueue into one e-mail to the agents'
mailbox; the schedule's input is not read."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.operations.digest import send_digest

runtime = wiring.digest_runtime()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return send_digest(runtime.deps)
