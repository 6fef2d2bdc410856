"""Who is this? A linked handle, then an e-mail the platform gave us, then (if the company
switched it on) a careful name match. Never a guess.

When identity is uncertain the answer is `ambiguous_match` (candidates exist, but not one
clearly, with corroboration) or `no_customer_match`, and nobody is contacted. CRM failures
raise CrmError (the message goes back to its queue); they never read as "no match".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from socialcare.identity import names
from socialcare.identity.blocking import TooManyCandidates
from socialcare.identity.ports import Crm
from socialcare.identity.similarity import ACCEPT, MARGIN, score
from socialcare.models import Customer, Mention, Reason

NameMatching = Literal["off", "review", "on"]

# A name match needs its best candidate at or above ACCEPT, and no other candidate within
# MARGIN of it (similarity.py). With these, "Søren Hansen" vs two "Søren Hansen"s, or vs
# "Søren Ærø Hansen" (a dropped middle name, 95, either way round), is ambiguous; "Anne
# Holm" never takes "Ane Holm" (94) alone, nor "Camilla Jensen" a "Kamilla Jensen" (94).
# Adapters rank every candidate sharing a name key by the project's score (blocking.py),
# so the best two are the true best two, or two that already make the match ambiguous.
CANDIDATES = 2


@dataclass(frozen=True)
class Identity:
    customer: Customer | None
    method: str | None  # "handle" | "email" | "name" | None
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


def corroborated(mention: Mention, customer: Customer) -> bool:
    """Evidence beside the name: the profile's place is the customer's city, or the
    handle spells the customer's name."""
    return names.same_place(mention.location, customer.city) or names.handle_spells(
        mention.handle, names.Name.parse(customer.name)
    )


def by_name(mention: Mention, crm: Crm) -> Identity:
    """One candidate clearly above the rest, and corroborated; else no one.

    A name without first and last name spelled out ("Søren H.", "Søren", a bare handle)
    is not looked up at all: it cannot single anyone out, and a loose search would read
    many customers' records for nothing.
    """
    query = names.Name.parse(mention.display_name)
    if not query.usable:
        return Identity(None, None, Reason.NO_CUSTOMER_MATCH)
    try:
        found = crm.find_by_name(mention.display_name or "", CANDIDATES)
    except TooManyCandidates:  # the CRM could not list them all: rivals may be missing
        return Identity(None, "name", Reason.AMBIGUOUS_MATCH)
    candidates = {c.id: c for c in found}
    return choose(
        mention, [(score(query, names.Name.parse(c.name)), c) for c in candidates.values()]
    )


def choose(mention: Mention, scored: list[tuple[float, Customer]]) -> Identity:
    """The rule on scored candidates: the best at or above ACCEPT, no other within MARGIN
    of it, and corroborated. Any candidates may be given, as long as every one within
    MARGIN of the best is among them (the bench's full scan gives them all)."""
    scored = sorted(scored, key=lambda pair: pair[0], reverse=True)
    if not scored or scored[0][0] < ACCEPT:
        return Identity(None, None, Reason.NO_CUSTOMER_MATCH)
    best_score, best = scored[0]
    rivals = [c for s, c in scored[1:] if s >= best_score - MARGIN]
    if rivals or not corroborated(mention, best):
        return Identity(None, "name", Reason.AMBIGUOUS_MATCH)
    return Identity(best, "name", None)


def identify(mention: Mention, crm: Crm, *, name_matching: NameMatching = "off") -> Identity:
    if mention.handle:
        found = _one(crm.find_by_handle(mention.source, mention.handle), "handle")
        if found:
            return found
    if mention.email:
        found = _one(crm.find_by_email(mention.email), "email")
        if found:
            return found
    if name_matching != "off":
        return by_name(mention, crm)
    return Identity(None, None, Reason.NO_CUSTOMER_MATCH)
