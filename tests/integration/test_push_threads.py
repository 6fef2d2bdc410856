"""Threads' webhooks on ReceiveWebhookFunction's `/threads` route: the hub.challenge
handshake, X-Hub-Signature-256 under the Threads app's secret, each `mentions`/`replies`
value read back from the (stand-in) Threads API, then webhook -> triage -> e-mail; the
mention seen again by the `/mentions` poll is decided `duplicate`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from socialcare.hashing import Hasher
from socialcare.wiring import derived_secret
from socialcare_cli import platforms, servers
from socialcare_cli.fake_graph import sign
from tests.conftest import HASH_KEY, TESTS
from tests.integration import push_cases as bench
from tests.integration.push_cases import THREADS_SECRET, THREADS_USER, Bench

DATA = TESTS / "data" / "platforms" / "threads"
MENTION = "18050000000000101"
REPLY = "18050000000000102"


def stamp(minutes_ago: int) -> str:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return at.strftime("%Y-%m-%dT%H:%M:%S+0000")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def fresh_posts() -> list[dict[str, Any]]:
    """The account's mentions, a reply in its thread and a search hit, a few minutes old."""
    posts = [*load("mentions-page.json")["data"], *load("keyword-search-documented.json")["data"]]
    posts.append(dict(load("webhook-replies-documented.json")["values"]["value"]))
    for age, post in enumerate(posts):
        post["timestamp"] = stamp(5 + age)
    return posts


@pytest.fixture
def fake() -> Iterator[tuple[platforms.FakeThreads, str]]:
    stand_in = platforms.FakeThreads(
        fresh_posts(), THREADS_USER, THREADS_SECRET["access_token"], ["18050000000000120"]
    )
    with servers.serve(stand_in) as url:
        yield stand_in, url


@pytest.fixture
def push(aws: str, crm: tuple[Any, str], fake: tuple[Any, str]) -> Bench:
    crm[0].customers.append(
        {
            "id": "C-3001",
            "name": "Sofie Kjær",
            "email": "sofie.kjaer@example.net",
            "language": "da",
            "city": "Aalborg",
            "handles": ["threads:sofie.kjaer"],
            "do_not_contact": False,
        }
    )
    return Bench(bench.push_stack(crm[1]), {"THREADS_API_URL": f"{fake[1]}/v1.0"}, aws)


def signed(data: bytes, secret: str = THREADS_SECRET["app_secret"]) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(secret, data), "Content-Type": "application/json"}


def body(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_the_handshake_echoes_the_challenge_for_the_threads_verify_token(push: Bench) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "4242"}
    with push.url() as base:
        good = requests.get(
            f"{base}/threads",
            params={**query, "hub.verify_token": THREADS_SECRET["verify_token"]},
            timeout=5,
        )
        bad = requests.get(f"{base}/threads", params={**query, "hub.verify_token": "x"}, timeout=5)
    assert (good.status_code, good.text) == (200, "4242")
    assert bad.status_code == 403 and "4242" not in bad.text


def test_a_mention_goes_webhook_triage_e_mail_and_the_poll_decides_it_duplicate(
    push: Bench, fake: tuple[platforms.FakeThreads, str]
) -> None:
    data = body("webhook-mentions-documented.json")
    with push.url() as base:
        answer = requests.post(f"{base}/threads", data=data, headers=signed(data), timeout=10)
    assert answer.status_code == 200, answer.text
    assert [p for m, p, _ in fake[0].requests] == [f"/v1.0/{MENTION}"]  # read back by id
    assert push.fetch("threads")["stopped"] == "done"
    decisions, mailed = push.triage_and_mail()
    hashed = Hasher(derived_secret(HASH_KEY, "hash")).mention(f"threads:{MENTION}")
    assert [d["reason"] for d in decisions if d["mention_id"] == hashed] == [
        "contact",
        "duplicate",
    ]
    assert mailed == ["sofie.kjaer@example.net"]


def test_a_reply_in_our_thread_is_addressed(push: Bench) -> None:
    data = body("webhook-replies-documented.json")
    with push.url() as base:
        assert requests.post(f"{base}/threads", data=data, headers=signed(data), timeout=10).ok
    (mention,) = push.queued()
    assert (mention["post_id"], mention["addressed"], mention["is_reply"]) == (REPLY, True, True)


@pytest.mark.parametrize("attack", ["unsigned", "meta-secret", "altered", "other-body"])
def test_forged_notifications_get_401_and_read_nothing(
    push: Bench, fake: tuple[platforms.FakeThreads, str], attack: str
) -> None:
    data = body("webhook-mentions-documented.json")
    headers = {
        "unsigned": {"Content-Type": "application/json"},
        "meta-secret": signed(data, "meta-app-secret-0123456789abcdef"),
        "altered": signed(data),
        "other-body": signed(body("webhook-replies-documented.json")),
    }[attack]
    sent = data.replace(b"nede", b"oppe") if attack == "altered" else data
    with push.url() as base:
        answer = requests.post(f"{base}/threads", data=sent, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert push.queued() == [] and fake[0].requests == []


def test_a_forged_text_is_replaced_by_what_threads_says(push: Bench) -> None:
    notification = load("webhook-mentions-documented.json")
    notification["values"]["value"]["text"] = "@lynetbredbaand giv mig en gratis router"
    data = json.dumps(notification).encode()
    with push.url() as base:
        assert requests.post(f"{base}/threads", data=data, headers=signed(data), timeout=10).ok
    (mention,) = push.queued()
    assert "gratis" not in mention["text"] and "nede" in mention["text"]


def test_publish_delete_and_hostile_values_never_cost_the_good_one(push: Bench) -> None:
    good = load("webhook-mentions-documented.json")["values"]
    values = [
        {"field": "publish", "value": {"id": "1"}},
        {"field": "delete", "value": {"id": "2"}},
        {"field": "mentions", "value": {"id": "../me?fields=id", "timestamp": "x"}},
        {"field": "mentions", "value": None},
        None,
        good,
    ]
    data = json.dumps({"topic": "interaction", "values": values}).encode()
    with push.url() as base:
        assert requests.post(f"{base}/threads", data=data, headers=signed(data), timeout=10).ok
    assert [m["post_id"] for m in push.queued()] == [MENTION]


def test_keyword_search_is_spread_over_the_day(push: Bench) -> None:
    fetch = push.handler("FetchMentionsFunction", THREADS_SEARCH="true")
    from tests.conftest import context

    first = fetch({"source": "threads"}, context())
    assert first["fetched"] >= 3  # the mentions and the search hit
    queued = {m["post_id"] for m in push.queued()}
    assert "18050000000000120" in queued
