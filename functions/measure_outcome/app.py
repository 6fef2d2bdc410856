"""MeasureOutcome (daily schedule): of the customers e-mailed a week ago, how many opened a
help-desk ticket or replied (OutreachOutcome); the schedule's input is not read."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.operations.outcome import measure

deps = wiring.outcome_deps()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return measure(deps)
