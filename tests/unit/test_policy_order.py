"""The contact policy's order (issue: "first hit wins"): a customer to whom every reason
applies is skipped for the first; taking the reasons away one by one reveals the rest in
the documented order, down to `contact`."""

from __future__ import annotations

from datetime import timedelta

from socialcare.adapters.memory import MemoryCrm, MemoryState
from socialcare.hashing import Hasher
from socialcare.identity.policy import OUR_KIND, PolicyConfig, check, optout_key, person_key
from socialcare.models import Customer, Interaction, Reason
from tests.unit.conftest import NOW

ORDER = [
    Reason.DO_NOT_CONTACT,
    Reason.OPTED_OUT,
    Reason.NO_EMAIL,
    Reason.ALREADY_IN_CONTACT,
    Reason.RECENTLY_CONTACTED,  # our social_outreach in the CRM
    Reason.RECENTLY_CONTACTED,  # the mailer's per-person key
    Reason.INCIDENT_MODE,
    Reason.CONTACT,
]


def test_reasons_are_checked_in_the_documented_order() -> None:
    hasher, state = Hasher("k" * 32), MemoryState()
    customer = Customer(id="C-1", name="Søren Hansen", email=None, do_not_contact=True)
    history = [
        Interaction(channel="sms", kind="service", at=NOW - timedelta(hours=3)),
        Interaction(channel="email", kind=OUR_KIND, at=NOW - timedelta(days=10)),
    ]
    crm = MemoryCrm([customer], {"C-1": history})
    state.claim(optout_key(hasher.person("C-1")), "unsubscribe", 3600)
    state.claim(person_key(hasher.person("C-1")), "another mention", 3600)
    incident = {"outage"}

    def decide() -> Reason:
        return check(
            customer,
            crm=crm,
            state=state,
            hasher=hasher,
            now=NOW,
            config=PolicyConfig(),
            incident_topics=frozenset(incident),
            topics=["outage"],
        )

    peel = [
        lambda: customer.__setattr__("do_not_contact", False),
        lambda: state.release(optout_key(hasher.person("C-1")), "unsubscribe"),
        lambda: customer.__setattr__("email", "soeren@example.net"),
        lambda: history.pop(0),  # the SMS from customer service
        lambda: history.pop(0),  # our e-mail ten days ago
        lambda: state.release(person_key(hasher.person("C-1")), "another mention"),
        incident.clear,  # the incident is over
    ]
    seen = [decide()]
    for step in peel:
        step()
        seen.append(decide())
    assert seen == ORDER
