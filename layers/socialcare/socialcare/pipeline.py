"""Triage one mention into exactly one decision, and an outreach request for `contact`."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from socialcare import backoff
from socialcare.brand import Brand
from socialcare.errors import CrmError, DecisionInProgress
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
from socialcare.observability import count, logger
from socialcare.operations import audit, digest_entry
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
    digest: Queue | None = None  # DigestQueue when the shadow digest is on (ShadowDigest)


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


# A decision is kept as long as SQS can hand its post and fetch out again: 14 days is the
# longest any queue (DLQs included) keeps a message, and a redrive starts no new fetch.
DECIDED_TTL_S = 15 * 86_400
DEFAULT_LEASE_S = 60  # without a Lambda context: the longest a decision may take


def decided_key(mention_hash: str, fetch_id: str) -> str:
    return f"decided#{mention_hash}.{fetch_id}"


def handle(
    mention: Mention,
    deps: TriageDeps,
    outreach_queue: Queue,
    *,
    retry_queue: Queue | None = None,
    lease_s: int = DEFAULT_LEASE_S,
) -> Decision | None:
    """Decide a mention once per post and fetch, however often SQS delivers it.

    The decision key is leased for the attempt (`lease_s`: the rest of the invocation),
    then: triage, queue the outreach request, mark the key done, write the audit line. A
    failure releases the lease, so the retry decides afresh; a delivery that finds the
    key done returns None and writes nothing (no line, no metric, no request); one that
    finds it leased raises DecisionInProgress and comes back later. The audit line
    follows the done mark, so an outage of the state table (the mark fails) never writes
    a line twice. What is left: a process killed between the mark and the line (no I/O
    between them) loses that line, and a mark that fails after the outreach request was
    queued queues it again on the retry (the mailer is idempotent on it: one e-mail).

    A CRM outage is waited out on the queue: the mention goes back, delayed with backoff
    (30 s doubling to 15 min), to `retry_queue`, as often as it takes; once the post is
    older than `max_post_age` it is decided `stale`. Without `retry_queue` CrmError is
    raised (the queue's retries, then its DLQ).

    A batch of mentions goes the same way in three steps (`begin` each, `send` them all,
    `finish` each), so its requests and digest entries go in one SQS call per queue.
    """
    decided = begin(mention, deps, retry_queue=retry_queue, lease_s=lease_s)
    if decided is None:
        return None
    send([decided], deps, outreach_queue)
    return finish(decided, deps)


@dataclass(frozen=True)
class Leased:
    """A mention decided under its lease, its requests not yet queued."""

    mention: Mention
    key: str
    attempt: str
    result: TriageResult


def begin(
    mention: Mention,
    deps: TriageDeps,
    *,
    retry_queue: Queue | None = None,
    lease_s: int = DEFAULT_LEASE_S,
) -> Leased | None:
    """Lease and triage (handle's first step): None for a redelivery or a CRM wait."""
    mention_hash = deps.hasher.mention(mention.key)
    key = decided_key(mention_hash, mention.fetch_id)
    attempt = uuid.uuid4().hex
    ids = {"mention_id": mention_hash, "fetch_id": mention.fetch_id}
    if not _lease(deps.state, key, attempt, lease_s):
        logger.info("already decided; redelivery dropped", extra=ids)
        count("Redelivered")
        return None
    try:
        return Leased(mention, key, attempt, triage(mention, deps))
    except Exception as exc:
        _release(deps.state, [(key, attempt)])
        if isinstance(exc, CrmError) and retry_queue is not None:
            _wait_for_crm(mention, retry_queue, ids, exc)
            return None
        raise


def send(decided: Sequence[Leased], deps: TriageDeps, outreach_queue: Queue) -> None:
    """Queue the outreach requests and digest entries of leased decisions, each queue in
    one go; if that fails, every lease is released (the retries decide afresh)."""
    try:
        requests = [d.result.outreach for d in decided if d.result.outreach is not None]
        if requests:
            outreach_queue.send_all(requests)
        if deps.digest is not None and decided:
            deps.digest.send_all(
                [digest_entry.entry(d.mention, d.result.decision) for d in decided]
            )
    except Exception:
        _release(deps.state, [(d.key, d.attempt) for d in decided])
        raise


def finish(decided: Leased, deps: TriageDeps) -> Decision:
    """Mark the decision done, then write its audit line (handle's last step)."""
    deps.state.update(decided.key, decided.attempt, ttl_s=DECIDED_TTL_S, state="done")
    audit.record(decided.result.decision)
    return decided.result.decision


def finish_batch(
    decided: Mapping[str, Leased], deps: TriageDeps, outreach_queue: Queue
) -> dict[str, Exception]:
    """`send` and `finish` for an SQS batch's decisions (by message id): the errors of
    those that failed, by message id (batch.process's `then`)."""
    try:
        send(list(decided.values()), deps, outreach_queue)
    except Exception as exc:
        return dict.fromkeys(decided, exc)
    errors: dict[str, Exception] = {}
    for message_id, leased in decided.items():
        try:
            finish(leased, deps)
        except Exception as exc:  # this record fails alone; its requests are queued
            errors[message_id] = exc
    return errors


def _release(state: State, leases: Sequence[tuple[str, str]]) -> None:
    for key, attempt in leases:
        with contextlib.suppress(Exception):  # if the release fails too, the lease expires
            state.release(key, attempt)


def _lease(state: State, key: str, attempt: str, lease_s: int) -> bool:
    """True when this attempt is to decide; False when the decision was made before."""
    for _ in range(2):
        if state.claim(key, attempt, lease_s):
            return True
        held = state.holder(key)
        if held is not None:
            if held.get("state") == "done":
                return False
            raise DecisionInProgress("another delivery of this post and fetch is deciding")
    raise DecisionInProgress("the decision key changed hands twice")  # released meanwhile


def _wait_for_crm(mention: Mention, queue: Queue, ids: dict[str, str], exc: CrmError) -> None:
    wait = backoff.delay_s(mention.deferred)
    queue.send_all([mention.model_copy(update={"deferred": mention.deferred + 1})], delay_s=wait)
    count("CrmUnavailable")
    logger.warning(
        "CRM unavailable; the mention waits on the queue",
        extra={**ids, "in_s": wait, "deferred": mention.deferred + 1, "error": str(exc)},
    )
