"""A pilot audience and the send window in the deployed functions, on moto's server: the
stack built from template.yaml with PilotCustomers set, the list edited with `socialcare
pilot`, the handlers driven from their queues as Lambda drives them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email import message_from_string
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from socialcare.hashing import Hasher
from socialcare.outreach.window import DAYS
from socialcare.wiring import derived_secret
from socialcare_cli import lambda_local, local_aws
from socialcare_cli.demo import LogCapture
from socialcare_cli.main import main
from socialcare_cli.template import Stack, load_template
from tests.conftest import CRM_TOKEN, HASH_KEY, context

PILOT = "/socialcare-local/pilot"


@pytest.fixture
def piloted(aws: str, replay: tuple[Any, str], crm: tuple[Any, str]) -> Stack:
    stack = Stack(
        load_template(),
        overrides={
            "EnableReplay": "true",
            "ReplayUrl": replay[1],
            "CrmUrl": crm[1],
            "OutreachMode": "live",
            "PilotCustomers": PILOT,
        },
    )
    local_aws.provision(stack)
    local_aws.set_secret(stack, "HashKeySecret", HASH_KEY)
    local_aws.set_secret(stack, "CrmTokenSecret", CRM_TOKEN)
    return stack


@pytest.fixture
def hash_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SOCIALCARE_HASH_KEY", HASH_KEY)  # as the stack's secret holds it
    yield


def pilot(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["pilot", *args, "--parameter", PILOT]) == 0
    return capsys.readouterr().out.splitlines()


def run(stack: Stack, function: str, **env: str) -> list[dict[str, Any]]:
    """Drain the function's queue; its decision lines."""
    handler = lambda_local.load_handler(stack, function, {"HTTP_BACKOFF_S": "0.01", **env})[1]
    logical, props = stack.sqs_event(function)
    capture = LogCapture()
    with capture.active():
        stats = lambda_local.poll(
            stack.physical[logical],
            stack.attributes[(logical, "Arn")],
            handler,
            function_name=function,
            batch_size=props["BatchSize"],
        )
    assert stats.failures == 0
    return [line for line in capture.lines() if line.get("message") == "decision"]


def fetch(stack: Stack) -> None:
    fetch = lambda_local.load_handler(stack, "FetchMentionsFunction")[1]
    assert fetch({"source": "replay"}, context())["fetched"] == 5


def test_the_stack_creates_an_empty_pilot_nobody_is_emailed(
    piloted: Stack, aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pilot(capsys, "list") == [f"pilot {PILOT}: empty: nobody is e-mailed"]
    fetch(piloted)
    decided = run(piloted, "TriageMentionsFunction")
    reasons = sorted(d["reason"] for d in decided)
    assert reasons == [
        "not_complaint",
        "not_in_pilot",
        "not_in_pilot",
        "not_in_pilot",
        "own_account",
    ]
    assert local_aws.sent_emails(aws) == []


def test_a_pilot_customer_is_emailed_the_others_decided_not_in_pilot(
    piloted: Stack, aws: str, capsys: pytest.CaptureFixture[str], hash_key: None
) -> None:
    # Mette by CRM id, Oliver by e-mail address; Emma stays out.
    pilot(capsys, "add", "--customer", "C-1001", "--email", "Oliver.Smith@example.net")
    listed = pilot(capsys, "list")
    assert listed[0] == f"pilot {PILOT}: 1 customers, 1 e-mail addresses"
    hasher = Hasher(derived_secret(HASH_KEY, "hash"))
    assert f"customer {hasher.person('C-1001')}" in listed  # hashes only, never the ids
    stored = boto3.client("ssm").get_parameter(Name=PILOT)["Parameter"]["Value"]
    assert "C-1001" not in stored and "oliver" not in stored.lower()

    fetch(piloted)
    decided = {d.get("customer_hash"): d["reason"] for d in run(piloted, "TriageMentionsFunction")}
    assert decided[hasher.person("C-1001")] == "contact"
    assert decided[hasher.person("C-1002")] == "contact"
    assert decided[hasher.person("C-1015")] == "not_in_pilot"

    # Oliver leaves the pilot before the mailer runs: the mailer skips him too.
    pilot(capsys, "remove", "--email", "oliver.smith@example.net")
    mailed = {d["customer_hash"]: d["reason"] for d in run(piloted, "SendOutreachFunction")}
    assert mailed == {hasher.person("C-1001"): "contact", hasher.person("C-1002"): "not_in_pilot"}
    sent = [message_from_string(m["raw_data"])["To"] for m in local_aws.sent_emails(aws)]
    assert sent == ["mette.jensen@example.net"]


def test_pilot_clear_empties_the_list(
    piloted: Stack, capsys: pytest.CaptureFixture[str], hash_key: None
) -> None:
    pilot(capsys, "add", "--customer", "C-1001")
    assert pilot(capsys, "clear") == [
        f"pilot {PILOT}: empty: nobody is e-mailed; the functions read it within a minute"
    ]


def test_outside_the_send_window_requests_wait_on_the_queue(stack: Stack, aws: str) -> None:
    # Tomorrow noon (brand time zone): closed now and 12 to 36 hours away, whatever the
    # date and hour the test runs at, so no post here (at most an hour old) is stale by then.
    today = datetime.now(ZoneInfo("Europe/Copenhagen")).weekday()
    closed = f"{DAYS[(today + 1) % 7]} 12:00-13:00"
    fetch(stack)
    run(stack, "TriageMentionsFunction")
    for _ in range(4):  # more rounds than maxReceiveCount: nothing may reach the DLQ
        assert run(stack, "SendOutreachFunction", SEND_WINDOW=closed) == []
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical["OutreachQueue"], AttributeNames=["All"]
    )["Attributes"]
    assert int(attrs["ApproximateNumberOfMessagesDelayed"]) == 3  # one copy each, not more
    dlq = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical["OutreachDeadLetterQueue"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]
    assert dlq["ApproximateNumberOfMessages"] == "0"
    assert local_aws.sent_emails(aws) == []
    table = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    assert not [i for i in table if i["pk"]["S"].startswith(("person#", "rate#"))]
