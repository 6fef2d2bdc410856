"""The audit trail: one structured line and a few bounded metrics per decision.

The line carries source, reason, stage and topics: the dashboard's per-source funnel
and skips by reason are Logs Insights queries over it. The metrics are the funnel's
totals and what the alarms watch (complaints by topic), so their series stay few.
"""

from __future__ import annotations

from socialcare.models import Decision, Reason
from socialcare.observability import count, logger


def record(decision: Decision, **extra: str) -> None:
    logger.info("decision", extra={**decision.model_dump(mode="json"), **extra})
    reason = decision.reason
    if reason is not Reason.CONTACT:
        count("Skipped")
    if reason in _NOT_A_COMPLAINT:
        return
    count("Complained")
    for topic in decision.topics:
        count("Complaints", topic=topic)  # the spike alarms, one per topic
    if decision.customer_hash and decision.match:
        count("Matched")


_NOT_A_COMPLAINT = {
    Reason.OWN_ACCOUNT,
    Reason.REPOST,
    Reason.DUPLICATE,
    Reason.STALE,
    Reason.NOT_COMPLAINT,
}
