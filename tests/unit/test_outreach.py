"""The mailer: modes, staleness, opt-out, at most one e-mail per person, crash safety."""

from datetime import timedelta

import pytest

from socialcare.adapters.memory import MemoryMailer, MemoryState
from socialcare.errors import (
    MailDeferred,
    MailOutcomeUnknown,
    MailRejected,
    MailThrottled,
    NotTheHolder,
)
from socialcare.identity.policy import optout_key, person_key
from socialcare.models import Reason
from socialcare.outreach.mailer import MAX_THROTTLED, MailerDeps, send_outreach, throttle_delay_s
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


class CrashOnUpdate(MemoryState):
    """The Lambda dies (timeout, OOM) the first time the mailer writes `state`."""

    def __init__(self, crash_on: str) -> None:
        super().__init__()
        self.crash_on: str | None = crash_on

    def update(self, key: str, owner: str, **attrs: str) -> None:
        if attrs.get("state") == self.crash_on:
            self.crash_on = None
            raise RuntimeError("Lambda timed out")
        super().update(key, owner, **attrs)


def recorded(deps: MailerDeps) -> list:  # type: ignore[type-arg]
    return deps.crm.recorded  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("crash_on", ["crm", "recorded"])
def test_crash_after_ses_accepted_sends_once_and_records_once(
    mailer_deps: MailerDeps, crash_on: str
) -> None:
    mailer_deps.state = CrashOnUpdate(crash_on)
    # "recorded": the record reached the CRM; the retry must find it there, not add one.
    if crash_on == "crm":
        real = mailer_deps.crm.record_interaction

        def timeout(*args: object) -> None:
            mailer_deps.crm.record_interaction = real  # type: ignore[method-assign]
            raise RuntimeError("Lambda timed out waiting for the CRM")

        mailer_deps.crm.record_interaction = timeout  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        send_outreach(make_request(), mailer_deps, "live")
    retry = send_outreach(make_request(), mailer_deps, "live")
    # The retry reports the contact the first attempt made and finishes the CRM record.
    assert retry and retry.reason is Reason.CONTACT
    assert len(sent(mailer_deps)) == 1 and len(recorded(mailer_deps)) == 1
    assert mailer_deps.state.holder(person_key("h1"))["state"] == "recorded"  # type: ignore[index]
    again = send_outreach(make_request(), mailer_deps, "live")
    assert again and again.reason is Reason.CONTACT
    assert len(sent(mailer_deps)) == 1 and len(recorded(mailer_deps)) == 1


def test_another_mention_of_a_person_mid_send_is_recently_contacted(
    mailer_deps: MailerDeps,
) -> None:
    mailer_deps.state = CrashOnUpdate("sent")
    with pytest.raises(RuntimeError):
        send_outreach(make_request(mention_id="m1"), mailer_deps, "live")
    other = send_outreach(make_request(mention_id="m2"), mailer_deps, "live")
    assert other and other.reason is Reason.RECENTLY_CONTACTED and len(sent(mailer_deps)) == 1


def test_lost_ses_answer_keeps_the_key_and_never_resends(mailer_deps: MailerDeps) -> None:
    class LostAnswer(MemoryMailer):
        def send(self, email):  # type: ignore[no-untyped-def]
            super().send(email)  # SES got it ...
            raise MailOutcomeUnknown("SES answer lost: ReadTimeoutError")  # ... we never heard

    mailer_deps.mailer = LostAnswer()
    assert send_outreach(make_request(), mailer_deps, "live") is None
    assert send_outreach(make_request(), mailer_deps, "live") is None
    assert len(sent(mailer_deps)) == 1 and recorded(mailer_deps) == []
    assert mailer_deps.state.holder(person_key("h1"))["state"] == "unknown"  # type: ignore[index]


def test_throttled_send_releases_the_key_so_the_retry_sends(mailer_deps: MailerDeps) -> None:
    class Throttled(MemoryMailer):
        def send(self, email):  # type: ignore[no-untyped-def]
            if not self.sent and not getattr(self, "tried", False):
                self.tried = True
                raise MailThrottled("SES throttled: TooManyRequestsException")
            return super().send(email)

    mailer_deps.mailer = Throttled()
    with pytest.raises(MailDeferred) as deferred:
        send_outreach(make_request(), mailer_deps, "live")
    assert deferred.value.why == "throttled" and 15 <= deferred.value.retry_in_s <= 30
    assert mailer_deps.state.holder(person_key("h1")) is None  # released: nothing went out
    hour = [v for k, v in mailer_deps.state.items.items() if k.startswith("rate#")]  # type: ignore[attr-defined]
    assert [h["n"] for h in hour] == ["0"]  # a throttled try does not use up the hour
    retry = send_outreach(make_request(throttled=1), mailer_deps, "live")
    assert retry and retry.reason is Reason.CONTACT and len(sent(mailer_deps)) == 1


def test_throttling_backs_off_longer_each_time_then_gives_up(mailer_deps: MailerDeps) -> None:
    class AlwaysThrottled(MemoryMailer):
        def send(self, email):  # type: ignore[no-untyped-def]
            raise MailThrottled("SES throttled: LimitExceededException")

    ceilings = [min(900, 30 * 2**n) for n in range(6)]
    assert ceilings == [30, 60, 120, 240, 480, 900]
    for times in range(6):
        delays = {throttle_delay_s(times) for _ in range(200)}
        assert ceilings[times] // 2 <= min(delays) and max(delays) <= ceilings[times]
    # All rounds together wait 1.25 to 2.5 hours (docs/email.md's figure).
    lowest = sum(min(900, 30 * 2**n) // 2 for n in range(MAX_THROTTLED))
    highest = sum(min(900, 30 * 2**n) for n in range(MAX_THROTTLED))
    assert (lowest, highest) == (4515, 9030)
    mailer_deps.mailer = AlwaysThrottled()
    with pytest.raises(MailDeferred):
        send_outreach(make_request(throttled=MAX_THROTTLED - 1), mailer_deps, "live")
    with pytest.raises(MailThrottled):  # enough waiting: the queue's retries, then the DLQ
        send_outreach(make_request(throttled=MAX_THROTTLED), mailer_deps, "live")


def test_rejected_address_is_not_retried(mailer_deps: MailerDeps) -> None:
    class Rejecting(MemoryMailer):
        def send(self, email):  # type: ignore[no-untyped-def]
            raise MailRejected("SES rejected the message: MessageRejected")

    mailer_deps.mailer = Rejecting()
    assert send_outreach(make_request(), mailer_deps, "live") is None


def test_hourly_cap_defers_until_the_next_hour_and_releases_the_key(
    mailer_deps: MailerDeps,
) -> None:
    mailer_deps.max_per_hour = 2
    at = NOW.replace(minute=45, second=30)
    for i in range(2):
        req = make_request(mention_id=f"m{i}", customer_hash=f"h{i}")
        send_outreach(req, mailer_deps, "live", now=at)
    # A skip (same person again) does not use up the cap.
    again = send_outreach(
        make_request(mention_id="m7", customer_hash="h0"), mailer_deps, "live", now=at
    )
    assert again and again.reason is Reason.RECENTLY_CONTACTED
    with pytest.raises(MailDeferred) as deferred:
        send_outreach(
            make_request(mention_id="m9", customer_hash="h9"), mailer_deps, "live", now=at
        )
    assert deferred.value.retry_in_s == 14 * 60 + 30 and len(sent(mailer_deps)) == 2
    assert mailer_deps.state.holder(person_key("h9")) is None
    later = send_outreach(
        make_request(mention_id="m9", customer_hash="h9"),
        mailer_deps,
        "live",
        now=at + timedelta(minutes=15),
    )
    assert later and later.reason is Reason.CONTACT and len(sent(mailer_deps)) == 3


def test_memory_state_refuses_updates_by_another_owner() -> None:
    state = MemoryState()
    state.claim("person#h1", "m1", 60)
    with pytest.raises(NotTheHolder):
        state.update("person#h1", "m2", state="sent")
    with pytest.raises(NotTheHolder):
        state.update("person#nobody", "m2", state="sent")
