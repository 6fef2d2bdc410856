"""Triage one mention into exactly one decision, and an outreach request for `contact`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from socialcare.brand import Brand
from socialcare.hashing import Hasher
from socialcare.identity import matching, policy
from socialcare.identity.ports import Crm
from socialcare.models import (
    Classification,
    Decision,
    Mention,
    OutreachRequest,
    Reason,
    TriageResult,
)
from socialcare.operations import audit
from socialcare.operations.incident import IncidentSwitch
from socialcare.operations.pilot import Pilot
from socialcare.ports import Queue, State
from socialcare.triage.language import choose_language


class Classifier(Protocol):
    def classify(
        self,
        text: str,
        lang_hint: str | None = None,
        *,
        addressed: bool = False,
        stars: int | None = None,
    ) -> Classification: ...


@dataclass
class TriageDeps:
    brand: Brand
    classifier: Classifier
    crm: Crm
    state: State
    hasher: Hasher
    max_post_age: timedelta = timedelta(hours=72)
    policy: policy.PolicyConfig = field(default_factory=policy.PolicyConfig)
    incident_topics: frozenset[str] = frozenset()  # fixed topics (tests, the decide tool)
    incident: IncidentSwitch | None = None  # the live switch (SSM), read at most once a minute
    name_matching: matching.NameMatching = "off"  # careful name match: off | review | on
    pilot: Pilot | None = None  # when set, only its customers are e-mailed (not_in_pilot)


def seen_key(mention_hash: str) -> str:
    return f"seen#{mention_hash}"


def triage(mention: Mention, deps: TriageDeps, now: datetime | None = None) -> TriageResult:
    now = now or datetime.now(UTC)
    mention_hash = deps.hasher.mention(mention.key)
    base = {"mention_id": mention_hash, "fetch_id": mention.fetch_id, "source": mention.source}

    def skip(reason: Reason, **more: object) -> TriageResult:
        return TriageResult(decision=Decision.of(reason, **base, **more))

    # Decided before anything is read or looked up: the cheap, content-free reasons.
    if mention.is_own_account or deps.brand.is_own_account(
        mention.source, mention.author_id, mention.handle
    ):
        return skip(Reason.OWN_ACCOUNT)
    if mention.is_repost:
        return skip(Reason.REPOST)
    if now - mention.created_at > deps.max_post_age:
        return skip(Reason.STALE)
    # One decision per post across fetch paths; a retry of this same fetch passes again.
    ttl = int(deps.max_post_age.total_seconds()) + 86_400
    if not deps.state.claim(seen_key(mention_hash), mention.fetch_id, ttl, reentrant=True):
        return skip(Reason.DUPLICATE)

    verdict = deps.classifier.classify(
        mention.text, mention.lang, addressed=mention.addressed, stars=mention.stars
    )
    about = {"language": verdict.language, "topics": verdict.topics}
    if not verdict.complaint:
        return skip(Reason.NOT_COMPLAINT, **about)

    who = matching.identify(mention, deps.crm, name_matching=deps.name_matching)
    if who.customer is None:
        return skip(who.reason or Reason.NO_CUSTOMER_MATCH, match=who.method, **about)
    customer = who.customer
    customer_hash = deps.hasher.person(customer.id)
    found = {"customer_hash": customer_hash, "match": who.method, **about}

    live_incident = deps.incident.topics(now) if deps.incident else frozenset()
    reason = policy.check(
        customer,
        crm=deps.crm,
        state=deps.state,
        hasher=deps.hasher,
        now=now,
        config=deps.policy,
        incident_topics=deps.incident_topics | live_incident,
        topics=verdict.topics,
    )
    if reason is not Reason.CONTACT:
        return skip(reason, **found)

    assert customer.email  # policy.check returns NO_EMAIL otherwise
    # Decided in full, as in shadow mode; only the pilot's customers go on to the mailer.
    if deps.pilot is not None and not deps.pilot.admits(
        customer_hash, deps.hasher.address(customer.email)
    ):
        return skip(Reason.NOT_IN_PILOT, **found)

    outreach = OutreachRequest(
        mention_id=mention_hash,
        fetch_id=mention.fetch_id,
        customer_ref=customer.id,
        customer_hash=customer_hash,
        email=customer.email,
        first_name=customer.first_name,
        language=choose_language(
            customer.language, verdict.language, default=deps.brand.default_language
        ),
        topics=verdict.topics,
        source=mention.source,
        post_url=mention.url,
        post_created_at=mention.created_at,
        match=who.method or "handle",
    )
    return TriageResult(decision=Decision.of(Reason.CONTACT, **base, **found), outreach=outreach)


def handle(mention: Mention, deps: TriageDeps, outreach_queue: Queue) -> Decision:
    """Triage, queue the outreach request, then write the audit line (in that order, so a
    failed send is retried rather than logged as done)."""
    result = triage(mention, deps)
    if result.outreach is not None:
        outreach_queue.send_all([result.outreach])
    audit.record(result.decision)
    return result.decision
