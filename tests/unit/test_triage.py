"""Every fetched mention gets exactly one decision, with one reason of the vocabulary."""

from datetime import timedelta

import pytest

from socialcare.adapters.memory import MemoryQueue
from socialcare.errors import CrmError
from socialcare.identity.policy import person_key
from socialcare.models import Reason
from socialcare.pipeline import TriageDeps, handle, triage
from tests.unit.conftest import NOW, make_mention


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, Reason.CONTACT),
        ({"handle": "lynetbredbaand"}, Reason.OWN_ACCOUNT),
        ({"is_own_account": True}, Reason.OWN_ACCOUNT),
        ({"is_repost": True}, Reason.REPOST),
        ({"created_at": NOW - timedelta(hours=73)}, Reason.STALE),
        ({"text": "Tak for hjælpen Lynet, super service"}, Reason.NOT_COMPLAINT),
        ({"handle": "stranger"}, Reason.NO_CUSTOMER_MATCH),
        ({"handle": "holm"}, Reason.AMBIGUOUS_MATCH),
        ({"handle": "lise"}, Reason.NO_EMAIL),
        ({"handle": "torben"}, Reason.DO_NOT_CONTACT),
        ({"handle": "peter"}, Reason.ALREADY_IN_CONTACT),
        ({"handle": "ida"}, Reason.ALREADY_IN_CONTACT),  # an open ticket, however old
        ({"handle": "rasmus"}, Reason.RECENTLY_CONTACTED),
        ({"handle": None, "email": "karen@example.net"}, Reason.CONTACT),
    ],
)
def test_one_reason_per_mention(triage_deps: TriageDeps, fields: dict, reason: Reason) -> None:
    result = triage(make_mention(**fields), triage_deps)
    assert result.decision.reason is reason
    assert (result.outreach is not None) == (reason is Reason.CONTACT)


def test_contact_builds_a_request_without_post_text(triage_deps: TriageDeps) -> None:
    mention = make_mention()
    result = triage(mention, triage_deps)
    assert result.outreach is not None
    dumped = result.outreach.model_dump_json()
    assert mention.text not in dumped and "nede" not in dumped
    assert result.outreach.customer_hash == triage_deps.hasher.person("C-1")
    assert result.outreach.language == "da" and result.outreach.first_name == "Mette"
    assert result.decision.mention_id == triage_deps.hasher.mention("x:p1")


@pytest.mark.parametrize(
    ("crm_language", "text", "language"),
    [
        ("en", "@lynetbredbaand nettet er nede igen", "en"),  # the CRM's choice comes first
        ("de", "@lynetbredbaand my internet is down again, third time this week", "en"),
        ("de", "@lynetbredbaand nettet er nede igen, tredje gang i denne uge", "da"),
        (None, "@lynetbredbaand my internet is down again, third time this week", "en"),
    ],
)
def test_email_language_is_the_crms_then_the_posts_then_the_brands(
    triage_deps: TriageDeps, crm_language: str | None, text: str, language: str
) -> None:
    customer = triage_deps.crm.customers[0]  # type: ignore[attr-defined]
    customer.language = crm_language
    result = triage(make_mention(text=text), triage_deps)
    assert result.outreach is not None and result.outreach.language == language


def test_second_fetch_of_a_post_is_a_duplicate_but_a_retry_is_not(triage_deps: TriageDeps) -> None:
    first = make_mention()
    assert triage(first, triage_deps).decision.reason is Reason.CONTACT
    # the same fetch redelivered by SQS (same fetch_id) is processed again, not dropped
    assert triage(first, triage_deps).decision.reason is Reason.CONTACT
    again = make_mention()  # polled again, or arrived by webhook: new fetch id
    assert triage(again, triage_deps).decision.reason is Reason.DUPLICATE


def test_a_claimed_person_key_means_recently_contacted(triage_deps: TriageDeps) -> None:
    triage_deps.state.claim(person_key(triage_deps.hasher.person("C-1")), "other", 3600)
    assert triage(make_mention(), triage_deps).decision.reason is Reason.RECENTLY_CONTACTED


def test_opt_out_register_is_checked(triage_deps: TriageDeps) -> None:
    triage_deps.state.claim(f"optout#{triage_deps.hasher.person('C-1')}", "unsubscribe", 3600)
    assert triage(make_mention(), triage_deps).decision.reason is Reason.OPTED_OUT


def test_incident_topics_skip_only_those_topics(triage_deps: TriageDeps) -> None:
    triage_deps.incident_topics = frozenset({"outage"})
    assert triage(make_mention(), triage_deps).decision.reason is Reason.INCIDENT_MODE
    billing = make_mention(post_id="p2", text="Lynet regningen er forkert, opkrævet to gange")
    assert triage(billing, triage_deps).decision.reason is Reason.CONTACT


def test_crm_failure_raises_rather_than_no_match(triage_deps: TriageDeps) -> None:
    class Down:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            def fail(*a: object, **k: object) -> None:
                raise CrmError("CRM GET answered HTTP 503")

            return fail

    triage_deps.crm = Down()  # type: ignore[assignment]
    with pytest.raises(CrmError):
        triage(make_mention(), triage_deps)


def test_handle_queues_outreach_before_logging(triage_deps: TriageDeps) -> None:
    queue = MemoryQueue()
    decision = handle(make_mention(), triage_deps, queue)
    assert decision.reason is Reason.CONTACT and len(queue.messages) == 1
    assert (
        handle(make_mention(post_id="p9", is_repost=True), triage_deps, queue).reason
        is Reason.REPOST
    )
    assert len(queue.messages) == 1


def review(**fields: object) -> dict[str, object]:
    """A Trustpilot review by a customer the CRM knows by e-mail; it never names us."""
    return {
        "source": "trustpilot",
        "handle": None,
        "email": "karen@example.net",
        "text": "Ustabilt net\n\nForbindelsen falder ud hver aften.",
        "addressed": True,
        "stars": 2,
        **fields,
    }


def test_a_review_on_our_page_is_about_us_without_our_name(triage_deps: TriageDeps) -> None:
    result = triage(make_mention(**review()), triage_deps)
    assert result.decision.reason is Reason.CONTACT and result.outreach is not None
    assert result.outreach.source == "trustpilot"
    assert "Forbindelsen" not in result.outreach.model_dump_json()
    # the same words posted where they are not directed at us
    loose = make_mention(**review(post_id="p2", addressed=False, stars=None))
    assert triage(loose, triage_deps).decision.reason is Reason.NOT_COMPLAINT


def test_a_bare_one_star_review_is_not_emailed(triage_deps: TriageDeps) -> None:
    bare = make_mention(**review(text="", stars=1))
    assert triage(bare, triage_deps).decision.reason is Reason.NOT_COMPLAINT


# ------------------------------------------------------------------ one decision per fetch
class Audit:
    """The decision lines and Decisions metrics audit.record writes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from socialcare.operations import audit

        self.lines: list[str] = []
        self.metrics: list[str] = []
        real_count = audit.count
        real_info = audit.logger.info

        def info(msg: str, *args: object, **kwargs: object) -> None:
            if msg == "decision":
                self.lines.append(msg)
            real_info(msg, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(audit.logger, "info", info)

        def count(name: str, value: float = 1, **dims: str) -> None:
            self.metrics.append(name)
            real_count(name, value, **dims)

        monkeypatch.setattr(audit, "count", count)


def test_a_redelivered_mention_is_decided_once(
    triage_deps: TriageDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = Audit(monkeypatch)
    queue = MemoryQueue()
    mention = make_mention()
    first = handle(mention, triage_deps, queue)
    assert first is not None and first.reason is Reason.CONTACT
    for _ in range(2):  # SQS delivers the same fetch again
        assert handle(mention, triage_deps, queue) is None
    assert audit.lines == ["decision"] and audit.metrics.count("Complained") == 1
    assert audit.metrics.count("Complaints") == 1  # the spike alarm's input, once
    assert len(queue.messages) == 1
    # A second fetch of the post is its own decision: `duplicate`.
    again = handle(make_mention(fetch_id="another-fetch"), triage_deps, queue)
    assert again is not None and again.reason is Reason.DUPLICATE


def test_a_skip_is_also_decided_once(
    triage_deps: TriageDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = Audit(monkeypatch)
    repost = make_mention(is_repost=True)
    for _ in range(3):
        handle(repost, triage_deps, MemoryQueue())
    assert audit.lines == ["decision"] and audit.metrics.count("Skipped") == 1


def test_a_delivery_while_another_decides_goes_back_to_the_queue(
    triage_deps: TriageDeps,
) -> None:
    from socialcare.errors import DecisionInProgress
    from socialcare.pipeline import seen_key

    mention = make_mention()
    key, attempt = seen_key(triage_deps.hasher.mention(mention.key)), f"{mention.fetch_id} other"
    assert triage_deps.state.claim(key, attempt, 60, state="leased")  # deciding right now
    with pytest.raises(DecisionInProgress):
        handle(mention, triage_deps, MemoryQueue())
    triage_deps.state.release(key, attempt)  # it failed: the retry decides
    decision = handle(mention, triage_deps, MemoryQueue())
    assert decision is not None and decision.reason is Reason.CONTACT


def test_another_fetch_s_decision_in_progress_is_waited_for_not_taken_as_duplicate(
    triage_deps: TriageDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch decided `duplicate` while the other fetch still held a lease would get a
    second decision if that lease were released (its outreach request failed) and this
    fetch were delivered again: it waits instead, and ends with one decision."""
    from socialcare.errors import DecisionInProgress
    from socialcare.pipeline import seen_key

    audit = Audit(monkeypatch)
    first, second = make_mention(fetch_id="f2"), make_mention(fetch_id="f1")
    key, attempt = seen_key(triage_deps.hasher.mention(first.key)), "f2 attempt-1"
    assert triage_deps.state.claim(key, attempt, 60, state="leased")  # f2 is deciding
    with pytest.raises(DecisionInProgress):
        handle(second, triage_deps, MemoryQueue())
    triage_deps.state.release(key, attempt)  # f2's send failed: its lease goes back
    decided = handle(second, triage_deps, MemoryQueue())  # f1's redelivery
    assert decided is not None and decided.reason is Reason.CONTACT
    assert handle(second, triage_deps, MemoryQueue()) is None  # and never again
    retried = handle(first, triage_deps, MemoryQueue())  # f2's retry
    assert retried is not None and retried.reason is Reason.DUPLICATE
    assert audit.lines == ["decision", "decision"]  # one for each fetch


class Writes:
    """The state table's writes, counted as DynamoDB bills them (a failed condition too)."""

    def __init__(self, state: object, monkeypatch: pytest.MonkeyPatch) -> None:
        self.n = 0
        for name in ("claim", "update", "release", "incr", "advance"):
            real = getattr(state, name)

            def counted(*a: object, _real: object = real, **k: object) -> object:
                self.n += 1
                return _real(*a, **k)  # type: ignore[operator]

            monkeypatch.setattr(state, name, counted)


@pytest.mark.parametrize(
    ("fields", "reason", "writes"),
    [
        ({"text": "Tak for hjælpen Lynet, super service"}, Reason.NOT_COMPLAINT, 1),
        ({"is_repost": True}, Reason.REPOST, 1),
        ({"handle": "stranger"}, Reason.NO_CUSTOMER_MATCH, 1),  # decided first, then claimed
        ({}, Reason.CONTACT, 2),  # a lease while the outreach request is queued
    ],
)
def test_a_decision_that_sends_nothing_is_one_write(
    triage_deps: TriageDeps,
    monkeypatch: pytest.MonkeyPatch,
    fields: dict,
    reason: Reason,
    writes: int,
) -> None:
    counted = Writes(triage_deps.state, monkeypatch)
    decision = handle(make_mention(**fields), triage_deps, MemoryQueue())
    assert decision is not None and decision.reason is reason and counted.n == writes
    again = handle(make_mention(**fields, fetch_id="another-fetch"), triage_deps, MemoryQueue())
    expected = reason if reason is Reason.REPOST else Reason.DUPLICATE
    assert again is not None and again.reason is expected


def test_a_redelivery_after_the_post_went_stale_is_still_a_redelivery(
    triage_deps: TriageDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = Audit(monkeypatch)
    mention = make_mention(text="Tak for hjælpen Lynet, super service")
    assert handle(mention, triage_deps, MemoryQueue()) is not None
    triage_deps.max_post_age = timedelta(minutes=5)  # the post is stale by now
    assert handle(mention, triage_deps, MemoryQueue()) is None
    assert audit.lines == ["decision"]
    late = handle(make_mention(fetch_id="another-fetch"), triage_deps, MemoryQueue())
    assert late is not None and late.reason is Reason.STALE  # another fetch: stale, once


def test_a_post_decided_before_the_upgrade_is_not_decided_again(
    triage_deps: TriageDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcare.pipeline import decided_key, seen_key

    audit = Audit(monkeypatch)
    mention = make_mention()
    post = triage_deps.hasher.mention(mention.key)
    # As the previous version left them: the post claimed by its fetch, the fetch done.
    assert triage_deps.state.claim(seen_key(post), mention.fetch_id, 3600, reentrant=True)
    assert triage_deps.state.claim(decided_key(post, mention.fetch_id), "old", 60)
    triage_deps.state.update(decided_key(post, mention.fetch_id), "old", state="done")
    assert handle(mention, triage_deps, MemoryQueue()) is None and audit.lines == []


def test_a_failed_attempt_leaves_the_decision_to_the_retry(triage_deps: TriageDeps) -> None:
    class Broken:
        def send_all(self, messages: object, delay_s: int = 0) -> None:
            from socialcare.errors import RetryableError

            raise RetryableError("SQS send failed")

    mention = make_mention()
    with pytest.raises(Exception, match="SQS send failed"):
        handle(mention, triage_deps, Broken())  # type: ignore[arg-type]
    queue = MemoryQueue()
    decision = handle(mention, triage_deps, queue)  # the retry: not `duplicate`, not dropped
    assert decision is not None and decision.reason is Reason.CONTACT and len(queue.messages) == 1


# ------------------------------------------------------------------ CRM outage
class CrmDown:
    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        def fail(*a: object, **k: object) -> None:
            raise CrmError("CRM GET answered HTTP 503")

        return fail


def test_a_crm_outage_waits_on_the_queue_then_decides_once(
    triage_deps: TriageDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    audit = Audit(monkeypatch)
    crm, triage_deps.crm = triage_deps.crm, CrmDown()  # type: ignore[assignment]
    waiting, outreach = MemoryQueue(), MemoryQueue()
    mention = make_mention()
    for round_ in range(3):  # each copy comes back later, and waits longer
        assert handle(mention, triage_deps, outreach, retry_queue=waiting) is None
        mention = type(mention).model_validate_json(waiting.messages[-1])
        assert mention.deferred == round_ + 1
        assert 15 * 2**round_ <= waiting.delays[-1] <= 30 * 2**round_
    assert audit.lines == [] and outreach.messages == []  # nothing decided meanwhile
    triage_deps.crm = crm  # the CRM answers again
    decision = handle(mention, triage_deps, outreach, retry_queue=waiting)
    assert decision is not None and decision.reason is Reason.CONTACT  # not `duplicate`
    assert audit.lines == ["decision"] and len(outreach.messages) == 1
    assert json.loads(waiting.messages[0])["fetch_id"] == mention.fetch_id


def test_a_negative_wait_count_is_refused_at_the_edge() -> None:
    with pytest.raises(ValueError, match="deferred"):  # it would make the backoff zero
        make_mention(deferred=-1)


def test_a_crm_outage_longer_than_the_post_age_ends_stale(triage_deps: TriageDeps) -> None:
    triage_deps.crm = CrmDown()  # type: ignore[assignment]
    old = make_mention(created_at=NOW - timedelta(hours=73), deferred=300)
    decision = handle(old, triage_deps, MemoryQueue(), retry_queue=MemoryQueue())
    assert decision is not None and decision.reason is Reason.STALE
