"""OutreachOutcome (operations/outcome.py): a week after each live e-mail, whether the
customer opened a ticket or replied; entries not yet due, or that the CRM could not
answer for, stay on the queue; duplicates and unreadable entries are dropped once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialcare.errors import CrmError
from socialcare.models import Interaction
from socialcare.operations.outcome import OutcomeDeps, OutcomeEntry, answered, measure
from tests.unit.test_digest import Inbox

SENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def item(kind: str, days: float, channel: str = "email") -> Interaction:
    return Interaction(channel=channel, kind=kind, at=SENT + timedelta(days=days))


def test_a_ticket_or_a_reply_in_the_week_after_counts_and_nothing_else_does() -> None:
    assert answered([item("ticket", 2, "ticket")], SENT)
    assert answered([item("reply", 6.9)], SENT)
    assert answered([item("ticket", 1, "phone")], SENT)  # a ticket by phone
    assert not answered([item("ticket", 7.5, "ticket")], SENT)  # after the week
    assert not answered([item("ticket", -1, "ticket")], SENT)  # before the e-mail
    assert not answered([item("social_outreach", 1)], SENT)  # our own note
    assert not answered([item("call", 1, "phone"), item("email", 1)], SENT)  # ours to them


class Crm:
    def __init__(self, answers: dict[str, list[Interaction]]) -> None:
        self.answers = answers

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        if customer_id == "down":
            raise CrmError("CRM down")
        return self.answers.get(customer_id, [])


def entry(mention: str, customer: str, sent: datetime = SENT) -> str:
    return OutcomeEntry(mention_id=mention, customer_ref=customer, sent_at=sent).model_dump_json()


def test_measure_counts_the_due_and_leaves_the_rest_on_the_queue() -> None:
    inbox = Inbox(
        [
            entry("m1", "c1"),  # opened a ticket
            entry("m1", "c1"),  # the same e-mail twice (a retried mailer): once
            entry("m2", "c2"),  # nothing
            entry("m3", "c3", SENT + timedelta(days=3)),  # not a week yet: stays
            entry("m4", "down"),  # the CRM failed: stays for the next run
            '{"customer_ref": 3}',  # unreadable: dropped
        ]
    )
    crm = Crm({"c1": [item("ticket", 1, "ticket")]})
    now = SENT + timedelta(days=8)
    figures = measure(OutcomeDeps(inbox=inbox, crm=crm, now=lambda: now))  # type: ignore[arg-type]
    assert figures == {
        "measured": 2,
        "answered": 1,
        "waiting": 1,
        "unanswered_crm": 1,
        "unreadable": 1,
    }
    assert inbox.deleted == ["r0", "r1", "r2", "r5"]
