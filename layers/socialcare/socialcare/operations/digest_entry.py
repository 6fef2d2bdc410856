"""A decision as the shadow digest shows it (digest.py): what triage puts on DigestQueue.

Apart from the digest's composing (templates, links, SES), so triage loads only this.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from socialcare.models import Decision, Mention, Reason

# Decided before the post was read: no text travels, no label is written.
UNREAD = frozenset({Reason.OWN_ACCOUNT, Reason.REPOST, Reason.DUPLICATE, Reason.STALE})


class DigestEntry(BaseModel):
    """One decision as the agents see it. Carries post text: only on DigestQueue."""

    model_config = ConfigDict(extra="ignore")

    decision: Decision
    decided_at: datetime
    url: str | None = None
    text: str = ""
    lang: str | None = None
    addressed: bool = False
    stars: int | None = None


def entry(mention: Mention, decision: Decision, now: datetime | None = None) -> DigestEntry:
    read = decision.reason not in UNREAD
    return DigestEntry(
        decision=decision,
        decided_at=now or datetime.now(UTC),
        url=mention.url,
        text=mention.text if read else "",
        lang=mention.lang,
        addressed=mention.addressed,
        stars=mention.stars,
    )
