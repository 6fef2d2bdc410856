"""The push routes (`/trustpilot/<url-secret>`, `/threads`, `/google`): only a request that
passes its platform's check is read — the URL secret, the X-Hub-Signature-256, the Google
OIDC token (forged, cut, expired, signed by another key, `alg` none or HS256, another
audience or account, empty, 1 MB); an oversized body is 413 first; an authorised body,
however hostile, is answered (200, 400, or 500 for the platform to deliver again) and
queues only mentions that can travel. A route left unconfigured answers 500, never an
unhandled exception. The same through the deployed handler, called as a Function URL
calls it."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.adapters.memory import MemoryQueue
from socialcare.errors import (
    ConfigError,
    SourceAuthError,
    SourcePayloadError,
    SourceUnavailable,
)
from socialcare.models import Mention
from socialcare.sources.oidc import b64url, rsa_key
from socialcare.sources.push import PushDeps, handle, request_of
from socialcare_cli.demo import LogCapture
from socialcare_cli.fake_graph import sign
from socialcare_cli.lambda_local import FakeContext, function_url_event
from tests.conftest import TESTS
from tests.fuzz.hostile import CHARACTERS, mutated, wire
from tests.fuzz.report import cases, run
from tests.fuzz.test_fuzz_webhooks import answered, bodies, signatures
from tests.integration import push_cases as push
from tests.integration.oidc_tokens import KID, OTHER, jwks, token

DATA = TESTS / "data" / "platforms"
TIMEOUT_S = 15  # ReceiveWebhookFunction
ROUTES = ("trustpilot", "threads", "google")
REVIEW = f"{push.LOCATION}/reviews/AbFvOqn7Lynet0001"
SAMPLES = {
    "trustpilot": [json.loads((DATA / "trustpilot/webhook-events-documented.json").read_text())],
    "threads": [
        json.loads((DATA / f"threads/webhook-{field}-documented.json").read_text())
        for field in ("mentions", "replies")
    ],
}
NOTIFICATION = {"type": "NEW_REVIEW", "reviewName": REVIEW, "locationName": push.LOCATION}
THREADS_POST = json.loads((DATA / "threads/mentions-page.json").read_text())["data"][0]
SECRETS = {"trustpilot": push.TP_SECRET, "threads": push.THREADS_SECRET, "google": {}}
KEYS = {KID: rsa_key(jwks()["keys"][0])}


@st.composite
def notifications(draw: st.DrawFn, route: str) -> bytes:
    if route != "google":
        return draw(wire(draw(st.sampled_from(SAMPLES[route]))))
    data = json.dumps(draw(mutated(NOTIFICATION)) if draw(st.booleans()) else NOTIFICATION)
    envelope = {"message": {"data": base64.b64encode(data.encode()).decode(), "messageId": "1"}}
    return draw(wire(envelope))


@st.composite
def url_secrets(draw: st.DrawFn) -> tuple[str, bool]:
    kind = draw(st.sampled_from(["current", "previous", "cut", "padded", "text", "huge"]))
    good = push.TP_TOKENS[kind == "previous"]
    if kind in ("current", "previous"):
        return good, True
    if kind == "cut":
        return good[: draw(st.integers(0, len(good) - 1))], False
    if kind == "padded":
        return good + draw(st.sampled_from([" ", "x", "/", "%20"])), False
    if kind == "huge":
        return "a" * 100_000, False
    value = draw(st.text(CHARACTERS, max_size=60))
    return value, value in push.TP_TOKENS


def _bad_tokens() -> list[str]:
    now = int(time.time())
    return [
        token(OTHER),  # signed by someone else's key
        token(aud="https://evil.example/google"),
        token(email="attacker@evil-project.iam.gserviceaccount.com"),
        token(email_verified=False),
        token(iss="https://evil.example"),
        token(exp=now - 3600, iat=now - 7200),
        token(iat=now + 7200, exp=now + 9000),
        token(header={"alg": "none"}),
        token(header={"alg": "HS256"}),
        token(header={"kid": "unknown-kid"}),
    ]


@st.composite
def authorizations(draw: st.DrawFn) -> tuple[str | None, bool]:
    kind = draw(st.sampled_from(["good", "good", "bad", "altered", "text", "scheme", "none"]))
    if kind == "good":
        return f"Bearer {token()}", True
    if kind == "bad":
        return f"Bearer {draw(st.sampled_from(_bad_tokens()))}", False
    if kind == "altered":  # one character of a good token changed
        good = token()
        at = draw(st.integers(0, len(good) - 1))
        altered = good[:at] + draw(st.sampled_from("AZaz09-_.")) + good[at + 1 :]
        return f"Bearer {altered}", _same_token(good, altered)
    if kind == "scheme":
        return f"Basic {token()}", False
    if kind == "none":
        return None, False
    value = draw(st.text(CHARACTERS, max_size=200) | st.just("Bearer " + "a" * 1_000_000))
    return value, False


def _same_token(good: str, other: str) -> bool:
    """Whether `other` decodes to `good`'s bytes (a segment's last character carries
    unused bits, so two spellings can be one token)."""
    if other.count(".") != 2:
        return False
    try:
        return all(
            b64url(a) == b64url(b) for a, b in zip(good.split("."), other.split("."), strict=True)
        )
    except ValueError:
        return False


class Reader:
    """A platform's API as a read-back meets it: a review, a hostile post, typed failures."""

    def __init__(self, data: st.DataObject, source: str) -> None:
        self.data, self.source = data, source

    def _answer(self, good: Any) -> Any:
        answer = self.data.draw(
            st.just(good)
            | st.sampled_from(
                [
                    SourceUnavailable(self.source, "HTTP 503"),
                    SourceAuthError(self.source, "credentials refused"),
                    SourcePayloadError(self.source, "not ours"),
                    ValueError("odd answer"),
                ]
            )
        )
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def review(self, name: str, own: Any = ()) -> Mention:
        text = self.data.draw(st.text(CHARACTERS, max_size=300))
        at = datetime.now(UTC)
        return self._answer(Mention(source=self.source, post_id=name, text=text, created_at=at))

    def get(self, path: str, params: Any = None) -> Any:
        return self._answer(self.data.draw(mutated(THREADS_POST)))


def deps(queue: MemoryQueue, data: st.DataObject, **changes: Any) -> PushDeps:
    google = SimpleNamespace(
        google_push_audience=push.AUDIENCE, google_push_email=push.PUSH_ACCOUNT
    )
    values: dict[str, Any] = {
        "queue": queue,
        "sources": frozenset(ROUTES),
        "secret": lambda name: SECRETS[name],
        "reader": lambda source: Reader(data, source),
        "settings": google,
        "keys": SimpleNamespace(get=KEYS.get),
    }
    return PushDeps(**{**values, **changes})


@st.composite
def requests_to(draw: st.DrawFn, route: str) -> tuple[bytes, dict[str, str], str, bool]:
    """(body, headers, path token, whether the platform's check should pass)."""
    raw = draw(bodies(notifications(route)))
    if route == "trustpilot":
        url_secret, genuine = draw(url_secrets())
        return raw, {}, url_secret, genuine
    if route == "threads":
        header, genuine = draw(signatures(raw, push.THREADS_SECRET["app_secret"]))
        return raw, {} if header is None else {"X-Hub-Signature-256": header}, "", genuine
    value, genuine = draw(authorizations())
    return raw, {} if value is None else {"Authorization": value}, "", genuine


@settings(max_examples=cases(1))
@given(route=st.sampled_from(ROUTES), data=st.data())
def test_only_the_platform_s_check_opens_the_door(route: str, data: st.DataObject) -> None:
    raw, headers, url_secret, genuine = data.draw(requests_to(route))
    queue = MemoryQueue()
    request = request_of("POST", raw, headers, {}, url_secret)
    reply = run(f"push {route}", TIMEOUT_S, lambda: handle(route, request, deps(queue, data)))
    answered(reply, raw, genuine, queue)


@pytest.mark.parametrize("route", ROUTES)
def test_a_route_left_unconfigured_answers_500_and_says_why(route: str) -> None:
    def unconfigured(source: str) -> Any:
        raise ConfigError(f"the {source} source needs a parameter")

    raw = json.dumps(SAMPLES.get(route, [{}])[0]).encode()
    headers = {"Authorization": f"Bearer {token()}", "X-Hub-Signature-256": sign_threads(raw)}
    if route == "google":
        notification = base64.b64encode(json.dumps(NOTIFICATION).encode()).decode()
        raw = json.dumps({"message": {"data": notification}}).encode()
    request = request_of("POST", raw, headers, {}, push.TP_TOKENS[0])
    queue = MemoryQueue()
    capture = LogCapture()
    with capture.active():
        reply = handle(route, request, deps(queue, None, reader=unconfigured))  # type: ignore[arg-type]
    assert (reply.status, queue.messages) == (500, [])
    said = [line.get("source") for line in capture.lines() if "configured" in str(line)]
    assert said == [route]
    # Google's audience or account left empty: 500 before any token is read
    gone = SimpleNamespace(google_push_audience="", google_push_email="")
    assert handle("google", request, deps(queue, None, settings=gone)).status == 500  # type: ignore[arg-type]


def sign_threads(raw: bytes) -> str:
    return sign(push.THREADS_SECRET["app_secret"], raw)


@settings(max_examples=cases(0.2))
@given(route=st.sampled_from(ROUTES), data=st.data())
def test_the_deployed_handler_answers_every_push(
    emulated: dict[str, Any], route: str, data: st.DataObject
) -> None:
    raw, headers, url_secret, genuine = data.draw(
        requests_to(route).filter(lambda r: len(r[0]) < 300_000)  # Function URL: 6 MB max
    )
    path = f"/{route}/{url_secret}" if route == "trustpilot" else f"/{route}"
    event = function_url_event("POST", path, None, None, {k.lower(): v for k, v in headers.items()})
    event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    answer = run(
        f"push {route} handler (Lambda)",
        TIMEOUT_S,
        lambda: emulated["webhook"](event, FakeContext("ReceiveWebhookFunction", TIMEOUT_S)),
    )
    assert answer["statusCode"] in (200, 400, 401, 404, 413, 500)
    if not genuine:
        assert answer["statusCode"] in (401, 404, 413)  # 404: a secret with "/" in it
