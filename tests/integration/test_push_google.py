"""Google Business Profile reviews on ReceiveWebhookFunction's `/google` route: a Pub/Sub
push with an OIDC token minted here at run time (an RSA key of our own, served as the
JWKS by the stand-in), verified before the body is read; the review is read back by name
and goes webhook -> triage -> e-mail; the poll then decides it `duplicate`."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from socialcare.hashing import Hasher
from socialcare.wiring import derived_secret
from socialcare_cli import platforms, servers
from tests.conftest import HASH_KEY, TESTS
from tests.integration import push_cases as bench
from tests.integration.push_cases import AUDIENCE, GOOGLE_SECRET, LOCATION, PUSH_ACCOUNT, Bench

DATA = TESTS / "data" / "platforms" / "google"
HENRIK = f"{LOCATION}/reviews/AbFvOqn7Lynet0001"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def number(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "lynet-test-key-1"


def jwks() -> dict[str, Any]:
    public = KEY.public_key().public_numbers()
    jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID}
    return {"keys": [{**jwk, "n": number(public.n), "e": number(public.e)}]}


def token(key: Any = KEY, header: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "azp": "100000000000000000001",
        "sub": "100000000000000000001",
        "email": PUSH_ACCOUNT,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    head = {"alg": "RS256", "kid": KID, "typ": "JWT", **(header or {})}
    signed = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signed}.{b64(signature)}"


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
            "handles": ["google:henrik dahl"],
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
    push: Bench, fake: tuple[platforms.FakeGoogle, str]
) -> None:
    with push.url() as base:
        answer = send(base, envelope(), token())
    assert answer.status_code == 200, answer.text
    assert push.fetch("google")["stopped"] == "done"
    decisions, mailed = push.triage_and_mail()
    hashed = Hasher(derived_secret(HASH_KEY, "hash")).mention(f"google:{HENRIK}")
    reasons = [d["reason"] for d in decisions if d["mention_id"] == hashed]
    # Google publishes no e-mail and no reviewer id: a name alone, uncorroborated, is
    # ambiguous (nobody is contacted when identity is uncertain), decided once.
    assert reasons == ["ambiguous_match", "duplicate"]
    assert mailed == []


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
