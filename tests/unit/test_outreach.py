"""The mailer: modes, staleness, opt-out, at most one e-mail per person, crash safety."""

from datetime import timedelta

import pytest

from socialcare.adapters.memory import MemoryMailer, MemoryState
from socialcare.errors import MailRejected, MailThrottled
from socialcare.models import Reason
from socialcare.outreach import MailerDeps, send_outreach
from socialcare.policy import optout_key, person_key
from tests.unit.conftest import NOW, make_request


def sent(deps: MailerDeps) -> list:  # type: ignore[type-arg]
    assert isinstance(deps.mailer, MemoryMailer)
    return deps.mailer.sent


def test_live_sends_one_and_records_in_crm(mailer_deps: MailerDeps) -> None:
    decision = send_outreach(make_request(), mailer_deps, "live")
    assert decision is not None and decision.reason is Reason.CONTACT
    assert [e.to for e in sent(mailer_deps)] == ["mette@example.net"]
    assert mailer_deps.crm.recorded[0][1]["kind"] == "social_outreach"  # type: ignore[attr-defined]


def test_shadow_sends_and_claims_nothing(mailer_deps: MailerDeps) -> None:
    decision = send_outreach(make_request(), mailer_deps, "shadow")
    assert decision is not None and decision.reason is Reason.CONTACT
    assert sent(mailer_deps) == []
    assert mailer_deps.state.holder(person_key("h1")) is None


def test_review_goes_to_agents_with_a_why_block(mailer_deps: MailerDeps) -> None:
    send_outreach(make_request(), mailer_deps, "review")
    (email,) = sent(mailer_deps)
    assert email.to == "agents@lynet.example"
    assert email.text.startswith("REVIEW: would go to mette@example.net")


def test_two_mentions_of_one_person_yield_one_email(mailer_deps: MailerDeps) -> None:
    first = send_outreach(make_request(mention_id="m1"), mailer_deps, "live")
    second = send_outreach(make_request(mention_id="m2"), mailer_deps, "live")
    assert first and first.reason is Reason.CONTACT
    assert second and second.reason is Reason.RECENTLY_CONTACTED
    assert len(sent(mailer_deps)) == 1


def test_stale_posts_are_never_written_about(mailer_deps: MailerDeps) -> None:
    old = make_request(post_created_at=NOW - timedelta(hours=80))
    decision = send_outreach(old, mailer_deps, "live")
    assert decision and decision.reason is Reason.STALE and sent(mailer_deps) == []


def test_opted_out_people_are_skipped(mailer_deps: MailerDeps) -> None:
    mailer_deps.state.claim(optout_key("h1"), "unsubscribe", 3600)
    decision = send_outreach(make_request(), mailer_deps, "live")
    assert decision and decision.reason is Reason.OPTED_OUT and sent(mailer_deps) == []


def test_crash_after_ses_accepted_does_not_send_again(mailer_deps: MailerDeps) -> None:
    class CrashAfterSend(MemoryState):
        def update(self, key: str, owner: str, **attrs: str) -> None:
            raise RuntimeError("Lambda timed out right after SES accepted the message")

    state = CrashAfterSend()
    mailer_deps.state = state
    with pytest.raises(RuntimeError):
        send_outreach(make_request(), mailer_deps, "live")
    retry = send_outreach(make_request(), mailer_deps, "live")
    assert retry and retry.reason is Reason.RECENTLY_CONTACTED
    assert len(sent(mailer_deps)) == 1


def test_throttled_send_releases_the_key_so_the_retry_sends(mailer_deps: MailerDeps) -> None:
    class Throttled(MemoryMailer):
        def send(self, email):  # type: ignore[no-untyped-def]
            if not self.sent and not getattr(self, "tried", False):
                self.tried = True
                raise MailThrottled("SES throttled: TooManyRequestsException")
            return super().send(email)

    mailer_deps.mailer = Throttled()
    with pytest.raises(MailThrottled):
        send_outreach(make_request(), mailer_deps, "live")
    retry = send_outreach(make_request(), mailer_deps, "live")
    assert retry and retry.reason is Reason.CONTACT and len(sent(mailer_deps)) == 1


def test_rejected_address_is_not_retried(mailer_deps: MailerDeps) -> None:
    class Rejecting(MemoryMailer):
        def send(self, email):  # type: ignore[no-untyped-def]
            raise MailRejected("SES rejected the message: MessageRejected")

    mailer_deps.mailer = Rejecting()
    assert send_outreach(make_request(), mailer_deps, "live") is None


def test_hourly_cap_holds_the_rest_in_the_queue(mailer_deps: MailerDeps) -> None:
    mailer_deps.max_per_hour = 2
    for i in range(2):
        send_outreach(make_request(mention_id=f"m{i}", customer_hash=f"h{i}"), mailer_deps, "live")
    with pytest.raises(MailThrottled):
        send_outreach(make_request(mention_id="m9", customer_hash="h9"), mailer_deps, "live")
    assert len(sent(mailer_deps)) == 2
