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
