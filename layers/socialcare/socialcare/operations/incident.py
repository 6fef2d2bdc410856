"""Incident mode: during an outage, complaints about the affected topics get a status page,
not hundreds of individual e-mails.

The switch is one SSM parameter holding JSON: {"topics": [...], "status_url": "...",
"expires_at": "<ISO time>", "set_by": "..."}. It expires by itself; an operator sets or
clears it with `socialcare incident on|off`, and the complaint-spike alarm can set it
through the IncidentSwitch function.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from socialcare import safejson
from socialcare.observability import logger

OFF = '{"topics": []}'


class Incident(BaseModel):
    topics: list[str] = Field(default_factory=list)
    status_url: str = ""
    expires_at: datetime | None = None
    set_by: str = ""

    def active_topics(self, now: datetime) -> frozenset[str]:
        if not self.topics or self.expires_at is None or self.expires_at <= now:
            return frozenset()
        return frozenset(self.topics)

    def to_json(self) -> str:
        return self.model_dump_json()


def parse(value: str) -> Incident:
    try:
        return Incident.model_validate(json.loads(value or OFF))
    except (ValueError, ValidationError):
        # A garbled switch must not stop triage; it counts as off and is reported.
        logger.warning("incident parameter is not valid JSON of the expected shape")
        return Incident()


def declare(
    topics: list[str], hours: float, status_url: str, set_by: str, now: datetime | None = None
) -> Incident:
    now = now or datetime.now(UTC)
    return Incident(
        topics=sorted(set(topics)),
        status_url=status_url,
        expires_at=now + timedelta(hours=hours),
        set_by=set_by,
    )


class IncidentSwitch:
    """Reads the parameter through a Powertools provider, cached for a minute."""

    def __init__(self, provider: Any, name: str, max_age_s: int = 60) -> None:
        self._provider, self._name, self._max_age = provider, name, max_age_s

    def topics(self, now: datetime | None = None) -> frozenset[str]:
        if not self._name:
            return frozenset()
        incident = parse(str(self._provider.get(self._name, max_age=self._max_age)))
        return incident.active_topics(now or datetime.now(UTC))


def from_alarm(message: dict[str, Any], hours: float, status_url: str) -> Incident | None:
    """An Incident for a CloudWatch alarm notification entering ALARM on a topic's
    complaint spike; None for anything else (OK, INSUFFICIENT_DATA, other alarms)."""
    if message.get("NewStateValue") != "ALARM":
        return None
    trigger = message.get("Trigger") or {}
    dimensions = list(trigger.get("Dimensions") or [])
    for metric in trigger.get("Metrics") or []:  # anomaly-band alarms use metric math
        stat = (metric.get("MetricStat") or {}).get("Metric") or {}
        dimensions += stat.get("Dimensions") or []
    topics = [d.get("value") for d in dimensions if d.get("name") == "topic" and d.get("value")]
    if not topics:
        return None
    return declare(topics, hours, status_url, set_by=f"alarm:{message.get('AlarmName', '?')}")


def merge(current: Incident, new: Incident, now: datetime | None = None) -> Incident:
    """Add `new` to a still-active incident: union of topics, the later expiry."""
    now = now or datetime.now(UTC)
    if not current.active_topics(now):
        return new
    assert current.expires_at is not None and new.expires_at is not None
    return Incident(
        topics=sorted(set(current.topics) | set(new.topics)),
        status_url=current.status_url or new.status_url,
        expires_at=max(current.expires_at, new.expires_at),
        set_by=f"{current.set_by}+{new.set_by}",
    )


def on_alarm(
    message_text: str, ssm: Any, parameter: str, hours: float, status_url: str, auto: bool
) -> list[str] | None:
    """One ops-topic notification: a complaint spike entering ALARM merges its topic into
    the incident parameter. Returns the topics now in incident mode, or None if unchanged."""
    try:
        message = safejson.loads(message_text)
    except ValueError:
        logger.warning("ignored a notification that is not an alarm (not JSON)")
        return None
    new = from_alarm(message, hours, status_url)
    if new is None:
        return None
    if not auto:
        logger.info("complaint spike; automatic incident mode is off", extra={"topics": new.topics})
        return None
    current = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    merged = merge(parse(current), new)
    ssm.put_parameter(Name=parameter, Value=merged.to_json(), Type="String", Overwrite=True)
    logger.info(
        "incident mode on", extra={"topics": merged.topics, "expires_at": str(merged.expires_at)}
    )
    return merged.topics
