"""Triage one mention into exactly one decision, and an outreach request for `contact`."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from socialcare import backoff
from socialcare.brand import Brand
from socialcare.decision_keys import (
    DECIDED_TTL_S,
    Held,
    decided_key,
    holder,
    seen_key,
    take,
)
from socialcare.errors import CrmError
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


def triage(mention: Mention, deps: TriageDeps, now: datetime | None = None) -> TriageResult:
    """Decide a mention (the dry runs' and tests' entry; SQS deliveries go through handle)."""
    now = now or datetime.now(UTC)
    base = _ids(mention, deps)
    cheap = _screen(mention, deps, now)
    if cheap is not None:
        return TriageResult(decision=Decision.of(cheap, **base))
    # One decision per post across fetch paths; a retry of this same fetch passes again.
    post = seen_key(base["mention_id"])
    if not deps.state.claim(post, mention.fetch_id, _seen_s(deps), reentrant=True):
        return TriageResult(decision=Decision.of(Reason.DUPLICATE, **base))
    return _decide(mention, deps, now, base, _classify(mention, deps))


def _seen_s(deps: TriageDeps) -> int:
    # Past the maximum age a post is stale whoever fetches it. A decided message is
    # deleted from its queue at once; SQS hands it out again within minutes if at all.
    return int(deps.max_post_age.total_seconds()) + 86_400


def _ids(mention: Mention, deps: TriageDeps) -> dict[str, str]:
    return {
        "mention_id": deps.hasher.mention(mention.key),
        "fetch_id": mention.fetch_id,
        "source": mention.source,
    }


def _screen(mention: Mention, deps: TriageDeps, now: datetime) -> Reason | None:
    """The cheap, content-free reasons, decided before anything is read or looked up."""
    if mention.is_own_account or deps.brand.is_own_account(
        mention.source, mention.author_id, mention.handle
    ):
        return Reason.OWN_ACCOUNT
    if mention.is_repost:
        return Reason.REPOST
    if now - mention.created_at > deps.max_post_age:
        return Reason.STALE
    return None


def _classify(mention: Mention, deps: TriageDeps) -> Classification:
    return deps.classifier.classify(
        mention.text, mention.lang, addressed=mention.addressed, stars=mention.stars
    )


def _decide(
    mention: Mention,
    deps: TriageDeps,
    now: datetime,
    base: dict[str, str],
    verdict: Classification,
) -> TriageResult:
    """The rest, once the post is this fetch's to decide: only a complaint reads the CRM."""

    def skip(reason: Reason, **more: object) -> TriageResult:
        return TriageResult(decision=Decision.of(reason, **base, **more))

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
        mention_id=base["mention_id"],
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


DEFAULT_LEASE_S = 60  # without a Lambda context: the longest a decision may take


def handle(
    mention: Mention,
    deps: TriageDeps,
    outreach_queue: Queue,
    *,
    retry_queue: Queue | None = None,
    lease_s: int = DEFAULT_LEASE_S,
) -> Decision | None:
    """Decide a mention once per post and fetch, however often SQS delivers it.

    The post's first fetch decides it under `seen#<post>` (owner "<fetch> <attempt>"),
    another fetch under `decided#<post>.<fetch>` (`duplicate`, and the cheap reasons,
    which never mark the post seen). The decision is made first: a complaint reads its
    key (a post decided already spares the CRM), then the CRM, writing nothing. One after
    which only its audit line is written (no outreach request, no digest entry: all but
    the e-mails) is claimed `done` in one conditional write; a delivery that loses the
    claim drops its decision. Otherwise (`contact`, or the shadow digest on, which decides
    after the claim) the key is leased for the attempt (`lease_s`: the rest of the
    invocation), then: queue the outreach request and the digest entry, mark the key
    done, write the line. A failure releases the
    lease, so the retry decides afresh; a delivery that finds the key done returns None
    and writes nothing (no line, no metric, no request); one that finds it leased raises
    DecisionInProgress and comes back later. The line follows the done mark, so an
    outage of the state table never writes a line twice. What is left: a process killed
    between the mark and the line (no I/O between them) loses that line, and a mark
    that fails after the outreach request was queued queues it again on the retry (the
    mailer is idempotent on it: one e-mail). `seen#` lives `max_post_age` + 1 day (the
    privacy notice's period): a redelivery that finds the post stale looks it up first.

    A CRM outage is waited out on the queue: the mention goes back, delayed with backoff
    (30 s doubling to 15 min), to `retry_queue`, as often as it takes; once the post is
    older than `max_post_age` it is decided `stale`. Without `retry_queue` CrmError is
    raised (the queue's retries, then its DLQ).
    """
    now = datetime.now(UTC)
    base = _ids(mention, deps)
    owner = f"{mention.fetch_id} {uuid.uuid4().hex}"
    post = seen_key(base["mention_id"])
    cheap = _screen(mention, deps, now)
    # A post that went stale since this fetch decided it: a redelivery all the same.
    if cheap is Reason.STALE and holder(deps.state, mention.fetch_id, post) is Held.DONE:
        return _dropped(base)
    if cheap is not None:
        return _once(mention, deps, Decision.of(cheap, **base), owner, lease_s)
    verdict = _classify(mention, deps)
    result = None
    if deps.digest is None:  # decided before the claim: the CRM's answers write nothing
        # A read (a fifth of a write's price) spares the CRM a post decided already.
        if verdict.complaint and (earlier := holder(deps.state, mention.fetch_id, post)):
            return _taken(earlier, mention, deps, base, owner, lease_s)
        try:
            result = _decide(mention, deps, now, base, verdict)
        except CrmError as exc:
            return _wait_for_crm(mention, retry_queue, base, exc)
    sends = result is None or result.outreach is not None
    keep_s = _seen_s(deps)
    held = take(deps.state, mention.fetch_id, post, owner, lease_s if sends else keep_s, sends)
    if held is not Held.OURS:
        return _taken(held, mention, deps, base, owner, lease_s)
    if result is not None and not sends:  # written done already: only the line follows
        return _record(result.decision)
    try:
        result = result or _decide(mention, deps, now, base, verdict)
        if result.outreach is not None:
            outreach_queue.send_all([result.outreach])
        if deps.digest is not None:
            deps.digest.send_all([digest_entry.entry(mention, result.decision)])
    except Exception as exc:
        with contextlib.suppress(Exception):  # if the release fails too, the lease expires
            deps.state.release(post, owner)
        if isinstance(exc, CrmError):
            return _wait_for_crm(mention, retry_queue, base, exc)
        raise
    deps.state.update(post, owner, ttl_s=keep_s, state="done")
    return _record(result.decision)


def _taken(
    held: Held, mention: Mention, deps: TriageDeps, base: dict[str, str], owner: str, lease_s: int
) -> Decision | None:
    """The post is another fetch's (this one is `duplicate`), or this fetch decided it."""
    if held is Held.OTHER_FETCH:
        return _once(mention, deps, Decision.of(Reason.DUPLICATE, **base), owner, lease_s)
    return _dropped(base)


def _once(
    mention: Mention, deps: TriageDeps, decision: Decision, owner: str, lease_s: int
) -> Decision | None:
    """A decision that reads nothing (a cheap reason, `duplicate`), once for this fetch."""
    key = decided_key(decision.mention_id, mention.fetch_id)
    digest = deps.digest  # its entry is queued before the mark: a lease
    held = take(deps.state, None, key, owner, lease_s if digest else DECIDED_TTL_S, bool(digest))
    if held is not Held.OURS:
        return _dropped(decision.model_dump())
    if digest is not None:
        try:
            digest.send_all([digest_entry.entry(mention, decision)])
        except Exception:
            with contextlib.suppress(Exception):
                deps.state.release(key, owner)
            raise
        deps.state.update(key, owner, ttl_s=DECIDED_TTL_S, state="done")
    return _record(decision)


def _key_ids(ids: Mapping[str, object]) -> dict[str, str]:
    return {"mention_id": str(ids["mention_id"]), "fetch_id": str(ids["fetch_id"])}


def _dropped(ids: Mapping[str, object]) -> Decision | None:
    logger.info("already decided; redelivery dropped", extra=_key_ids(ids))
    return None  # no line, no metric, no request


def _record(decision: Decision) -> Decision:
    audit.record(decision)
    return decision


def _wait_for_crm(
    mention: Mention, queue: Queue | None, base: dict[str, str], exc: CrmError
) -> Decision | None:
    if queue is None:
        raise exc
    ids = _key_ids(base)
    wait = backoff.delay_s(mention.deferred)
    queue.send_all([mention.model_copy(update={"deferred": mention.deferred + 1})], delay_s=wait)
    count("CrmUnavailable")
    logger.warning(
        "CRM unavailable; the mention waits on the queue",
        extra={**ids, "in_s": wait, "deferred": mention.deferred + 1, "error": str(exc)},
    )
    return None
