"""The shadow digest: agents see what was decided, post by post, before a single customer
is written to (shadow mode) or while only a pilot audience is (ShadowDigest parameter).

Triage puts each decision on DigestQueue with the post's public link and, for a post it
read, its text; nothing about the author. The queue is encrypted and keeps a message at
most one digest period plus an hour, so no content waits longer than the next digest.
The scheduled SendDigest function drains it into one e-mail to the agents' mailbox, where
content may live: each decision with its link, reason, match method and topics, a signed
link to mark it wrong (feedback.py), and the posts as a labels.jsonl attachment that
`socialcare train --extra` reads once the agents have corrected it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError

from socialcare.brand import Brand
from socialcare.models import Reason
from socialcare.observability import count, logger
from socialcare.operations import feedback
from socialcare.operations.digest_entry import UNREAD, DigestEntry
from socialcare.operations.digest_entry import entry as entry  # re-exported
from socialcare.outreach.ports import Attachment, Email, Mailer
from socialcare.outreach.render import templates
from socialcare.ports import Inbox

MAX_ENTRIES = 2000  # per digest; the rest waits for the next (hourly suits high volume)
LABELS = "labels.jsonl"


class LabelRow(BaseModel):
    """One line of labels.jsonl: the row format `socialcare train --extra` reads."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    complaint: bool
    lang: str | None = None
    addressed: bool | None = None
    stars: int | None = None


def label(item: DigestEntry) -> LabelRow | None:
    """The classifier's verdict on a post it read, for the agents to correct; None else."""
    if item.decision.reason in UNREAD or not item.text:
        return None
    return LabelRow(
        id=item.decision.mention_id,
        text=item.text,
        complaint=item.decision.reason is not Reason.NOT_COMPLAINT,
        lang=item.decision.language or item.lang,
        addressed=item.addressed,
        stars=item.stars,
    )


def labels_jsonl(items: Sequence[DigestEntry]) -> bytes:
    rows = [row.model_dump(exclude_none=True) for item in items if (row := label(item))]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


@dataclass
class DigestDeps:
    inbox: Inbox
    mailer: Mailer
    brand: Brand
    sender: str
    to: str
    mark_wrong_url: str
    link_secret: str
    period: str = "daily"


def compose(items: Sequence[DigestEntry], deps: DigestDeps) -> Email:
    reasons = Counter(item.decision.reason.value for item in items)
    labels = labels_jsonl(items)
    context = {
        "brand": deps.brand,
        "period": deps.period,
        "reasons": sorted(reasons.items()),
        "rows": [
            (i, feedback.link(deps.mark_wrong_url, deps.link_secret, i.decision)) for i in items
        ],
        "labels": labels.count(b"\n"),
        "labels_file": LABELS,
    }
    env = templates()
    return Email(
        to=deps.to,
        sender=deps.sender,
        reply_to=deps.sender,
        subject=f"{deps.brand.name}: {len(items)} decisions, {reasons['contact']} to contact"
        f" ({deps.period} digest)",
        text=env.get_template("digest/digest.txt").render(context),
        html=env.get_template("digest/digest.html.j2").render(context),
        headers={"X-Socialcare-Digest": deps.period},
        tags={"kind": "digest"},
        attachments=(Attachment(LABELS, "application/x-ndjson", labels),),
    )


def _read(received: Sequence[tuple[str, str]]) -> tuple[list[DigestEntry], int]:
    """The entries, oldest first, each decision once (a redelivered triage may have put
    one twice); and how many bodies were unreadable."""
    items: dict[tuple[str, str], DigestEntry] = {}
    unreadable = 0
    for _, body in received:
        try:
            item = DigestEntry.model_validate_json(body)
        except ValidationError:
            unreadable += 1  # said by count only: the body may hold post text
            continue
        items.setdefault((item.decision.mention_id, item.decision.fetch_id), item)
    return sorted(items.values(), key=lambda i: i.decided_at), unreadable


def send_digest(deps: DigestDeps) -> dict[str, int]:
    """Drain the queue into one e-mail; the messages are deleted only once SES took it."""
    received = deps.inbox.receive(MAX_ENTRIES)
    receipts = [receipt for receipt, _ in received]
    items, unreadable = _read(received)
    if not items:
        deps.inbox.delete(receipts)  # the unreadable ones: they would only expire
        logger.info("digest: no decisions to send", extra={"unreadable": unreadable})
        return {"decisions": 0, "labels": 0, "unreadable": unreadable}
    email = compose(items, deps)
    try:
        deps.mailer.send(email)
    except Exception:
        deps.inbox.release(receipts)  # the schedule's retry, or the next digest, has them
        raise
    deps.inbox.delete(receipts)
    count("DigestDecisions", value=len(items))  # MarkedWrong's denominator; by reason: the line
    labels = email.attachments[0].data.count(b"\n")
    logger.info(
        "digest sent",
        extra={
            "decisions": len(items),
            "by_reason": dict(Counter(item.decision.reason.value for item in items)),
            "labels": labels,
            "unreadable": unreadable,
        },
    )
    return {"decisions": len(items), "labels": labels, "unreadable": unreadable}
