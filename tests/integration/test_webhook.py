"""ReceiveWebhookFunction: Meta's notifications over real HTTP (a local server turning
requests into Function URL events), the handler imported as Lambda imports it, the Meta
secret in Secrets Manager and MentionsQueue on moto's server, Graph on a local stand-in.

Signed notifications reach the queue; forged, unsigned and altered ones get 401 and
queue nothing; the subscription handshake echoes the challenge only for the right token.
Then one post arriving by webhook and by the backstop poll is decided once: `contact`,
then `duplicate`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from socialcare.hashing import Hasher
from socialcare.wiring import derived_secret
from socialcare_cli import lambda_local, local_aws, servers
from socialcare_cli.demo import LogCapture
from socialcare_cli.fake_graph import FakeGraph, graph_error, sign
from socialcare_cli.template import Stack, load_template
from tests.conftest import CRM_TOKEN, HASH_KEY, context
from tests.integration import meta_cases as meta
from tests.integration.test_sample_events import EVENTS

FB_POST = "facebook/webhook-feed-status.json"
FB_COMMENT = "facebook/webhook-feed-comment-documented.json"
FB_MENTION = "facebook/webhook-mention-post.json"
IG_CAPTION = "instagram/webhook-mentions-caption.json"
IG_COMMENT_MENTION = "instagram/webhook-mentions-comment.json"
IG_COMMENT = "instagram/webhook-comments-documented.json"


@pytest.fixture
def fake() -> Iterator[tuple[FakeGraph, str]]:
    graph = meta.graph()
    with servers.serve(graph) as url:
        yield graph, url


@pytest.fixture
def deployed(aws: str, crm: tuple[Any, str]) -> Stack:
    """template.yaml with Facebook and Instagram enabled, provisioned on moto."""
    stack = Stack(
        load_template(),
        overrides={
            "EnableFacebook": "true",
            "EnableInstagram": "true",
            "FacebookPageId": meta.PAGE_ID,
            "InstagramUserId": meta.IG_ID,
            "CrmUrl": crm[1],
            "OutreachMode": "live",
        },
    )
    local_aws.provision(stack)
    local_aws.set_secret(stack, "HashKeySecret", HASH_KEY)
    local_aws.set_secret(stack, "CrmTokenSecret", CRM_TOKEN)
    local_aws.set_secret(stack, "MetaSourceSecret", json.dumps(meta.SECRET))
    return stack


def load(stack: Stack, logical: str, graph_url: str, **env: str) -> Any:
    local = {"HTTP_BACKOFF_S": "0.001", "META_GRAPH_URL": f"{graph_url}/v25.0", **env}
    return lambda_local.load_handler(stack, logical, local)[1]


@pytest.fixture
def url(deployed: Stack, fake: tuple[FakeGraph, str]) -> Iterator[str]:
    route = lambda_local.function_url_route(load(deployed, "ReceiveWebhookFunction", fake[1]))
    with servers.serve(route) as base:
        yield base


def queued(stack: Stack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=stack.physical["MentionsQueue"], MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
    return out


def post(url: str, data: bytes, headers: dict[str, str] | None) -> requests.Response:
    return requests.post(url, data=data, headers=headers, timeout=10)


def post_logged(url: str, data: bytes) -> tuple[int, list[dict[str, Any]]]:
    """A signed delivery, with what the function wrote (log lines and EMF blobs): the
    logger's stream was bound when the handler loaded, before capsys could swap stdout."""
    capture = LogCapture()
    with capture.active():
        status = post(url, data, meta.signed(data)).status_code
    return status, capture.lines()


def handled_line(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return next(x for x in lines if x.get("message") == "webhook notification handled")


def counted(lines: list[dict[str, Any]], name: str) -> float:
    return sum(sum(x.get(name, [])) for x in lines if "_aws" in x)  # EMF values: lists


# ------------------------------------------------------------------ handshake
def test_the_template_reads_both_platforms_when_enabled(deployed: Stack) -> None:
    env = deployed.function_environment("ReceiveWebhookFunction")
    assert env["WEBHOOK_SOURCES"] == "facebook,instagram"
    assert env["META_SECRET"] == deployed.physical["MetaSourceSecret"]
    props = deployed.resources["ReceiveWebhookFunction"]["Properties"]
    assert props["FunctionUrlConfig"] == {"AuthType": "NONE"}
    assert 0 < props["ReservedConcurrentExecutions"] <= 10
    outputs = load_template()["Outputs"]
    assert outputs["WebhookUrl"]["Value"] == {
        "Fn::GetAtt": ["ReceiveWebhookFunctionUrl", "FunctionUrl"]
    }


def test_verification_echoes_the_challenge_as_plain_text(url: str) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    answer = requests.get(url, params={**query, "hub.verify_token": meta.VERIFY_TOKEN}, timeout=5)
    assert answer.status_code == 200 and answer.text == "1158201444"
    assert answer.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"hub.mode": "subscribe", "hub.challenge": "7", "hub.verify_token": "wrong"}, 403),
        ({"hub.mode": "subscribe", "hub.challenge": "7", "hub.verify_token": ""}, 403),
        ({"hub.mode": "subscribe", "hub.challenge": "7"}, 403),
        ({"hub.mode": "unsubscribe", "hub.challenge": "7", "hub.verify_token": "x"}, 400),
        ({"hub.mode": "subscribe", "hub.verify_token": meta.VERIFY_TOKEN}, 400),
        ({}, 400),
    ],
)
def test_verification_fails_without_the_right_token(
    url: str, params: dict[str, str], status: int
) -> None:
    answer = requests.get(url, params=params, timeout=5)
    assert answer.status_code == status and "7" not in answer.text


# ------------------------------------------------------------------ signed notifications
@pytest.mark.parametrize(
    ("file", "post_id", "fetched"),
    [
        (FB_POST, f"{meta.PAGE_ID}_700000000000001", False),
        (FB_COMMENT, "600000000000001_500000000000001", False),
        (FB_MENTION, "100008888888888_900000000000009", True),
        (IG_CAPTION, "17918195224117851", True),
        (IG_COMMENT_MENTION, "17894227972186120", True),
        (IG_COMMENT, "17850000000000001", False),
    ],
)
def test_a_signed_notification_reaches_the_queue(
    url: str, deployed: Stack, fake: tuple[FakeGraph, str], file: str, post_id: str, fetched: bool
) -> None:
    data = meta.body(file)
    answer = post(url, data, meta.signed(data))
    assert answer.status_code == 200, answer.text
    (mention,) = queued(deployed)
    assert (mention["source"], mention["post_id"]) == (file.split("/")[0], post_id)
    assert mention["text"] and mention["created_at"] and mention["fetch_id"]
    assert mention["addressed"] is True  # our Page's feed, our media, a tag or mention of us
    graph_reads = [r for r in fake[0].requests if r[0] == "GET"]
    assert bool(graph_reads) == fetched  # ids-only notifications are completed from Graph
    assert all("access_token" not in q for _, _, q in graph_reads)  # the token is a header


def test_a_batch_with_several_entries_queues_each_change(url: str, deployed: Stack) -> None:
    entries = [meta.load(p)["entry"][0] for p in (FB_POST, FB_COMMENT, FB_MENTION)]
    data = json.dumps({"object": "page", "entry": entries}).encode()
    assert post(url, data, meta.signed(data)).status_code == 200
    assert len(queued(deployed)) == 3


def altered(data: bytes) -> bytes:
    changed = data.replace(b"virker stadig ikke", b"virker fint nu")
    assert changed != data
    return changed


@pytest.mark.parametrize(
    "attack",
    ["unsigned", "forged", "altered", "sha1-only", "empty-signature", "signature-of-other-body"],
)
def test_forged_unsigned_and_altered_notifications_get_401_and_queue_nothing(
    url: str, deployed: Stack, fake: tuple[FakeGraph, str], attack: str
) -> None:
    data = meta.body(FB_POST)
    headers = {
        "unsigned": {"Content-Type": "application/json"},
        "forged": meta.signed(data, secret="guessed-app-secret"),
        "altered": meta.signed(data),  # a captured delivery, replayed with another body
        "sha1-only": {"X-Hub-Signature": "sha1=" + "0" * 40},
        "empty-signature": {"X-Hub-Signature-256": ""},
        "signature-of-other-body": meta.signed(meta.body(FB_COMMENT)),
    }[attack]
    sent = altered(data) if attack == "altered" else data
    answer = post(url, sent, headers)
    assert answer.status_code == 401
    assert queued(deployed) == [] and fake[0].requests == []  # nothing parsed or fetched


def test_a_base64_encoded_body_is_verified_on_its_bytes(
    deployed: Stack, fake: tuple[FakeGraph, str]
) -> None:
    """Function URLs base64-encode bodies they do not take for text."""
    handler = load(deployed, "ReceiveWebhookFunction", fake[1])
    data = meta.body(IG_COMMENT)
    event = lambda_local.function_url_event(
        "POST", "/", body=data, headers={**meta.signed(data), "Content-Type": "application/x"}
    )
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == data
    assert handler(event, context())["statusCode"] == 200
    forged = lambda_local.function_url_event(
        "POST",
        "/",
        body=data.replace(b"Odense", b"Aarhus"),
        headers={**meta.signed(data), "Content-Type": "application/x"},
    )
    assert forged["isBase64Encoded"]
    assert handler(forged, context())["statusCode"] == 401
    assert len(queued(deployed)) == 1


def test_replaying_a_genuine_delivery_is_decided_duplicate_later(url: str, deployed: Stack) -> None:
    data = meta.body(FB_POST)
    for _ in range(2):
        assert post(url, data, meta.signed(data)).status_code == 200
    first, second = queued(deployed)
    assert first["post_id"] == second["post_id"] and first["fetch_id"] != second["fetch_id"]


# ------------------------------------------------------------------ what is not read
def test_reactions_removals_and_unknown_fields_are_acknowledged_and_ignored(
    url: str, deployed: Stack
) -> None:
    status, lines = post_logged(url, meta.body("facebook/webhook-ignored-documented.json"))
    assert status == 200 and queued(deployed) == []
    handled = handled_line(lines)
    assert {"item", "verb", "field"} <= set(handled["not_queued"])  # why, in the log line
    assert handled["queued"] == 0 and counted(lines, "Fetched") == 0


def test_other_objects_and_disabled_platforms_are_acknowledged(
    deployed: Stack, fake: tuple[FakeGraph, str]
) -> None:
    handler = load(deployed, "ReceiveWebhookFunction", fake[1], WEBHOOK_SOURCES="facebook")
    route = lambda_local.function_url_route(handler)
    with servers.serve(route) as base:
        for payload in ({"object": "user", "entry": []}, meta.load(IG_COMMENT)):
            data = json.dumps(payload).encode()
            assert post(base, data, meta.signed(data)).status_code == 200
    assert queued(deployed) == []


def test_with_both_platforms_disabled_the_endpoint_is_closed(aws: str) -> None:
    stack = Stack(load_template())  # the defaults: EnableFacebook and EnableInstagram false
    local_aws.provision(stack)
    local_aws.set_secret(stack, "MetaSourceSecret", json.dumps(meta.SECRET))
    handler = lambda_local.load_handler(stack, "ReceiveWebhookFunction")[1]
    data = meta.body(FB_POST)
    event = lambda_local.function_url_event("POST", "/", body=data, headers=meta.signed(data))
    assert handler(event, context())["statusCode"] == 404


def test_a_secret_not_filled_in_refuses_everything_and_alarms(
    deployed: Stack, fake: tuple[FakeGraph, str], capsys: pytest.CaptureFixture[str]
) -> None:
    empty = {"app_secret": "", "verify_token": "", "page_access_token": ""}
    local_aws.set_secret(deployed, "MetaSourceSecret", json.dumps(empty))
    handler = load(deployed, "ReceiveWebhookFunction", fake[1])
    data = meta.body(FB_POST)
    signed_with_nothing = {"X-Hub-Signature-256": sign("", data)}
    event = lambda_local.function_url_event("POST", "/", body=data, headers=signed_with_nothing)
    assert handler(event, context())["statusCode"] == 500
    query = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}
    assert (
        handler(lambda_local.function_url_event("GET", query=query), context())["statusCode"] == 500
    )
    assert queued(deployed) == [] and '"SourceAuthFailedTotal"' in capsys.readouterr().out


# ------------------------------------------------------------------ failures Meta retries
def test_a_queue_failure_answers_500_so_meta_delivers_again(
    deployed: Stack, fake: tuple[FakeGraph, str]
) -> None:
    gone = deployed.physical["MentionsQueue"] + "-deleted"
    handler = load(deployed, "ReceiveWebhookFunction", fake[1], MENTIONS_QUEUE_URL=gone)
    data = meta.body(FB_POST)
    event = lambda_local.function_url_event("POST", "/", body=data, headers=meta.signed(data))
    assert handler(event, context())["statusCode"] == 500


@pytest.mark.parametrize(
    "answer",
    [
        graph_error(4, "(#4) Application request limit reached", status=403),
        graph_error(613, "(#613) Calls to this api have exceeded the rate limit."),
        graph_error(80001, "(#80001) There have been too many calls to this Page account."),
        (503, {"Content-Type": "text/html"}, b"<html>busy</html>"),
    ],
)
def test_a_throttled_graph_read_answers_500_then_the_redelivery_succeeds(
    url: str, deployed: Stack, fake: tuple[FakeGraph, str], answer: Any
) -> None:
    fake[0].fail_next = [answer] * 2  # the session retries a 503 once
    data = meta.body(FB_MENTION)
    assert post(url, data, meta.signed(data)).status_code == 500
    assert queued(deployed) == []
    fake[0].fail_next = []
    assert post(url, data, meta.signed(data)).status_code == 200  # Meta's redelivery
    assert [m["post_id"] for m in queued(deployed)] == ["100008888888888_900000000000009"]


def test_an_expired_page_token_answers_500_and_counts_an_auth_failure(
    url: str, deployed: Stack, fake: tuple[FakeGraph, str]
) -> None:
    fake[0].token = "the-renewed-token"  # ours (meta.PAGE_TOKEN) has expired: error 190
    entries = [meta.load(p)["entry"][0] for p in (FB_POST, FB_MENTION)]
    status, lines = post_logged(url, json.dumps({"object": "page", "entry": entries}).encode())
    assert status == 500 and counted(lines, "SourceAuthFailedTotal") == 1
    refused = [x for x in lines if x.get("message") == "Graph refused the token"]
    assert [x["source"] for x in refused] == ["facebook"]
    assert handled_line(lines)["retry"] is True
    # the change that needed no Graph read is queued; the redelivery brings the other
    assert [m["post_id"] for m in queued(deployed)] == [f"{meta.PAGE_ID}_700000000000001"]


def test_a_post_graph_cannot_show_is_acknowledged_and_left_to_polling(
    url: str, deployed: Stack, fake: tuple[FakeGraph, str]
) -> None:
    fake[0].objects.clear()  # deleted, or private: Graph answers (#100) unsupported get
    status, lines = post_logged(url, meta.body(FB_MENTION))
    assert status == 200 and queued(deployed) == []
    assert handled_line(lines)["not_queued"] == {"unfetchable": 1}


# ------------------------------------------------------------------ privacy
def test_nothing_of_the_post_is_logged(deployed: Stack, fake: tuple[FakeGraph, str]) -> None:
    handler = load(deployed, "ReceiveWebhookFunction", fake[1])
    capture = LogCapture()
    with capture.active():
        for file in (FB_POST, FB_COMMENT, FB_MENTION, IG_CAPTION, IG_COMMENT):
            data = meta.body(file)
            event = lambda_local.function_url_event("POST", body=data, headers=meta.signed(data))
            assert handler(event, context())["statusCode"] == 200
    text = capture.buffer.getvalue().lower()
    assert "webhook notification handled" in text and '"fetched":[' in text
    for mention in queued(deployed):
        for key in ("text", "handle", "display_name", "author_id", "post_id", "url"):
            value = mention.get(key)
            if value:
                assert str(value).lower() not in text, key
    assert meta.APP_SECRET not in text and meta.PAGE_TOKEN.lower() not in text


# ------------------------------------------------------------------ one post, two paths
def test_a_post_by_webhook_then_by_poll_is_decided_once(
    url: str, deployed: Stack, fake: tuple[FakeGraph, str], crm: tuple[Any, str]
) -> None:
    directory = crm[0]
    directory.customers.append(
        {
            "id": "C-2001",
            "name": "Peter Larsen",
            "email": "peter.l@example.net",
            "language": "da",
            "city": "Vejle",
            "handles": ["facebook:100003333333333"],
            "do_not_contact": False,
        }
    )
    data = meta.body(FB_POST)  # a visitor post: "... internet virker stadig ikke."
    assert post(url, data, meta.signed(data)).status_code == 200

    fetch = load(deployed, "FetchMentionsFunction", fake[1])
    report = fetch({"source": "facebook"}, context())
    assert report["stopped"] == "done" and report["fetched"] >= 2

    triage = load(deployed, "TriageMentionsFunction", fake[1])
    capture = LogCapture()
    with capture.active():
        lambda_local.poll(
            deployed.physical["MentionsQueue"],
            deployed.attributes[("MentionsQueue", "Arn")],
            triage,
            function_name="triage",
        )
    decisions = [line for line in capture.lines() if line.get("message") == "decision"]
    hashed = Hasher(derived_secret(HASH_KEY, "hash")).mention(
        f"facebook:{meta.PAGE_ID}_700000000000001"
    )
    same = [d for d in decisions if d["mention_id"] == hashed]
    assert [d["reason"] for d in same] == ["contact", "duplicate"]
    assert all(d["source"] == "facebook" for d in decisions)


# ------------------------------------------------------------------ sample events
def test_the_sample_events_drive_the_handler(deployed: Stack, fake: tuple[FakeGraph, str]) -> None:
    """events/webhook_*.json (also for `sam local invoke`) are signed with, and verified
    against, the sample values below."""
    sample = {"app_secret": "sample-app-secret", "verify_token": "sample-verify-token"}
    local_aws.set_secret(deployed, "MetaSourceSecret", json.dumps(sample))
    handler = load(deployed, "ReceiveWebhookFunction", fake[1])
    verify = json.loads((EVENTS / "webhook_verify.json").read_text())
    answer = handler(verify, context())
    assert (answer["statusCode"], answer["body"]) == (200, "1158201444")
    notification = json.loads((EVENTS / "webhook_notification.json").read_text())
    assert handler(notification, context())["statusCode"] == 200
    assert [m["post_id"] for m in queued(deployed)] == [f"{meta.PAGE_ID}_700000000000001"]
