"""IncidentSwitch (SNS from the ops topic): a complaint-spike alarm entering ALARM turns
incident mode on for its topic; it expires by itself after INCIDENT_HOURS."""

from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.brand import load_brand
from socialcare.observability import logger, metrics
from socialcare.operations import incident
from socialcare.settings import IncidentSettings

settings = IncidentSettings.from_env()
status_url = load_brand().status_url
ssm = boto3.client("ssm")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_source(data_class=SNSEvent)
def handler(event: SNSEvent, context: LambdaContext) -> dict[str, Any]:
    topics: list[str] = []
    for record in event.records:
        now_on = incident.on_alarm(
            record.sns.message,
            ssm,
            settings.incident_parameter,
            settings.incident_hours,
            status_url,
            settings.auto,
        )
        topics = now_on if now_on is not None else topics
    return {"incident_topics": topics}
