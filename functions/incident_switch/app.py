"""IncidentSwitch (SNS from the ops topic): a complaint-spike alarm entering ALARM turns
incident mode on for its topic; it expires by itself after INCIDENT_HOURS."""

import json
from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes import SNSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare import incident
from socialcare.brand import load_brand
from socialcare.observability import count, logger, metrics
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
        try:
            message = json.loads(record.sns.message)
        except ValueError:
            logger.warning("ignored a notification that is not an alarm (not JSON)")
            continue
        new = incident.from_alarm(message, settings.incident_hours, status_url)
        if new is None:
            continue
        if not settings.auto:
            logger.info(
                "complaint spike; automatic incident mode is off", extra={"topics": new.topics}
            )
            continue
        current = ssm.get_parameter(Name=settings.incident_parameter)["Parameter"]["Value"]
        merged = incident.merge(incident.parse(current), new)
        ssm.put_parameter(
            Name=settings.incident_parameter, Value=merged.to_json(), Type="String", Overwrite=True
        )
        count("IncidentDeclared", source="alarm")
        logger.info(
            "incident mode on",
            extra={"topics": merged.topics, "expires_at": str(merged.expires_at)},
        )
        topics = merged.topics
    return {"incident_topics": topics}
