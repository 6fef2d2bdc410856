"""The shadow digest's rules, without AWS: what an entry carries, the label rows, the
e-mail (escaped, one mark-wrong link per decision) and the template's retention."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from socialcare.adapters.memory import MemoryMailer, MemoryState
from socialcare.brand import load_brand
from socialcare.models import Decision, Mention, Reason
from socialcare.operations import digest, feedback
from socialcare.outreach.unsubscribe import TokenError, make_token
from socialcare_cli.template import TEMPLATE, Stack, load_template

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SECRET = "digest-link-secret-0123456789"
HOSTILE = '<script>alert("x")</script> nettet er nede & <b>igen</b>'


def mention(text: str = HOSTILE, **more: object) -> Mention:
    return Mention.model_validate(
        {"source": "x", "post_id": "1", "url": "https://x.com/a/status/1", "text": text,
         "lang": "da", "created_at": NOW, "handle": "someone", "display_name": "Some One",
         **more}
    )  # fmt: skip


def decision(reason: Reason, mention_id: str = "a" * 32, **more: object) -> Decision:
    return Decision.of(reason, mention_id=mention_id, fetch_id="f1", source="x", **more)


class Inbox:
    def __init__(self, bodies: list[str]) -> None:
        self.bodies = bodies
        self.deleted: list[str] = []
        self.released: list[str] = []

    def receive(self, limit: int) -> list[tuple[str, str]]:
        return [(f"r{i}", b) for i, b in enumerate(self.bodies[:limit])]

    def delete(self, receipts: list[str]) -> None:
        self.deleted += receipts

    def release(self, receipts: list[str]) -> None:
        self.released += receipts


def deps(inbox: Inbox, mailer: object = None) -> digest.DigestDeps:
    return digest.DigestDeps(
        inbox=inbox,
        mailer=mailer or MemoryMailer(),  # type: ignore[arg-type]
        brand=load_brand(),
        sender="kundeservice@lynet.example",
        to="agents@lynet.example",
        mark_wrong_url="https://mark.example/",
        link_secret=SECRET,
    )


@pytest.mark.parametrize("reason", sorted(digest.UNREAD))
def test_a_post_decided_before_it_was_read_travels_without_text_or_label(reason: Reason) -> None:
    item = digest.entry(mention(), decision(reason), NOW)
    assert item.text == "" and digest.label(item) is None


def test_an_entry_carries_the_link_and_text_and_nothing_about_the_author() -> None:
    item = digest.entry(mention(), decision(Reason.CONTACT, match="handle"), NOW)
    wire = item.model_dump_json()
    assert item.url == "https://x.com/a/status/1" and item.text == HOSTILE
    assert "someone" not in wire.replace("x.com/a", "") and "Some One" not in wire


def test_label_rows_say_what_triage_thought_in_train_s_format() -> None:
    complaint = digest.entry(mention(stars=2, addressed=True), decision(Reason.NO_EMAIL), NOW)
    praise = digest.entry(mention("Tak!"), decision(Reason.NOT_COMPLAINT, "b" * 32), NOW)
    rows = [json.loads(x) for x in digest.labels_jsonl([complaint, praise]).splitlines()]
    assert rows == [
        {"id": "a" * 32, "text": HOSTILE, "complaint": True, "lang": "da", "addressed": True,
         "stars": 2},
        {"id": "b" * 32, "text": "Tak!", "complaint": False, "lang": "da", "addressed": False},
    ]  # fmt: skip
    assert set(rows[0]) <= {"id", "text", "complaint", "lang", "addressed", "stars"}


def test_the_e_mail_escapes_posts_and_links_each_decision_to_its_mark() -> None:
    items = [
        digest.entry(mention(), decision(Reason.CONTACT, "a" * 32), NOW),
        digest.entry(mention(), decision(Reason.OWN_ACCOUNT, "b" * 32), NOW),
    ]
    email = digest.compose(items, deps(Inbox([])))
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    links = re.findall(r'href="(https://mark\.example/[^"]+)"', email.html)
    marked = [feedback.verify([SECRET], link.split("token=")[1]) for link in links]
    assert [(m.mention_id, m.reason) for m in marked] == [
        ("a" * 32, "contact"),
        ("b" * 32, "own_account"),
    ]
    (attachment,) = email.attachments
    assert attachment.filename == "labels.jsonl" and attachment.data.count(b"\n") == 1


def test_send_deletes_only_after_ses_took_it_and_releases_on_failure() -> None:
    bodies = [digest.entry(mention(), decision(Reason.CONTACT), NOW).model_dump_json()] * 2
    inbox = Inbox(bodies)  # the same decision twice (a redelivered triage): listed once
    mailer = MemoryMailer()
    assert digest.send_digest(deps(inbox, mailer))["decisions"] == 1
    assert inbox.deleted == ["r0", "r1"] and len(mailer.sent) == 1

    class Refusing:
        def send(self, email: object) -> str:
            raise RuntimeError("SES is down")

    inbox = Inbox(bodies)
    with pytest.raises(RuntimeError):
        digest.send_digest(deps(inbox, Refusing()))
    assert inbox.released == ["r0", "r1"] and inbox.deleted == []


def test_marks_are_signed_expiring_and_counted_once() -> None:
    link = feedback.link("https://m.example/?a=1", SECRET, decision(Reason.NO_EMAIL))
    token = link.split("token=")[1]
    assert link.startswith("https://m.example/?a=1&token=")
    state = MemoryState()
    assert feedback.mark_wrong(state, [SECRET], token)[1] is True
    assert feedback.mark_wrong(state, [SECRET], token)[1] is False
    assert state.holder(feedback.wrong_key("a" * 32))
    for bad in (
        make_token("another-secret-0123456789", f"{'a' * 32}-no_email-x"),  # forged
        make_token(SECRET, f"{'a' * 32}-no_email-x", ttl_s=-1),  # expired
        make_token(SECRET, f"{'a' * 32}-not_a_reason-x"),  # signed, but not a decision
        make_token(SECRET, "a" * 32),  # an opt-out token's shape
    ):
        with pytest.raises(TokenError):
            feedback.verify([SECRET], bad)
    assert feedback.confirm_page([SECRET], load_brand(), "garbage")[0] == 400


def test_the_link_lifetime_is_the_one_the_privacy_record_states() -> None:
    privacy = " ".join((TEMPLATE.parent / "docs" / "privacy.md").read_text().split())
    days = feedback.LINK_TTL_S // 86_400
    assert f"they expire after {days} days" in privacy
    assert f"the reason code) | {days} days |" in privacy


@pytest.mark.parametrize(("period", "hours"), [("hourly", 1), ("daily", 24), ("off", 24)])
def test_decisions_wait_at_most_the_period_plus_an_hour(period: str, hours: int) -> None:
    stack = Stack(load_template(), overrides={"ShadowDigest": period, "ReviewAddress": "a@b.c"})
    res = stack.resources
    queue = res["DigestQueue"]["Properties"]
    assert int(stack.resolve(queue["MessageRetentionPeriod"])) <= hours * 3600 + 3600
    assert queue["SqsManagedSseEnabled"] is True
    fn = res["SendDigestFunction"]["Properties"]
    schedule = fn["Events"]["DigestSchedule"]["Properties"]
    assert (
        stack.resolve(schedule["ScheduleExpression"])
        == f"rate(1 {'hour' if hours == 1 else 'day'})"
    )
    assert stack.resolve(schedule["State"]) == ("DISABLED" if period == "off" else "ENABLED")
    assert queue["VisibilityTimeout"] > fn["Timeout"]
    visibility = fn["Environment"]["Variables"]["DIGEST_VISIBILITY_S"]
    assert isinstance(visibility, str) and int(visibility) > fn["Timeout"]  # env: strings
    triage = res["TriageMentionsFunction"]["Properties"]
    url = stack.resolve(triage["Environment"]["Variables"]["DIGEST_QUEUE_URL"]["Fn::If"][2])
    assert url == ""  # the off branch: triage writes nothing
    granted = [p for p in triage["Policies"] if "DigestQueue" in json.dumps(p)]
    assert [p["Fn::If"][0] for p in granted] == ["DigestEnabled"]  # only with the digest on


def test_the_digest_needs_the_agents_mailbox() -> None:
    rule = load_template()["Rules"]["DigestNeedsReviewAddress"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ShadowDigest"}, "off"]}]}
    assert load_template()["Parameters"]["ShadowDigest"]["Default"] == "off"
