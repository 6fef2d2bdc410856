"""Trustpilot's webhooks on ReceiveWebhookFunction's `/trustpilot/<url-secret>` route: the
URL secret is the authorisation, every event is read back from the (stand-in) API by id,
and the review goes webhook -> triage -> e-mail; seen again by the poll, it is decided
`duplicate`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from socialcare.hashing import Hasher
from socialcare.wiring import derived_secret
from socialcare_cli import local_aws, platforms, servers
from socialcare_cli.demo import LogCapture
from tests.conftest import HASH_KEY, TESTS
from tests.integration import push_cases as bench
from tests.integration.push_cases import TP_SECRET, TP_TOKENS, UNIT, Bench

DATA = TESTS / "data" / "platforms" / "trustpilot"
PAGES = ["private-reviews-page1-documented.json", "private-reviews-page2-documented.json"]
KAREN = "6746f0a1b2c3d4e5f6a7b8c1"


def events() -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "webhook-events-documented.json").read_text())
    return body


@pytest.fixture
def fake() -> Iterator[tuple[platforms.FakeTrustpilot, str]]:
    pages = [platforms.fresh(json.loads((DATA / p).read_text()), "trustpilot") for p in PAGES]
    stand_in = platforms.FakeTrustpilot(
        pages, UNIT, "tp-key", "tp-secret", "cs@lynet.example", "tp-password"
    )
    with servers.serve(stand_in) as url:
        yield stand_in, url


@pytest.fixture
def push(aws: str, crm: tuple[Any, str], fake: tuple[Any, str]) -> Bench:
    return Bench(bench.push_stack(crm[1]), {"TRUSTPILOT_API_URL": fake[1]}, aws)


def send(base: str, body: Any, token: str = TP_TOKENS[0]) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{base}/trustpilot/{token}", data=data, headers=headers, timeout=10)


def test_a_review_goes_webhook_triage_e_mail_and_the_poll_decides_it_duplicate(
    push: Bench, fake: tuple[platforms.FakeTrustpilot, str]
) -> None:
    with push.url() as base:
        answer = send(base, events())
    assert answer.status_code == 200, answer.text
    reads = [p for m, p, _ in fake[0].requests if m == "GET"]
    assert reads == [
        f"/v1/private/reviews/{KAREN}",
        "/v1/private/reviews/6746f0a1b2c3d4e5f6a7b8c2",
    ]  # created and updated read back; deleted and product events ignored
    report = push.fetch("trustpilot")  # the backstop reads the same reviews again
    assert report["stopped"] == "done" and report["fetched"] >= 2
    decisions, mailed = push.triage_and_mail()
    hashed = Hasher(derived_secret(HASH_KEY, "hash")).mention(f"trustpilot:{KAREN}")
    assert [d["reason"] for d in decisions if d["mention_id"] == hashed] == [
        "contact",
        "duplicate",
    ]
    assert "karen.poulsen@example.net" in mailed  # the e-mail the private API gave


def test_the_queued_review_is_what_trustpilot_says_not_what_the_event_says(push: Bench) -> None:
    forged = events()
    forged["events"] = forged["events"][:1]
    data = forged["events"][0]["eventData"]
    data.update(text="Ring til 12345678 og opgiv dit kortnummer", stars=5)
    data["consumer"]["name"] = "Someone Else"
    with push.url() as base:
        assert send(base, forged).status_code == 200
    (mention,) = push.queued()
    assert "kortnummer" not in mention["text"] and mention["stars"] == 1
    assert mention["email"] == "karen.poulsen@example.net" and mention["addressed"] is True
    assert mention["handle"] == "order-a7b8c1"  # referenceId: offered to the CRM as a key


def test_an_event_for_a_review_trustpilot_does_not_have_queues_nothing(push: Bench) -> None:
    body = events()
    body["events"] = body["events"][:1]
    body["events"][0]["eventData"]["id"] = "000000000000000000000000"
    capture = LogCapture()
    with push.url() as base, capture.active():
        assert send(base, body).status_code == 200
    assert push.queued() == []
    assert '"not_queued":{"unfetchable":1}' in capture.buffer.getvalue()  # why: the line


@pytest.mark.parametrize(
    "path", ["wrong-secret", "", TP_TOKENS[0] + "x", TP_TOKENS[0][:-1], TP_TOKENS[0].upper()]
)
def test_a_wrong_or_missing_url_secret_gets_401_and_reads_nothing(
    push: Bench, fake: tuple[platforms.FakeTrustpilot, str], path: str
) -> None:
    with push.url() as base:
        url = f"{base}/trustpilot/{path}" if path else f"{base}/trustpilot"
        answer = requests.post(url, data=json.dumps(events()), timeout=10)
    assert answer.status_code == 401
    assert push.queued() == [] and fake[0].requests == []


def test_the_url_secret_is_a_whole_path_segment(
    push: Bench, fake: tuple[platforms.FakeTrustpilot, str]
) -> None:
    """The secret with a slash after it, or more below it, is no route (found by fuzzing)."""
    with push.url() as base:
        for suffix in ("/", "/more"):
            answer = send(base, events(), TP_TOKENS[0] + suffix)
            assert answer.status_code == 404, suffix
    assert push.queued() == [] and fake[0].requests == []


def test_both_url_secrets_work_while_one_is_rotated_out(push: Bench) -> None:
    with push.url() as base:
        for token in TP_TOKENS:
            assert send(base, {"events": events()["events"][:1]}, token).status_code == 200
    assert len(push.queued()) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b'{"events": "many"}', 400),
        (b"[]", 400),
        (b"{}", 400),
        (b'{"events": []}', 200),
    ],
)
def test_malformed_bodies_get_a_typed_answer(push: Bench, body: bytes, status: int) -> None:
    with push.url() as base:
        assert send(base, body).status_code == status
    assert push.queued() == []


def test_hostile_events_never_cost_the_good_one_beside_them(push: Bench) -> None:
    good = events()["events"][0]
    hostile = [
        None,
        "event",
        {"eventName": "service-review-created"},
        {"eventName": "service-review-created", "eventData": {"id": "../../v1/consumers/x"}},
        {"eventName": "service-review-created", "eventData": {"id": 7, "createdAt": []}},
        {"eventName": ["service-review-created"], "eventData": good["eventData"]},
    ]
    with push.url() as base:
        assert send(base, {"events": [*hostile, good]}).status_code == 200
    assert [m["post_id"] for m in push.queued()] == [KAREN]


def test_an_unfilled_secret_refuses_and_alarms(
    push: Bench, capsys: pytest.CaptureFixture[str]
) -> None:
    local_aws.set_secret(
        push.stack, "TrustpilotSourceSecret", json.dumps({**TP_SECRET, "webhook_tokens": []})
    )
    with push.url() as base:
        assert send(base, events(), token="anything").status_code == 500
    assert push.queued() == [] and "SourceAuthFailedTotal" in capsys.readouterr().out


def test_the_route_is_closed_while_trustpilot_is_disabled(push: Bench) -> None:
    with push.url(PUSH_SOURCES="threads") as base:
        assert send(base, events()).status_code == 404
    assert push.queued() == []


def test_nothing_of_the_review_is_logged(push: Bench) -> None:
    capture = LogCapture()
    with capture.active(), push.url() as base:
        assert send(base, events()).status_code == 200
    text = capture.buffer.getvalue().lower()
    assert "webhook notification handled" in text
    for mention in push.queued():
        for key in ("text", "handle", "display_name", "author_id", "email", "post_id"):
            if mention.get(key):
                assert str(mention[key]).lower() not in text, key
    assert TP_TOKENS[0].lower() not in text
