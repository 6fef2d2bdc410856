"""Did the e-mails help? `OutreachOutcome`: once a day, of the customers e-mailed (live
mode) at least a week ago, how many opened a help-desk ticket or replied within 7 days
of the e-mail; `OutreachOutcomeMeasured` is the denominator.

The mailer leaves one entry per e-mail on OutcomeQueue (the CRM's customer id and the
send time: no post, name or address); MeasureOutcome drains it daily. An entry not yet a
week old, or one the CRM could not answer for, stays on the queue and comes back after
its visibility timeout (12 h), at the next run. Asked of the CRM through the port, so it
reads the help desk when one is configured. A ticket counts by its time in the CRM
(opened, or for Zendesk last changed) after the e-mail; our own notes never count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ValidationError

from socialcare.errors import CrmError
from socialcare.identity import policy
from socialcare.identity.ports import Crm
from socialcare.models import Interaction
from socialcare.observability import count, logger
from socialcare.ports import Inbox

WINDOW = timedelta(days=7)
MAX_ENTRIES = 5000  # a run's worth; the rest come at the next run
ANSWERS = frozenset({"ticket", "reply"})  # kinds that mean the customer came to us


class OutcomeEntry(BaseModel):
    mention_id: str  # duplicates (a retried mailer) are measured once
    customer_ref: str
    sent_at: AwareDatetime


@dataclass
class OutcomeDeps:
    inbox: Inbox
    crm: Crm
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def answered(items: list[Interaction], sent_at: datetime) -> bool:
    """A ticket opened, or a reply, in the week after the e-mail."""
    end = sent_at + WINDOW
    return any(
        sent_at < item.at <= end
        and item.kind != policy.OUR_KIND
        and (item.kind in ANSWERS or item.channel == "ticket")
        for item in items
    )


def measure(deps: OutcomeDeps) -> dict[str, int]:
    now = deps.now()
    received = deps.inbox.receive(MAX_ENTRIES)
    done: list[str] = []
    seen: set[str] = set()
    figures = {"measured": 0, "answered": 0, "waiting": 0, "unanswered_crm": 0, "unreadable": 0}
    for receipt, body in received:
        try:
            entry = OutcomeEntry.model_validate_json(body)
        except ValidationError:
            figures["unreadable"] += 1
            done.append(receipt)
            continue
        if entry.mention_id in seen:
            done.append(receipt)
            continue
        if now < entry.sent_at + WINDOW:
            figures["waiting"] += 1  # back after the visibility timeout
            continue
        try:
            items = deps.crm.interactions(entry.customer_ref, entry.sent_at)
        except CrmError:
            figures["unanswered_crm"] += 1  # the next run asks again
            continue
        seen.add(entry.mention_id)
        figures["measured"] += 1
        figures["answered"] += answered(items, entry.sent_at)
        done.append(receipt)
    deps.inbox.delete(done)
    count("OutreachOutcome", value=figures["answered"])
    count("OutreachOutcomeMeasured", value=figures["measured"])
    logger.info("outreach outcome measured", extra=figures)
    return figures
