"""The shadow digest on the emulator: triage puts each decision on DigestQueue, the
scheduled SendDigest drains it into one SES e-mail to the agents' mailbox (with a
labels.jsonl that `socialcare train --extra` reads), and the mark-wrong links record a
mark once over real HTTP, audited without content."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import boto3
import pytest
import requests

from socialcare.operations.digest import LabelRow
from socialcare_cli import lambda_local, local_aws, servers
from socialcare_cli.demo import LogCapture
from socialcare_cli.template import Stack
from tests.conftest import context, load_json
from tests.integration.test_pipeline_handlers import depth, drain

AGENTS = "agents@lynet.example"  # the conftest stack's ReviewAddress


@pytest.fixture
def shadow(stack: Stack) -> Stack:
    """The test stack with the digest on, in shadow mode (parameters as at deploy time)."""
    stack.overrides.update({"ShadowDigest": "daily", "OutreachMode": "shadow"})
    return stack


def run_pipeline(stack: Stack, handler: Any) -> list[dict[str, Any]]:
    """Fetch the replayed posts, triage them; the decision lines triage wrote."""
    capture = LogCapture()
    with capture.active():
        handler("FetchMentionsFunction")({"source": "replay"}, context())
        drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    return [line for line in capture.lines() if line.get("message") == "decision"]


def schedule_input(stack: Stack) -> dict[str, Any]:
    """What EventBridge Scheduler hands SendDigest: the schedule's Input, else {}."""
    event = stack.resources["SendDigestFunction"]["Properties"]["Events"]["DigestSchedule"]
    return dict(json.loads(event["Properties"].get("Input", "{}")))


def send_digest(stack: Stack, handler: Any) -> dict[str, Any]:
    """SendDigest invoked as its schedule invokes it. Short polls: moto's long poll never
    returns under a shifted clock (make test-clock)."""
    send = handler("SendDigestFunction", DIGEST_WAIT_S="0")
    return dict(send(schedule_input(stack), context("SendDigestFunction")))


def mail(endpoint: str) -> list[EmailMessage]:
    raw = [m["raw_data"] for m in local_aws.sent_emails(endpoint)]
    return [message_from_string(r, policy=policy.default) for r in raw]  # type: ignore[misc]


def digest_parts(message: EmailMessage) -> tuple[str, str, list[dict[str, Any]]]:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    (labels,) = [p for p in message.iter_attachments() if p.get_filename() == "labels.jsonl"]
    rows = [json.loads(line) for line in labels.get_content().decode().splitlines()]
    return text, html, rows


@pytest.fixture
def sent(shadow: Stack, handler: Any, aws: str) -> tuple[list[dict[str, Any]], EmailMessage]:
    decisions = run_pipeline(shadow, handler)
    assert depth(shadow, "DigestQueue") == len(decisions) == 5
    report = send_digest(shadow, handler)
    assert report == {"decisions": 5, "labels": 4, "unreadable": 0}
    (message,) = mail(aws)
    return decisions, message


def test_one_e_mail_to_the_agents_with_every_decision_and_the_queue_is_empty(
    shadow: Stack, sent: tuple[list[dict[str, Any]], EmailMessage], handler: Any, aws: str
) -> None:
    decisions, message = sent
    assert message["To"] == AGENTS and "5 decisions" in message["Subject"]
    assert depth(shadow, "DigestQueue") == 0
    text, html, _ = digest_parts(message)
    for post in load_json("posts.json"):
        assert post["url"] in text and post["url"] in html  # each decision with its link
    for reason, n in Counter(d["reason"] for d in decisions).items():
        assert f"<b>{n}</b> {reason}" in html
    assert html.count("Mark wrong</a>") == 5
    # shadow: nothing went to a customer; the next run has nothing to send
    again = send_digest(shadow, handler)
    assert again["decisions"] == 0 and len(mail(aws)) == 1


def test_labels_are_the_rows_train_reads_for_the_posts_triage_read(
    sent: tuple[list[dict[str, Any]], EmailMessage],
) -> None:
    decisions, message = sent
    _, _, rows = digest_parts(message)
    read = {d["mention_id"]: d for d in decisions if d["reason"] != "own_account"}
    assert {r["id"] for r in rows} == set(read)
    texts = {p["text"] for p in load_json("posts.json")}
    for row in rows:
        LabelRow.model_validate(row)  # exactly {"id", "text", "complaint", "lang"?, ...}
        assert row["text"] in texts
        assert row["complaint"] == (read[row["id"]]["reason"] != "not_complaint")
        assert row["lang"] in ("da", "en") and row["addressed"] is False


def test_the_digest_names_no_customer(sent: tuple[list[dict[str, Any]], EmailMessage]) -> None:
    _, message = sent
    body = message.as_string()
    for customer in load_json("crm.json")["customers"]:
        assert customer["name"] not in body and customer["id"] not in body
        assert not customer["email"] or customer["email"] not in body


def test_a_refused_send_leaves_every_decision_for_the_retry(
    shadow: Stack, handler: Any, aws: str
) -> None:
    run_pipeline(shadow, handler)
    boto3.client("sesv2").delete_email_identity(EmailIdentity="kundeservice@lynet.example")
    with pytest.raises(Exception, match="rejected"):
        send_digest(shadow, handler)
    assert depth(shadow, "DigestQueue") == 5 and mail(aws) == []


def test_an_unreadable_message_is_counted_and_dropped_without_its_content(
    shadow: Stack, handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=shadow.physical["DigestQueue"], MessageBody='{"text": "secret post text"}'
    )
    report = send_digest(shadow, handler)
    assert report == {"decisions": 0, "labels": 0, "unreadable": 1}
    assert depth(shadow, "DigestQueue") == 0 and "secret post text" not in capsys.readouterr().out


def test_with_the_digest_off_triage_writes_nothing_to_its_queue(stack: Stack, handler: Any) -> None:
    assert stack.parameter("ShadowDigest") == "off"
    assert stack.function_environment("TriageMentionsFunction")["DIGEST_QUEUE_URL"] == ""
    assert len(run_pipeline(stack, handler)) == 5 and depth(stack, "DigestQueue") == 0


# ---------------------------------------------------------------- mark wrong


@pytest.fixture
def mark_url(shadow: Stack, handler: Any) -> Iterator[str]:
    route = lambda_local.function_url_route(handler("MarkWrongFunction"), "mark-wrong")
    with servers.serve(route) as base:
        yield base


def marks(stack: Stack) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    return [i for i in items if i["pk"]["S"].startswith("wrong#")]


def local_links(html: str, base: str) -> list[str]:
    """The digest's mark-wrong links, pointed at the local Function URL stand-in."""
    return [
        re.sub(r"^https://[^/?]+/?", base, link)
        for link in re.findall(r'href="([^"]+token=[^"]+)"', html.replace("&amp;", "&"))
    ]


def test_mark_wrong_get_changes_nothing_post_records_once_forged_is_refused(
    shadow: Stack,
    sent: tuple[list[dict[str, Any]], EmailMessage],
    mark_url: str,
) -> None:
    decisions, message = sent
    _, html, _ = digest_parts(message)
    links = local_links(html, mark_url)
    assert len(links) == 5
    page = requests.get(links[0], timeout=5)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert marks(shadow) == []  # a mail scanner following the link marks nothing
    capture = LogCapture()
    with capture.active():
        first = requests.post(links[0], timeout=5)
        second = requests.post(links[0], timeout=5)
    assert first.status_code == 200 and "Thanks, noted" in first.text
    assert second.status_code == 200 and "Already noted" in second.text
    (item,) = marks(shadow)
    audit = [x for x in capture.lines() if x.get("message") == "decision marked wrong"]
    assert [a["first"] for a in audit] == [True, False]
    counted = [x for x in capture.lines() if "MarkedWrong" in x]  # EMF: once (reason: the line)
    assert len(counted) == 1
    assert item["pk"]["S"] == f"wrong#{audit[0]['mention_id']}"
    assert audit[0]["reason"] in {d["reason"] for d in decisions}
    for text in (p["text"] for p in load_json("posts.json")):
        assert text not in json.dumps(audit)  # audited without content
    forged = links[1].replace("token=", "token=0")
    assert requests.get(forged, timeout=5).status_code in (400, 403)
    assert requests.post(forged, timeout=5).status_code in (400, 403)
    assert len(marks(shadow)) == 1
