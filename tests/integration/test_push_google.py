"""Google Business Profile reviews on ReceiveWebhookFunction's `/google` route: a Pub/Sub
push with an OIDC token minted here at run time (an RSA key of our own, served as the
JWKS by the stand-in), verified before the body is read; the review is read back by name
and goes webhook -> triage -> e-mail (to the customer whose CRM record links the review);
the poll then decides it `duplicate`."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from socialcare.hashing import Hasher
from socialcare.wiring import derived_secret
from socialcare_cli import platforms, servers
from tests.conftest import HASH_KEY, TESTS
from tests.integration import push_cases as bench
from tests.integration.oidc_tokens import OTHER, b64, jwks, token
from tests.integration.push_cases import GOOGLE_SECRET, LOCATION, Bench

DATA = TESTS / "data" / "platforms" / "google"
HENRIK = f"{LOCATION}/reviews/AbFvOqn7Lynet0001"


def fresh_reviews() -> list[dict[str, Any]]:
    reviews: list[dict[str, Any]] = json.loads((DATA / "reviews-page-documented.json").read_text())[
        "reviews"
    ]
    for age, review in enumerate(reviews):
        at = (datetime.now(UTC) - timedelta(minutes=5 + age)).isoformat().replace("+00:00", "Z")
        review["createTime"] = review["updateTime"] = at
    return reviews


@pytest.fixture
def fake() -> Iterator[tuple[platforms.FakeGoogle, str]]:
    client = (
        GOOGLE_SECRET["client_id"],
        GOOGLE_SECRET["client_secret"],
        GOOGLE_SECRET["refresh_token"],
    )
    stand_in = platforms.FakeGoogle(fresh_reviews(), client, jwks())
    with servers.serve(stand_in) as url:
        yield stand_in, url


@pytest.fixture
def push(aws: str, crm: tuple[Any, str], fake: tuple[Any, str]) -> Bench:
    crm[0].customers.append(
        {
            "id": "C-4001",
            "name": "Henrik Dahl",
            "email": "henrik.dahl@example.net",
            "language": "da",
            "city": "Silkeborg",
            "do_not_contact": False,
        }
    )
    env = {
        "GOOGLE_API_URL": f"{fake[1]}/v4",
        "GOOGLE_TOKEN_URL": f"{fake[1]}/token",
        "GOOGLE_JWKS_URL": f"{fake[1]}/oauth2/v3/certs",
    }
    return Bench(bench.push_stack(crm[1]), {**env, "NAME_MATCHING": "on"}, aws)


def envelope(**data: Any) -> bytes:
    body = json.loads((DATA / "push-new-review-documented.json").read_text())
    if data:
        body["message"]["data"] = base64.b64encode(json.dumps(data).encode()).decode()
    return json.dumps(body).encode()


def send(base: str, data: bytes, bearer: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return requests.post(f"{base}/google", data=data, headers=headers, timeout=10)


def test_a_review_goes_push_triage_e_mail_and_the_poll_decides_it_duplicate(
    push: Bench, crm: tuple[Any, str]
) -> None:
    # Google publishes no e-mail, place or reviewer id; the review's id is the one stable
    # key (one review per account and place, an edit keeps it). An agent linked Henrik's
    # review to his record; he edits it into a complaint: found by the handle, e-mailed.
    crm[0].customers[-1]["handles"] = ["google:abfvoqn7lynet0001"]
    updated = envelope(type="UPDATED_REVIEW", reviewName=HENRIK)
    with push.url() as base:
        answer = send(base, updated, token())
    assert answer.status_code == 200, answer.text
    assert push.fetch("google")["stopped"] == "done"
    decisions, mailed = push.triage_and_mail()
    assert [(d["reason"], d.get("match")) for d in decided(decisions, HENRIK)] == [
        ("contact", "handle"),
        ("duplicate", None),
    ]
    assert mailed == ["henrik.dahl@example.net"]


def test_a_unique_name_alone_is_not_enough_nobody_is_e_mailed(push: Bench) -> None:
    # NameMatching=on and Henrik Dahl is the only one of his name in the CRM, but the
    # careful rule also needs a place or a handle that corroborates the name, and Google
    # gives neither: ambiguous, decided once, and nobody is contacted on a guess.
    with push.url() as base:
        assert send(base, envelope(), token()).status_code == 200
    assert push.fetch("google")["stopped"] == "done"
    decisions, mailed = push.triage_and_mail()
    reasons = [d["reason"] for d in decided(decisions, HENRIK)]
    assert reasons == ["ambiguous_match", "duplicate"]
    assert mailed == []


def decided(decisions: list[dict[str, Any]], post_id: str) -> list[dict[str, Any]]:
    hashed = Hasher(derived_secret(HASH_KEY, "hash")).mention(f"google:{post_id}")
    return [d for d in decisions if d["mention_id"] == hashed]


def test_the_pushed_review_is_read_back_by_name(push: Bench) -> None:
    with push.url() as base:
        assert send(base, envelope(), token()).status_code == 200
    (mention,) = push.queued()
    assert (mention["post_id"], mention["stars"], mention["addressed"]) == (HENRIK, 1, True)
    assert mention["display_name"] == "Henrik Dahl" and "Silkeborg" in mention["text"]


def test_the_poll_skips_star_only_reviews_and_cuts_google_translation(push: Bench) -> None:
    push.fetch("google")
    texts = {m["post_id"].rsplit("/", 1)[1]: m["text"] for m in push.queued()}
    assert set(texts) == {"AbFvOqn7Lynet0001", "AbFvOqn7Lynet0003"}  # 0002 is star-only
    assert "Translated" not in texts["AbFvOqn7Lynet0003"]


@pytest.mark.parametrize(
    "bearer",
    [
        None,
        "",
        "not.a.token",
        token(OTHER),  # signed by someone else's key
        token(aud="https://evil.example/google"),
        token(email="attacker@evil-project.iam.gserviceaccount.com"),
        token(email_verified=False),
        token(iss="https://evil.example"),
        token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
        token(header={"alg": "none"}),
        token(header={"alg": "HS256"}),
        token(header={"kid": "unknown-kid"}),
    ],
)
def test_a_bad_oidc_token_gets_401_and_reads_nothing(
    push: Bench, fake: tuple[platforms.FakeGoogle, str], bearer: str | None
) -> None:
    with push.url() as base:
        assert send(base, envelope(), bearer).status_code == 401
    assert push.queued() == []
    assert [p for _, p, _ in fake[0].requests if p.startswith("/v4")] == []


def test_an_altered_token_gets_401(push: Bench) -> None:
    head, body, sig = token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["email"] = "attacker@evil.example"
    forged = f"{head}.{b64(json.dumps(claims).encode())}.{sig}"
    with push.url() as base:
        assert send(base, envelope(), forged).status_code == 401


def test_a_push_naming_another_location_or_kind_queues_nothing(push: Bench) -> None:
    other = "accounts/9/locations/9/reviews/AbFvOqn7Lynet0001"
    with push.url() as base:
        assert send(base, envelope(type="NEW_REVIEW", reviewName=other), token()).ok
        assert send(base, envelope(type="NEW_QUESTION", reviewName=HENRIK), token()).ok
        assert send(base, envelope(type="NEW_REVIEW", reviewName="../../x"), token()).ok
        bad = json.dumps({"message": {"data": "%%%"}}).encode()
        assert send(base, bad, token()).status_code == 400
    assert push.queued() == []


def test_update_notifications_use_the_newer_key_names_too(push: Bench) -> None:
    with push.url() as base:
        answer = send(
            base, envelope(notificationType="UPDATED_REVIEW", review_name=HENRIK), token()
        )
    assert answer.status_code == 200
    assert [m["post_id"] for m in push.queued()] == [HENRIK]
