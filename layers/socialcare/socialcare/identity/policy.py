"""May we write to this customer? First hit wins, in the order the design fixes.

Complaining in public never moves anyone ahead: the only outcomes are "contact" (an
invitation into the normal channels) or a skip with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
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


FOREVER_S = 10 * 365 * 86_400  # an opt-out does not lapse; the TTL only bounds the table


def register(state: State, key: str, why: str, kid: str) -> None:
    """Idempotent: a second opt-out of the same person (a bounce, then a complaint, then
    the link) finds the key held and leaves the first reason in place. `kid` names the
    hash key the entry is under (Hasher.kids)."""
    if state.claim(key, why, FOREVER_S, reentrant=True):
        state.update(key, why, reason=why, kid=kid)


Held = Mapping[str, dict[str, str]]  # keys already read (State.holders): the ones held


def registered(
    state: State, hasher: Hasher, kind: str, value: str, held: Held | None = None
) -> bool:
    """Is this customer id or address (`kind` person or address) in the opt-out register?

    Looked up under the current hash key, then the previous one (socialcare rotate-key).
    An entry found under the previous key is re-keyed on touch: written under the current
    key, the old entry deleted, so the register moves to the new key as people come by.
    `held`: the keys read already (check), else each is read here.
    """
    get = state.holder if held is None else held.get
    current, *before = (optout_key(h) for h in hasher.candidates(kind, value))
    if get(current):
        return True
    for old in before:
        item = get(old)
        if item:
            register(state, current, item.get("reason", item["owner"]), hasher.kids[0])
            state.release(old, item["owner"])
            return True
    return False


@dataclass(frozen=True)
class PolicyConfig:
    in_contact_hours: int = 72
    cooldown_days: int = 30


def opted_out(
    state: State, hasher: Hasher, customer_id: str, email: str | None, held: Held | None = None
) -> bool:
    if registered(state, hasher, "person", customer_id, held):
        return True
    return bool(email and registered(state, hasher, "address", email, held))


def recently_emailed(
    state: State, hasher: Hasher, customer_id: str, held: Held | None = None
) -> bool:
    """The per-person key the mailer claims, under the current or the previous hash key."""
    get = state.holder if held is None else held.get
    return any(get(person_key(h)) for h in hasher.candidates("person", customer_id))


def state_keys(hasher: Hasher, customer: Customer) -> list[str]:
    """Every state key `check` may read for this customer (opt-outs, the mailer's claim)."""
    person = hasher.candidates("person", customer.id)
    address = hasher.candidates("address", customer.email) if customer.email else []
    return [
        *map(optout_key, person),
        *map(address_optout_key, address),
        *map(person_key, person),
    ]


def contacted(crm: Crm, customer_id: str, now: datetime, config: PolicyConfig) -> Reason | None:
    """What the CRM's history says: customer service is in contact, or we wrote within the
    cooldown. Asked by triage, and again by the mailer when an agent approves."""
    since = now - timedelta(days=max(config.cooldown_days, config.in_contact_hours / 24))
    history = crm.interactions(customer_id, since)
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
    return None


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
    # The state keys in one read, before the CRM is asked. A claim the mailer makes in
    # between is missed here; the mailer claims before it sends, so still one e-mail.
    held = state.holders(state_keys(hasher, customer))
    if opted_out(state, hasher, customer.id, customer.email, held):
        return Reason.OPTED_OUT
    if not customer.email:
        return Reason.NO_EMAIL
    reason = contacted(crm, customer.id, now, config)
    if reason is not None:
        return reason
    # The key the mailer claims right before it sends: triage only reads it.
    if recently_emailed(state, hasher, customer.id, held):
        return Reason.RECENTLY_CONTACTED
    # A declared incident (SSM, see incident.py): everyone already knows; the status page
    # answers, not a personal e-mail to each public complainer.
    if incident_topics and set(topics or ()) & incident_topics:
        return Reason.INCIDENT_MODE
    return Reason.CONTACT
