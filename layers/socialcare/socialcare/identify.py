"""Who is this? Linked handle first, then an e-mail the platform gave us. Never a guess.

A later step (careful Danish name matching) plugs in here; when identity is uncertain,
the answer is `ambiguous_match` or `no_customer_match` and nobody is contacted.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialcare.models import Customer, Mention, Reason
from socialcare.ports import Crm


@dataclass(frozen=True)
class Identity:
    customer: Customer | None
    method: str | None  # "handle" | "email" | None
    reason: Reason | None  # set when no single customer was identified

    @property
    def found(self) -> bool:
        return self.customer is not None


def _one(customers: list[Customer], method: str) -> Identity | None:
    unique = {c.id: c for c in customers}
    if len(unique) == 1:
        return Identity(next(iter(unique.values())), method, None)
    if len(unique) > 1:  # a shared family account, or two records for one e-mail
        return Identity(None, method, Reason.AMBIGUOUS_MATCH)
    return None


def identify(mention: Mention, crm: Crm) -> Identity:
    if mention.handle:
        found = _one(crm.find_by_handle(mention.source, mention.handle), "handle")
        if found:
            return found
    if mention.email:
        found = _one(crm.find_by_email(mention.email), "email")
        if found:
            return found
    return Identity(None, None, Reason.NO_CUSTOMER_MATCH)
