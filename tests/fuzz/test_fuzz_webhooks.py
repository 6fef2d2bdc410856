"""Meta webhooks: only a body signed with the app secret is read, whatever the signature
header holds (forged, truncated, wrong-case hex, empty, 1 MB, non-UTF-8, lone surrogates);
a signed body, however hostile, is answered (200, 400 or 500 for Meta to deliver again)
and queues only mentions that can travel. The handshake echoes the challenge only for the
verify token. The same through the deployed handler, called as a Function URL calls it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.adapters.memory import MemoryQueue
from socialcare.errors import SourceAuthError, SourcePayloadError, SourceUnavailable
from socialcare.models import Mention
from socialcare.sources.webhooks import MAX_BODY_BYTES, WebhookDeps, raw_body, receive, subscribe
from socialcare_cli.fake_graph import sign
from socialcare_cli.lambda_local import FakeContext, function_url_event
from tests.conftest import TESTS
from tests.fuzz.hostile import CHARACTERS, TEXT, mutated, wire
from tests.fuzz.report import cases, run
from tests.integration import meta_cases as meta

DATA = TESTS / "data" / "platforms"
TIMEOUT_S = 15  # ReceiveWebhookFunction
NOTIFICATIONS = [
    json.loads(p.read_text())
    for source in ("facebook", "instagram")
    for p in sorted((DATA / source).glob("webhook-*.json"))
]
OBJECTS = [
    json.loads((DATA / p).read_text())
    for p in ("facebook/post-mentioned.json", "instagram/mentioned-media.json")
]


@st.composite
def bodies(draw: st.DrawFn, notification: st.SearchStrategy[bytes] | None = None) -> bytes:
    """A notification on the wire (Meta's, or `notification`'s), a body around the size
    limit, or bytes."""
    kind = draw(st.sampled_from(["notification", "notification", "huge", "bytes"]))
    if kind == "huge":  # around the 1 MB limit
        size = draw(st.integers(MAX_BODY_BYTES - 100, MAX_BODY_BYTES + 100))
        return b'{"object": "page", "entry": [], "pad": "' + b"x" * (size - 40) + b'"}'
    if kind == "bytes":
        return draw(st.binary(max_size=500))
    if notification is None:
        notification = wire(draw(st.sampled_from(NOTIFICATIONS)))
    return draw(notification)


@st.composite
def signatures(
    draw: st.DrawFn, raw: bytes, app_secret: str = meta.APP_SECRET
) -> tuple[str | None, bool]:
    """(X-Hub-Signature-256 value, whether it is the app's signature of `raw`; Meta's
    scheme, which Threads shares)."""
    good = sign(app_secret, raw)
    kind = draw(
        st.sampled_from(
            ["good", "upper", "forged", "altered", "cut", "empty", "none", "text", "huge"]
        )
    )
    if kind == "good":
        return good, True
    if kind == "upper":
        return "sha256=" + good[7:].upper(), True  # hex case does not matter
    if kind == "forged":
        return sign("another-apps-secret", raw), False
    if kind == "altered":
        return sign(app_secret, raw + b" "), False
    if kind == "cut":
        return good[: draw(st.integers(0, len(good) - 1))], False
    if kind == "empty":
        return "", False
    if kind == "none":
        return None, False
    if kind == "huge":
        return "sha256=" + "a" * 1_000_000, False
    value = draw(st.text(CHARACTERS, max_size=80))
    return value, value.strip().lower() == good


class Graph:
    """Graph as a thin notification meets it: hostile objects or typed failures."""

    def __init__(self, answers: st.DataObject) -> None:
        self.data = answers

    def get(self, path: str, params: Any = None) -> Any:
        answer = self.data.draw(
            st.sampled_from(OBJECTS).flatmap(mutated)
            | st.sampled_from(
                [
                    SourceUnavailable("facebook", "HTTP 503"),
                    SourceAuthError("facebook", "credentials refused"),
                    SourcePayloadError("facebook", "Graph error 100"),
                ]
            )
        )
        if isinstance(answer, BaseException):
            raise answer
        return answer


def deps(queue: MemoryQueue, data: st.DataObject) -> WebhookDeps:
    return WebhookDeps(
        queue=queue,
        secret=lambda: meta.SECRET,
        graph=lambda source: Graph(data),  # type: ignore[arg-type,return-value]
        sources=frozenset({"facebook", "instagram"}),
        own={"facebook": frozenset({meta.PAGE_ID}), "instagram": frozenset({meta.IG_ID})},
    )


def answered(reply: Any, raw: bytes, genuine: bool, queue: MemoryQueue) -> None:
    """What any push route owes a request: 413 over the size limit, else 401 unless the
    platform's check passes, else an answer, and only mentions that can travel queued."""
    if len(raw) > MAX_BODY_BYTES:
        assert reply.status == 413 and not queue.messages
    elif not genuine:
        assert reply.status == 401 and not queue.messages
    else:
        assert reply.status in (200, 400, 500)
        for message in queue.messages:  # each can travel: SQS, then triage's model
            Mention.model_validate_json(message)


@settings(max_examples=cases(1))
@given(data=st.data())
def test_only_meta_s_signature_opens_the_door(data: st.DataObject) -> None:
    raw = data.draw(bodies())
    header, genuine = data.draw(signatures(raw))
    headers = {} if header is None else {"X-Hub-Signature-256": header}
    queue = MemoryQueue()
    reply = run(
        "webhook signature+body", TIMEOUT_S, lambda: receive(raw, headers, deps(queue, data))
    )
    answered(reply, raw, genuine, queue)


@settings(max_examples=cases(0.5))
@given(body=st.text(CHARACTERS, max_size=200) | st.none(), encoded=st.booleans())
def test_a_function_url_body_of_any_text_gives_bytes(body: str | None, encoded: bool) -> None:
    raw = run("webhook raw body", TIMEOUT_S, lambda: raw_body(body, encoded))
    assert isinstance(raw, bytes)


@settings(max_examples=cases(0.5))
@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "other"]),
        TEXT | st.just("subscribe") | st.just(meta.VERIFY_TOKEN),
    )
)
def test_the_handshake_echoes_only_for_the_verify_token(query: dict[str, str]) -> None:
    queue = MemoryQueue()
    reply = run("webhook handshake", TIMEOUT_S, lambda: subscribe(query, deps(queue, None)))  # type: ignore[arg-type]
    challenge = query.get("hub.challenge") or ""
    right = (
        query.get("hub.mode") == "subscribe"
        and query.get("hub.verify_token") == meta.VERIFY_TOKEN
        and 0 < len(challenge) <= 256
    )
    assert (reply.status == 200) == right
    assert reply.status in (200, 400, 403)
    if right:
        assert reply.body == challenge


@settings(max_examples=cases(0.2))
@given(data=st.data())
def test_the_deployed_handler_answers_every_request(
    emulated: dict[str, Any], data: st.DataObject
) -> None:
    raw = data.draw(bodies().filter(lambda b: len(b) < 300_000))  # Function URL: 6 MB max
    header, genuine = data.draw(signatures(raw))
    headers = {"content-type": data.draw(st.sampled_from(["application/json", "text/plain"]))}
    if header is not None:
        headers["x-hub-signature-256"] = header
    event = function_url_event("POST", "/", None, None, headers)
    text = raw.decode("utf-8", "surrogateescape")
    if data.draw(st.booleans()) or text.encode("utf-8", "surrogateescape") != raw:
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    else:
        event["body"] = text  # with lone surrogates, as Lambda's JSON event may hold them
    answer = run(
        "webhook handler (Lambda)",
        TIMEOUT_S,
        lambda: emulated["webhook"](event, FakeContext("ReceiveWebhookFunction", TIMEOUT_S)),
    )
    assert answer["statusCode"] in (200, 400, 401, 413, 500)
    if not genuine:
        assert answer["statusCode"] in (401, 413)


@pytest.mark.parametrize("query", [{}, {"hub.mode": "subscribe", "hub.challenge": "\ud800"}])
def test_the_deployed_handshake_never_fails(emulated: dict[str, Any], query: Any) -> None:
    event = function_url_event("GET", "/", query)
    answer = emulated["webhook"](event, FakeContext("ReceiveWebhookFunction", TIMEOUT_S))
    assert answer["statusCode"] in (400, 403)
