"""Review mode that leads somewhere: the review e-mail's Approve and Reject links, the
customer's per-person key held for them, and the mailer's checks when an agent approves.

In-memory fakes; the same flow over HTTP, KMS and SES is tests/integration/test_review.py.
Clocks are injected: the links' expiry is checked against a given `now`.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.adapters.memory import MemoryMailer, MemoryQueue, MemoryState
from socialcare.errors import ConfigError, MailDeferred, MailThrottled
from socialcare.hashing import Hasher
from socialcare.identity.policy import optout_key, person_key
from socialcare.models import Interaction, OutreachRequest, Reason
from socialcare.operations.pilot import PilotList
from socialcare.outreach import review
from socialcare.outreach.approval import APPROVED, REVIEW, unseal
from socialcare.outreach.mailer import REVIEW_UNSUBSCRIBE, MailerDeps, send_outreach
from socialcare.outreach.window import SendWindow
from tests.unit.conftest import make_request

KEY = person_key("h1")


@pytest.fixture
def agents(mailer_deps: MailerDeps) -> review.ReviewDeps:
    """The Review function's deps over the mailer's state and sealer (one stack)."""
    assert mailer_deps.review is not None
    return review.ReviewDeps(
        state=mailer_deps.state,
        sealer=mailer_deps.review.sealer,
        queue=MemoryQueue(),
        brand=mailer_deps.brand,
        cooldown=mailer_deps.cooldown,
    )


def sent(deps: MailerDeps) -> list[Any]:
    assert isinstance(deps.mailer, MemoryMailer)
    return deps.mailer.sent


def token_in(text: str, action: str = "approve") -> str:
    found = re.search(rf"/{action}\?token=([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


def handed_over(agents: review.ReviewDeps) -> list[OutreachRequest]:
    assert isinstance(agents.queue, MemoryQueue)
    return [OutreachRequest.model_validate_json(m) for m in agents.queue.messages]


def reviewed(deps: MailerDeps, **fields: Any) -> str:
    """Send the review copy; return its link token."""
    decision = send_outreach(make_request(**fields), deps, "review")
    assert decision is not None and decision.reason is Reason.CONTACT
    return token_in(sent(deps)[-1].text)


def approve_and_send(deps: MailerDeps, agents: review.ReviewDeps, token: str) -> Any:
    answer = review.decide(agents, "approve", token)
    assert answer.status == 200, answer.html
    (request,) = handed_over(agents)[-1:]
    return send_outreach(request, deps, "review")


def test_the_review_copy_has_the_links_and_no_customer_unsubscribe(mailer_deps: MailerDeps) -> None:
    send_outreach(make_request(), mailer_deps, "review")
    (email,) = sent(mailer_deps)
    assert email.to == "agents@lynet.example"
    assert email.text.startswith("REVIEW: would go to mette@example.net")
    approve, reject = token_in(email.text, "approve"), token_in(email.text, "reject")
    assert approve == reject and f"/approve?token={approve}" in email.html
    # The customer's link and headers are theirs alone: an agent's click or mail client
    # must never opt the customer out.
    assert mailer_deps.unsubscribe_base not in email.text + email.html
    assert REVIEW_UNSUBSCRIBE in email.text and "List-Unsubscribe" not in email.headers
    # The customer's data is sealed in the link, not written anywhere.
    assert "mette" not in approve.lower()


def test_the_hold_lasts_as_long_as_the_links(mailer_deps: MailerDeps) -> None:
    token = reviewed(mailer_deps)
    held = mailer_deps.state.holder(KEY)
    assert held is not None and held["state"] == REVIEW and held["owner"] == "m1"
    assert mailer_deps.review is not None
    expires = unseal(mailer_deps.review.sealer, token, datetime.now(UTC)).expires
    assert abs(int(held["expires_at"]) - expires.timestamp()) < 5
    assert abs(expires - datetime.now(UTC) - timedelta(hours=48)) < timedelta(seconds=5)


def test_review_mode_needs_its_links(mailer_deps: MailerDeps) -> None:
    mailer_deps.review = None
    with pytest.raises(ConfigError, match="REVIEW_URL"):
        send_outreach(make_request(), mailer_deps, "review")


def test_get_shows_the_question_and_changes_nothing(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    before = dict(mailer_deps.state.holder(KEY) or {})
    for action in ("approve", "reject"):
        answer = review.confirm(agents, action, token)
        assert answer.status == 200 and '<form method="post"' in answer.html
        assert "Godkend" in answer.html or "Afvis" in answer.html
    assert mailer_deps.state.holder(KEY) == before and handed_over(agents) == []


def test_approve_sends_exactly_one_email_to_the_customer(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    decision = approve_and_send(mailer_deps, agents, token)
    assert decision is not None and decision.reason is Reason.CONTACT
    _, customer = sent(mailer_deps)
    assert customer.to == "mette@example.net" and "REVIEW" not in customer.text
    assert customer.headers["List-Unsubscribe"].startswith("<https://lynet.example/unsubscribe")
    assert mailer_deps.crm.recorded[0][1]["kind"] == "social_outreach"  # type: ignore[attr-defined]
    held = mailer_deps.state.holder(KEY)
    assert held is not None and held["state"] == "recorded"
    cooldown = int(held["expires_at"]) - time.time()
    assert cooldown > mailer_deps.cooldown.total_seconds() - 60  # the cooldown, from the send
    # A second click and a second copy of the handed-over request: nothing more.
    again = review.decide(agents, "approve", token)
    assert again.status == 200 and "Allerede godkendt" in again.html
    assert len(handed_over(agents)) == 1
    send_outreach(handed_over(agents)[0], mailer_deps, "review")
    assert len(sent(mailer_deps)) == 2


def test_reject_releases_the_person_and_is_audited_once(
    mailer_deps: MailerDeps, agents: review.ReviewDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = reviewed(mailer_deps)
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(review.logger, "info", lambda msg, extra: logged.append((msg, extra)))
    assert review.decide(agents, "reject", token).status == 200
    assert mailer_deps.state.holder(KEY) is None and handed_over(agents) == []
    (audit,) = [extra for msg, extra in logged if msg == "decision"]
    assert audit["reason"] == "rejected_by_agent" and audit["stage"] == "review"
    assert audit["mention_id"] == "m1" and audit["customer_hash"] == "h1"
    assert "mette" not in str(audit).lower()  # hashes and codes, no content
    # Twice, or Approve after Reject: nothing changes, nothing is sent.
    assert review.decide(agents, "reject", token).status == 200
    late = review.decide(agents, "approve", token)
    assert late.status == 409 and handed_over(agents) == []
    assert len([m for m, _ in logged if m == "decision"]) == 1
    # The person is free again for another mention.
    other = send_outreach(make_request(mention_id="m2"), mailer_deps, "live")
    assert other is not None and other.reason is Reason.CONTACT


def test_reject_after_approve_is_refused(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    approve_and_send(mailer_deps, agents, token)
    answer = review.decide(agents, "reject", token)
    assert answer.status == 409 and mailer_deps.state.holder(KEY) is not None


def test_expired_forged_and_malformed_links_change_nothing(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    before = dict(mailer_deps.state.holder(KEY) or {})
    later = datetime.now(UTC) + timedelta(hours=49)
    forged = "A" * len(token)  # the right shape, not sealed by us
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    cases = [(token, later, 410), (forged, None, 403), (altered, None, 403), ("x!", None, 400)]
    for bad, now, status in [*cases, ("", None, 400)]:
        for page in (review.confirm, review.decide):
            answer = page(agents, "approve", bad, now)
            assert answer.status == status, (bad, page)
            assert "Linket" in answer.html and "link" in answer.html  # Danish and English
    assert review.decide(agents, "delete", token).status == 404
    assert mailer_deps.state.holder(KEY) == before and handed_over(agents) == []


def test_expiry_releases_the_person(mailer_deps: MailerDeps) -> None:
    reviewed(mailer_deps)
    assert isinstance(mailer_deps.state, MemoryState)
    mailer_deps.state.items[KEY]["expires_at"] = str(int(time.time()) - 1)  # the window ends
    other = send_outreach(make_request(mention_id="m2"), mailer_deps, "live")
    assert other is not None and other.reason is Reason.CONTACT


def opted_out(deps: MailerDeps) -> None:
    deps.state.claim(optout_key("h1"), "unsubscribe", 3600)


def left_the_pilot(deps: MailerDeps) -> None:
    deps.pilot = PilotList(customers=["someone-else"])


def called_by_service(deps: MailerDeps) -> None:
    sms = Interaction(channel="sms", kind="case", at=datetime.now(UTC) - timedelta(hours=1))
    deps.crm.history["C-1"] = [sms]  # type: ignore[attr-defined]


def emailed_under_the_new_key(deps: MailerDeps) -> None:
    # A hash-key rotation between review and approval: C-1 claimed under the new key.
    new = Hasher("rotated-hash-key-0001", "unit-test-hash-key-000")
    deps.hasher = new
    deps.state.claim(person_key(new.person("C-1")), "other-mention", 3600)


@pytest.mark.parametrize(
    ("meanwhile", "reason"),
    [
        (opted_out, Reason.OPTED_OUT),
        (left_the_pilot, Reason.NOT_IN_PILOT),
        (called_by_service, Reason.ALREADY_IN_CONTACT),
        (emailed_under_the_new_key, Reason.RECENTLY_CONTACTED),
    ],
)
def test_every_rule_is_asked_again_when_an_agent_approves(
    mailer_deps: MailerDeps, agents: review.ReviewDeps, meanwhile: Any, reason: Reason
) -> None:
    token = reviewed(mailer_deps, customer_ref="C-1")
    meanwhile(mailer_deps)
    decision = approve_and_send(mailer_deps, agents, token)
    assert decision is not None and decision.reason is reason
    assert len(sent(mailer_deps)) == 1  # the review copy only
    assert mailer_deps.state.holder(KEY) is None  # nobody e-mailed: the hold is let go


def test_a_post_too_old_by_approval_is_stale(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    old = datetime.now(UTC) - timedelta(hours=70)
    token = reviewed(mailer_deps, post_created_at=old)
    assert review.decide(agents, "approve", token).status == 200
    (request,) = handed_over(agents)
    decision = send_outreach(request, mailer_deps, "review", now=old + timedelta(hours=73))
    assert decision is not None and decision.reason is Reason.STALE
    assert len(sent(mailer_deps)) == 1


def test_the_send_window_and_the_hourly_cap_wait_and_keep_the_approval(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    assert review.decide(agents, "approve", token).status == 200
    (request,) = handed_over(agents)
    now = datetime.now(UTC)
    mailer_deps.window = SendWindow.parse("Mon-Sun 00:00-00:01", "UTC")  # closed most of a day
    closed = now.replace(hour=12)
    request = request.model_copy(update={"post_created_at": closed - timedelta(hours=1)})
    with pytest.raises(MailDeferred, match="send_window"):
        send_outreach(request, mailer_deps, "review", now=closed)
    assert (mailer_deps.state.holder(KEY) or {})["state"] == APPROVED
    mailer_deps.window = None
    mailer_deps.max_per_hour = 0
    with pytest.raises(MailDeferred, match="hourly_cap"):
        send_outreach(request, mailer_deps, "review", now=closed)
    assert (mailer_deps.state.holder(KEY) or {})["state"] == APPROVED  # given back
    mailer_deps.max_per_hour = 50
    decision = send_outreach(request, mailer_deps, "review", now=closed + timedelta(hours=1))
    assert decision is not None and decision.reason is Reason.CONTACT
    assert [e.to for e in sent(mailer_deps)] == ["agents@lynet.example", "mette@example.net"]


def test_ses_throttling_keeps_the_approval_for_the_retry(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    review.decide(agents, "approve", token)
    (request,) = handed_over(agents)
    real = mailer_deps.mailer

    class Throttled:
        def send(self, email: Any) -> str:
            raise MailThrottled("slow down")

    mailer_deps.mailer = Throttled()
    with pytest.raises(MailDeferred, match="throttled"):
        send_outreach(request, mailer_deps, "review")
    assert (mailer_deps.state.holder(KEY) or {})["state"] == APPROVED
    mailer_deps.mailer = real
    decision = send_outreach(request, mailer_deps, "review")
    assert decision is not None and decision.reason is Reason.CONTACT
    assert len(sent(mailer_deps)) == 2


def test_an_approved_flag_without_an_approval_sends_nothing(mailer_deps: MailerDeps) -> None:
    reviewed(mailer_deps)
    forged = make_request(approved=True)  # the hold is still `review`: nobody approved
    assert send_outreach(forged, mailer_deps, "live") is None
    assert (
        send_outreach(make_request(approved=True, customer_hash="h9"), mailer_deps, "live") is None
    )
    assert len(sent(mailer_deps)) == 1
    assert (mailer_deps.state.holder(KEY) or {})["state"] == REVIEW


def test_shadow_still_wins_over_an_approval(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    review.decide(agents, "approve", token)
    (request,) = handed_over(agents)
    decision = send_outreach(request, mailer_deps, "shadow")  # the kill switch
    assert decision is not None and len(sent(mailer_deps)) == 1
    assert mailer_deps.state.holder(KEY) is None


def test_an_approved_name_match_goes_to_the_customer_in_live_mode(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    decision = send_outreach(make_request(match="name"), mailer_deps, "live")
    assert decision is not None and sent(mailer_deps)[0].to == "agents@lynet.example"
    review.decide(agents, "approve", token_in(sent(mailer_deps)[0].text))
    send_outreach(handed_over(agents)[0], mailer_deps, "live")
    assert sent(mailer_deps)[1].to == "mette@example.net"


def test_a_lost_hand_over_is_handed_over_again(
    mailer_deps: MailerDeps, agents: review.ReviewDeps
) -> None:
    token = reviewed(mailer_deps)
    review.decide(agents, "approve", token)  # the key moved; say the queue lost it
    assert isinstance(agents.queue, MemoryQueue)
    agents.queue.messages.clear()
    again = review.decide(agents, "approve", token)
    assert again.status == 200 and len(handed_over(agents)) == 1
    send_outreach(handed_over(agents)[0], mailer_deps, "review")
    assert len(sent(mailer_deps)) == 2


def test_pages_keep_the_token_private(agents: review.ReviewDeps) -> None:
    assert review.HEADERS["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in review.HEADERS["Content-Security-Policy"]
