"""The send window: hours in the brand's time zone, and what the mailer does outside them.

Every time here is fixed (an injected clock), so the tests pass at any hour and date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from socialcare.adapters.memory import MemoryMailer
from socialcare.errors import ConfigError, MailDeferred
from socialcare.identity.policy import person_key
from socialcare.models import Reason
from socialcare.outreach.mailer import MailerDeps, send_outreach
from socialcare.outreach.window import DEFAULT, SendWindow
from socialcare_cli.template import load_template
from tests.unit.conftest import make_request

CPH = "Europe/Copenhagen"
OFFICE = SendWindow.parse(DEFAULT, CPH)
# Copenhagen is UTC+1 in winter, UTC+2 in summer. 2030-01-07 is a Monday.
MONDAY_0800_WINTER = datetime(2030, 1, 7, 7, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "opens"),
    [
        ("2030-01-07 10:00", "2030-01-07 10:00"),  # Monday 11:00 local: open
        ("2030-01-07 06:59", "2030-01-07 07:00"),  # Monday 07:59 local: opens at 08:00
        ("2030-01-07 07:00", "2030-01-07 07:00"),  # the start is inside
        ("2030-01-07 15:00", "2030-01-08 07:00"),  # 16:00 local: closed (end is outside)
        ("2030-01-04 15:30", "2030-01-07 07:00"),  # Friday after hours: Monday morning
        ("2030-01-05 12:00", "2030-01-07 07:00"),  # Saturday
        ("2030-01-06 23:30", "2030-01-07 07:00"),  # Sunday 00:30 local is already Monday
        # Summer time starts on Sunday 2030-03-31: Monday 08:00 local is 06:00 UTC.
        ("2030-03-30 12:00", "2030-04-01 06:00"),
        # ... and ends on Sunday 2030-10-27: Monday 08:00 local is 07:00 UTC again.
        ("2030-10-26 12:00", "2030-10-28 07:00"),
    ],
)
def test_office_hours_in_copenhagen(now: str, opens: str) -> None:
    assert OFFICE.opens_at(utc(now)) == utc(opens)


def test_spans_days_wrapping_the_week_and_midnight() -> None:
    window = SendWindow.parse("Mon-Thu 08:00-16:00, Fri 08:00-12:00, Sat-Sun 22:00-24:00", "UTC")
    assert window.opens_at(utc("2030-01-11 12:00")) == utc("2030-01-12 22:00")  # Fri noon
    assert window.opens_at(utc("2030-01-12 23:59")) == utc("2030-01-12 23:59")  # Sat night
    assert window.opens_at(utc("2030-01-13 00:00")) == utc("2030-01-13 22:00")
    wrapped = SendWindow.parse("Fri-Mon 10:00-11:00", "UTC")
    assert wrapped.opens_at(utc("2030-01-08 12:00")) == utc("2030-01-11 10:00")  # Tue -> Fri
    assert wrapped.opens_at(utc("2030-01-13 10:30")) == utc("2030-01-13 10:30")  # Sunday


def test_always_is_always_open() -> None:
    now = utc("2030-01-05 03:00")
    assert SendWindow.parse("always", CPH).opens_at(now) == now


@pytest.mark.parametrize(
    ("text", "zone", "says"),
    [
        ("weekdays 8-16", CPH, "is not like"),
        ("Mon-Fri 16:00-08:00", CPH, "ends before it starts"),
        ("Mon-Fri 08:00-16:00", "Europe/Atlantis", "time zone"),
    ],
)
def test_a_wrong_window_is_a_clear_config_error(text: str, zone: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        SendWindow.parse(text, zone)


def test_the_template_pattern_and_the_parser_agree() -> None:
    spec = load_template()["Parameters"]["SendWindow"]
    assert spec["Default"] == DEFAULT
    pattern = re.compile(spec["AllowedPattern"])
    good = [DEFAULT, "always", "Mon-Thu 08:00-16:00, Fri 08:00-15:00", "Sat 10:00-24:00"]
    for text in good:
        assert pattern.fullmatch(text), text
        SendWindow.parse(text, CPH)
    for text in ["weekdays", "Mon-Fri 8-16", "Mon-Fri 08:00-25:00", ""]:
        assert not pattern.fullmatch(text), text


@pytest.fixture
def office(mailer_deps: MailerDeps) -> MailerDeps:
    mailer_deps.window = OFFICE
    return mailer_deps


def test_outside_the_window_the_request_waits_until_it_opens(office: MailerDeps) -> None:
    now = MONDAY_0800_WINTER - timedelta(hours=2)
    request = make_request(post_created_at=now - timedelta(minutes=10))
    with pytest.raises(MailDeferred) as deferred:
        send_outreach(request, office, "live", now=now)
    assert (deferred.value.why, deferred.value.retry_in_s) == ("send_window", 7200)
    assert office.state.holder(person_key("h1")) is None  # no key claimed meanwhile
    assert office.state.holder(f"rate#{now:%Y%m%d%H}") is None  # nothing counted
    assert isinstance(office.mailer, MemoryMailer) and office.mailer.sent == []

    # The re-queued copy comes back when the window is open and is sent then.
    decision = send_outreach(request, office, "live", now=MONDAY_0800_WINTER)
    assert decision is not None and decision.reason is Reason.CONTACT
    assert [e.to for e in office.mailer.sent] == ["mette@example.net"]


def test_a_post_stale_by_the_time_the_window_opens_is_stale_now(office: MailerDeps) -> None:
    friday_evening = utc("2030-01-04 18:00")
    # Monday 08:00 local is 07:00 UTC: a post of Friday 06:00 UTC is 73 h old by then, over
    # MaxPostAgeHours (72), though only 12 h old now.
    old = make_request(post_created_at=utc("2030-01-04 06:00"))
    decision = send_outreach(old, office, "live", now=friday_evening)
    assert decision is not None and decision.reason is Reason.STALE
    fresh = make_request(post_created_at=friday_evening - timedelta(minutes=5))
    with pytest.raises(MailDeferred):
        send_outreach(fresh, office, "live", now=friday_evening)


def test_review_waits_too_and_shadow_decides_at_once(office: MailerDeps) -> None:
    saturday = utc("2030-01-05 12:00")
    request = make_request(post_created_at=saturday - timedelta(minutes=10))
    with pytest.raises(MailDeferred):
        send_outreach(request, office, "review", now=saturday)
    decision = send_outreach(request, office, "shadow", now=saturday)  # sends nothing anyway
    assert decision is not None and decision.reason is Reason.CONTACT


def test_someone_already_being_emailed_is_decided_at_once(office: MailerDeps) -> None:
    saturday = utc("2030-01-05 12:00")
    office.state.claim(person_key("h1"), "another mention", 3600)
    request = make_request(post_created_at=saturday - timedelta(minutes=10))
    decision = send_outreach(request, office, "live", now=saturday)
    assert decision is not None and decision.reason is Reason.RECENTLY_CONTACTED
