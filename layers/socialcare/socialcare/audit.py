"""The audit trail: one structured line and a few low-cardinality metrics per decision."""

from __future__ import annotations

from socialcare.models import Decision, Reason
from socialcare.observability import count, logger


def record(decision: Decision, **extra: str) -> None:
    logger.info("decision", extra={**decision.model_dump(mode="json"), **extra})
    count("Decisions", source=decision.source, reason=decision.reason.value)
    if decision.reason is not Reason.CONTACT:
        count("Skipped", reason=decision.reason.value)
    # Topics are known once classified; count them for complaints only.
    if decision.topics and decision.reason not in _NOT_A_COMPLAINT:
        for topic in decision.topics:
            count("Complaints", topic=topic)
    if decision.customer_hash and decision.match:
        count("Matched", method=decision.match)


_NOT_A_COMPLAINT = {
    Reason.OWN_ACCOUNT,
    Reason.REPOST,
    Reason.DUPLICATE,
    Reason.STALE,
    Reason.NOT_COMPLAINT,
}
