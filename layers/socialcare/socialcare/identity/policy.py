"""May we write to this customer? First hit wins, in the order the design fixes.

Complaining in public never moves anyone ahead: the only outcomes are "contact" (an
invitation into the normal channels) or a skip with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from socialcare.hashing import Hasher
from socialcare.identity.ports import Crm
from socialcare.models import Customer, Reason
from socialcare.ports import State

OUR_KIND = "social_outreach"
# Customer service is "already in contact" after one of these within in_contact_hours, or
# while any interaction of theirs is open (an open ticket). A letter (a bill) or a ticket
# closed earlier does not count; our own social_outreach only counts for the cooldown.
SERVICE_CHANNELS = {"sms", "phone", "email", "chat"}


def person_key(customer_hash: str) -> str:
    return f"person#{customer_hash}"


def optout_key(customer_hash: str) -> str:
    return f"optout#{customer_hash}"


def address_optout_key(address_hash: str) -> str:
    return f"optout#{address_hash}"


@dataclass(frozen=True)
class PolicyConfig:
    in_contact_hours: int = 72
    cooldown_days: int = 30


def opted_out(state: State, hasher: Hasher, customer: Customer) -> bool:
    if state.holder(optout_key(hasher.person(customer.id))):
        return True
    return bool(customer.email and state.holder(address_optout_key(hasher.address(customer.email))))


def check(
    customer: Customer,
    *,
    crm: Crm,
    state: State,
    hasher: Hasher,
    now: datetime,
    config: PolicyConfig,
    incident_topics: frozenset[str] = frozenset(),
    topics: list[str] | None = None,
) -> Reason:
    if customer.do_not_contact:
        return Reason.DO_NOT_CONTACT
    if opted_out(state, hasher, customer):
        return Reason.OPTED_OUT
    if not customer.email:
        return Reason.NO_EMAIL
    since = now - timedelta(days=max(config.cooldown_days, config.in_contact_hours / 24))
    history = crm.interactions(customer.id, since)
    in_contact_since = now - timedelta(hours=config.in_contact_hours)
    if any(
        item.kind != OUR_KIND
        and (item.open or (item.channel in SERVICE_CHANNELS and item.at >= in_contact_since))
        for item in history
    ):
        return Reason.ALREADY_IN_CONTACT
    cooldown_since = now - timedelta(days=config.cooldown_days)
    if any(i.kind == OUR_KIND and i.at >= cooldown_since for i in history):
        return Reason.RECENTLY_CONTACTED
    # The key the mailer claims right before it sends: triage only reads it.
    if state.holder(person_key(hasher.person(customer.id))):
        return Reason.RECENTLY_CONTACTED
    # A declared incident (SSM, see incident.py): everyone already knows; the status page
    # answers, not a personal e-mail to each public complainer.
    if incident_topics and set(topics or ()) & incident_topics:
        return Reason.INCIDENT_MODE
    return Reason.CONTACT
