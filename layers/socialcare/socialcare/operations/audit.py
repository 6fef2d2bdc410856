"""The audit trail: one structured line and a few low-cardinality metrics per decision."""

from __future__ import annotations

from socialcare.models import Decision, Reason
from socialcare.observability import count, logger


def record(decision: Decision, **extra: str) -> None:
    logger.info("decision", extra={**decision.model_dump(mode="json"), **extra})
    source, reason = decision.source, decision.reason
    count("Decisions", source=source, reason=reason.value)  # skipped by reason, per source
    if reason in _DROPPED:
        count("Dropped", reason=reason.value)
    if reason in _NOT_A_COMPLAINT:
        return
    # The funnel: complaints by topic (the spike alarms) and by source (the dashboard).
    count("ComplaintsBySource", source=source)
    for topic in decision.topics or ["other"]:
        count("Complaints", topic=topic)
    if decision.customer_hash and decision.match:
        count("Matched", method=decision.match)
        count("MatchedBySource", source=source)


_DROPPED = {Reason.OWN_ACCOUNT, Reason.REPOST, Reason.DUPLICATE}
_NOT_A_COMPLAINT = {
    Reason.OWN_ACCOUNT,
    Reason.REPOST,
    Reason.DUPLICATE,
    Reason.STALE,
    Reason.NOT_COMPLAINT,
}
