"""IncidentSwitch (SNS from the ops topic): a complaint-spike alarm entering ALARM turns
incident mode on for its topic; it expires by itself after INCIDENT_HOURS."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import wiring
from socialcare.observability import logger, metrics
from socialcare.operations import incident

runtime = wiring.incident_runtime()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, topics = runtime.settings, list[str]()
    for record in event["Records"]:  # SNS: one notification each
        now_on = incident.on_alarm(
            record["Sns"]["Message"],
            runtime.ssm,
            settings.incident_parameter,
            settings.incident_hours,
            runtime.status_url,
            settings.auto,
        )
        topics = now_on if now_on is not None else topics
    return {"incident_topics": topics}
