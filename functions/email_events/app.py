"""EmailEvents (SNS): SES bounces and complaints add the address's hash to the opt-out
register, so nobody who bounced or marked us as spam is written to again."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import safejson, wiring
from socialcare.errors import BadInputError
from socialcare.observability import logger, metrics
from socialcare.outreach import optout

runtime = wiring.optout_runtime()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    registered = 0
    for record in event["Records"]:  # SNS: one notification each
        try:
            message: Any = safejson.loads(record["Sns"]["Message"])
        except ValueError as exc:
            raise BadInputError("SNS message from SES is not JSON") from exc
        if not isinstance(message, dict):
            raise BadInputError("SNS message from SES is not an object")
        registered += optout.ses_event(message, runtime.state, runtime.keys.hasher)
    return {"opted_out": registered}
