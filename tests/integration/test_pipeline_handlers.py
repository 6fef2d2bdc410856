"""The three handlers against moto's server over HTTP, imported as Lambda imports them,
driven from their queues the way Lambda's SQS poller drives them."""

from __future__ import annotations

import json
import time
from email import message_from_string
from email.message import Message
from typing import Any

import boto3
import pytest

from socialcare import backoff
from socialcare.adapters import boto
from socialcare.errors import ConfigError, MailThrottled
from socialcare.outreach import mailer as outreach
from socialcare_cli import lambda_local, local_aws
from socialcare_cli.demo import LogCapture
from socialcare_cli.template import Stack
from tests.conftest import context
from tests.integration.test_sample_events import event, fresh


def queue(stack: Stack, logical: str) -> tuple[str, str]:
    return stack.physical[logical], stack.attributes[(logical, "Arn")]


def depth(stack: Stack, logical: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical[logical],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def drain(stack: Stack, function: str, fn: Any) -> lambda_local.PollStats:
    logical, props = stack.sqs_event(function)
    url, arn = queue(stack, logical)
    return lambda_local.poll(url, arn, fn, function_name=function, batch_size=props["BatchSize"])


def emails(endpoint: str) -> list[Message]:
    return [message_from_string(m["raw_data"]) for m in local_aws.sent_emails(endpoint)]


def test_fetch_queues_every_page_and_stores_the_cursor(
    stack: Stack, handler: Any, replay: Any
) -> None:
    fetch = handler("FetchMentionsFunction")
    report = fetch({"source": "replay"}, context())
    assert (report["fetched"], report["pages"], report["stopped"]) == (5, 2, "done")
    assert depth(stack, "MentionsQueue") == 5
    again = fetch({"source": "replay"}, context())  # the next schedule: nothing new
    assert again["fetched"] == 0 and replay[0].requests[-1] == "5"


def test_rate_limited_page_keeps_cursor_and_next_run_continues(
    stack: Stack, handler: Any, replay: Any
) -> None:
    pages, _ = replay
    # first page fine, then the platform says 429 with a reset header
    pages.fail_next = [None, (429, {"Retry-After": "60"}, b'{"error": "rate limited"}')]
    fetch = handler("FetchMentionsFunction")
    first = fetch({"source": "replay"}, context())
    assert first["stopped"] == "rate_limited" and first["fetched"] == 3
    second = fetch({"source": "replay"}, context())
    assert second["stopped"] == "done" and second["fetched"] == 2
    assert depth(stack, "MentionsQueue") == 5  # none skipped, none twice


def test_unreachable_source_fails_the_run_without_moving_the_cursor(
    stack: Stack, handler: Any, replay: Any
) -> None:
    pages, _ = replay
    pages.fail_next = [(503, {}, b"<html>busy</html>")] * 10
    fetch = handler("FetchMentionsFunction", HTTP_TIMEOUT_S="2")
    with pytest.raises(Exception, match="replay: HTTP 503"):
        fetch({"source": "replay"}, context())
    assert depth(stack, "MentionsQueue") == 0
    assert len(pages.requests) == 4  # urllib3 retried 3 times with backoff


def test_pipeline_emails_matched_complainers_only(stack: Stack, handler: Any, aws: str) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    triage = drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    assert triage.failures == 0 and triage.records == 5
    mailer = drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    assert mailer.records == 3 and mailer.failures == 0
    sent = emails(aws)
    assert sorted(m["To"] for m in sent) == [
        "emma.wilson@example.net",
        "mette.jensen@example.net",
        "oliver.smith@example.net",
    ]
    for m in sent:
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert m["Reply-To"] == "kundeservice@lynet.example"
        assert {p.get_content_type() for p in m.walk()} >= {"text/plain", "text/html"}


def test_a_batch_queues_its_outreach_requests_in_one_send(stack: Stack, handler: Any) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    sends: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        sends.append(params["QueueUrl"])

    events = boto.session().events  # the functions' clients, made with the first record
    events.register("provide-client-params.sqs.SendMessageBatch", count)
    try:
        stats = drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    finally:
        events.unregister("provide-client-params.sqs.SendMessageBatch", count)
    assert (stats.batches, stats.records, stats.failures) == (1, 5, 0)
    assert sends == [stack.physical["OutreachQueue"]]  # three requests, one call
    assert depth(stack, "OutreachQueue") == 3


def test_poison_message_goes_to_dlq_while_the_rest_of_its_batch_flows(
    stack: Stack, handler: Any
) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    url, _ = queue(stack, "MentionsQueue")
    poison = {"source": "x", "handle": "poisonhandle", "text": "Birgitte Kjærsgaard siger nej"}
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(poison))
    capture = LogCapture()
    with capture.active():
        stats = drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    assert stats.records == 6 + 2  # the poison was received 3 times (maxReceiveCount)
    assert stats.failures == 3
    assert depth(stack, "MentionsQueue") == 0
    assert depth(stack, "MentionsDeadLetterQueue") == 1
    assert depth(stack, "OutreachQueue") == 3  # the good ones went on
    # What the failing record left in the logs (warnings, errors, any stray print) names
    # the error, never the post.
    written = json.dumps(capture.lines(), ensure_ascii=False)
    assert "ValidationError" in written
    leaked = [w for w in ("poisonhandle", "Birgitte", "Kjærsgaard", "siger nej") if w in written]
    assert not leaked, leaked


def test_crm_outage_waits_on_the_queue_and_heals_without_a_redrive(
    stack: Stack, handler: Any, crm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, _ = crm
    monkeypatch.setattr(backoff, "delay_s", lambda times, base_s=30: 2)  # not 15-30 s
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    directory.fail_next = [(503, {}, b'{"error": "down"}')] * 1000
    triage = handler("TriageMentionsFunction")
    logical, _ = stack.sqs_event("TriageMentionsFunction")
    url, arn = queue(stack, logical)
    stats = lambda_local.poll(url, arn, triage, function_name="t", batch_size=10, max_batches=1)
    assert stats.failures == 0  # nothing counts a receive towards the DLQ
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "3"  # the complaints
    directory.fail_next = []  # the CRM answers again; nobody redrives anything
    time.sleep(2.1)
    drain(stack, "TriageMentionsFunction", triage)
    assert depth(stack, "OutreachQueue") == 3 and depth(stack, "MentionsDeadLetterQueue") == 0


def test_same_sqs_message_delivered_twice_yields_one_email(
    stack: Stack, handler: Any, aws: str
) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    sqs = boto3.client("sqs")
    url, arn = queue(stack, "OutreachQueue")
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"])
    message = out["Messages"][0]
    event = {"Records": [lambda_local._event_record(message, arn)] * 2}
    mailer = handler("SendOutreachFunction")
    assert mailer(event, context())["batchItemFailures"] == []
    assert mailer(event, context())["batchItemFailures"] == []  # and delivered again later
    assert len(emails(aws)) == 1


def test_a_mention_delivered_three_times_is_decided_once(stack: Stack, handler: Any) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    sqs = boto3.client("sqs")
    url, arn = queue(stack, "MentionsQueue")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    records = [lambda_local._event_record(m, arn) for m in messages["Messages"]]
    triage = handler("TriageMentionsFunction")
    capture = LogCapture()
    with capture.active():
        for _ in range(3):  # SQS delivers the whole batch again, twice
            assert triage({"Records": records}, context())["batchItemFailures"] == []
    lines = capture.lines()
    decided = [line["mention_id"] for line in lines if line.get("message") == "decision"]
    assert len(decided) == len(records) == len(set(decided))
    counted = [line for line in lines if "Decisions" in line]
    assert len(counted) == len(records)  # the metrics once too
    assert depth(stack, "OutreachQueue") == sum(
        1 for line in lines if line.get("message") == "decision" and line["reason"] == "contact"
    )


def test_shadow_mode_from_ssm_sends_nothing(stack: Stack, handler: Any, aws: str) -> None:
    boto3.client("ssm").put_parameter(
        Name=stack.physical["OutreachModeParameter"], Value="shadow", Overwrite=True
    )
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    stats = drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    assert stats.records == 3 and emails(aws) == []


@pytest.mark.parametrize(
    ("function", "variable", "value"),
    [
        ("TriageMentionsFunction", "MAX_POST_AGE_HOURS", "0"),
        ("SendOutreachFunction", "MAX_EMAILS_PER_HOUR", "many"),
        ("TriageMentionsFunction", "CRM_URL", "ftp://crm"),  # message names "CRM URL"
        ("SendOutreachFunction", "CRM_TOKEN_SECRET", ""),  # an HTTP CRM needs a token
        ("FetchMentionsFunction", "MAX_PAGES_PER_RUN", "0"),
    ],
)
def test_handlers_fail_fast_at_cold_start_on_bad_settings(
    stack: Stack, handler: Any, function: str, variable: str, value: str
) -> None:
    expected = {"CRM_URL": "CRM URL", "CRM_TOKEN_SECRET": "bearer token"}.get(variable, variable)
    with pytest.raises(ConfigError, match=expected):
        handler(function, **{variable: value})


def test_a_secret_is_read_with_the_first_record_not_at_import(stack: Stack, handler: Any) -> None:
    """No network I/O at import: a secret that cannot be read fails the records that need
    it (back to their queue, audited with the secret's name), not the cold start."""
    mailer = handler("SendOutreachFunction", HASH_KEY_SECRET="no-such-secret")
    records, capture = fresh(event("mailer_sqs.json")), LogCapture()
    with capture.active():
        response = mailer(records, context())
    assert response["batchItemFailures"] == [{"itemIdentifier": records["Records"][0]["messageId"]}]
    failed = [
        line
        for line in capture.lines()
        if line.get("message") == "record failed; back to the queue"
    ]
    assert len(failed) == 1 and failed[0]["error"] == "ConfigError"
    assert "no-such-secret" in failed[0]["detail"]


def test_no_personal_data_in_state_table(stack: Stack, handler: Any) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    drain(stack, "SendOutreachFunction", handler("SendOutreachFunction"))
    items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    dumped = json.dumps(items)
    assert len(items) > 5
    for secret in (
        "mettejensen",
        "Mette",
        "mette.jensen@example.net",
        "nede",
        "emmawilson",
        "oliver.bsky.social",
        "router",
    ):
        assert secret.lower() not in dumped.lower()


class LambdaTimeout(BaseException):
    """What Lambda does at its timeout: the process stops, no `except Exception` runs."""


class LastSeconds(lambda_local.FakeContext):
    """Enough time to start the record (the budget check), then an invocation whose
    deadline is a second away: the idempotency in-progress record expires that soon."""

    def get_remaining_time_in_millis(self) -> int:
        self.calls = getattr(self, "calls", 0) + 1
        return 25_000 if self.calls == 1 else 1_000


def test_crash_after_ses_accepted_sends_once_and_the_retry_records_in_crm(
    stack: Stack, handler: Any, aws: str, crm: Any
) -> None:
    directory, _ = crm
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    url, arn = queue(stack, "OutreachQueue")
    message = boto3.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"]
    )["Messages"][0]
    event = {"Records": [lambda_local._event_record(message, arn)]}
    customer = json.loads(message["Body"])["customer_ref"]
    before = len(directory.interactions.get(customer, []))

    module, mailer = lambda_local.load_handler(stack, "SendOutreachFunction")
    crm_client = module.runtime.deps.crm
    record = crm_client.record_interaction

    def dies(*args: Any) -> None:
        crm_client.record_interaction = record
        raise LambdaTimeout  # SES has the e-mail; the CRM call never returns

    crm_client.record_interaction = dies
    with pytest.raises(LambdaTimeout):
        mailer(event, LastSeconds("m"))
    assert len(emails(aws)) == 1 and len(directory.interactions.get(customer, [])) == before

    time.sleep(1.1)  # the idempotency record's in-progress window (the Lambda timeout) ends
    assert mailer(event, context())["batchItemFailures"] == []  # SQS redelivers it
    assert len(emails(aws)) == 1
    ours = [i for i in directory.interactions[customer] if i.get("kind") == "social_outreach"]
    assert len(ours) == 1


def test_over_the_hourly_cap_requests_wait_on_the_queue_not_in_the_dlq(
    stack: Stack, handler: Any, aws: str
) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    mailer = handler("SendOutreachFunction", MAX_EMAILS_PER_HOUR="1")
    for _ in range(4):  # more rounds than maxReceiveCount: nothing may reach the DLQ
        stats = drain(stack, "SendOutreachFunction", mailer)
        assert stats.failures == 0
    assert len(emails(aws)) == 1
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical["OutreachQueue"], AttributeNames=["All"]
    )["Attributes"]
    assert int(attrs["ApproximateNumberOfMessagesDelayed"]) == 2
    assert depth(stack, "OutreachDeadLetterQueue") == 0


class ThrottledSes:
    def send(self, email: Any) -> str:
        raise MailThrottled("SES throttled: TooManyRequestsException")


def mailer_throttled_by_ses(stack: Stack, handler: Any) -> Any:
    """Three outreach requests on the queue, and the mailer handler whose SES throttles."""
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    module, mailer = lambda_local.load_handler(stack, "SendOutreachFunction")
    module.runtime.deps.mailer = ThrottledSes()
    return mailer


def test_ses_throttling_waits_on_the_queue_with_a_growing_count_not_in_the_dlq(
    stack: Stack, handler: Any, aws: str
) -> None:
    mailer = mailer_throttled_by_ses(stack, handler)
    stats = drain(stack, "SendOutreachFunction", mailer)
    assert stats.records == 3 and stats.failures == 0  # each re-queued, none failed
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical["OutreachQueue"], AttributeNames=["All"]
    )["Attributes"]
    assert int(attrs["ApproximateNumberOfMessagesDelayed"]) == 3
    assert depth(stack, "OutreachDeadLetterQueue") == 0 and emails(aws) == []
    # No person key is left claimed: the delayed copies will be able to send.
    table = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    assert not [i for i in table if i["pk"]["S"].startswith("person#")]


def test_each_throttled_round_is_counted_on_the_copy(
    stack: Stack, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailer = mailer_throttled_by_ses(stack, handler)
    monkeypatch.setattr(outreach, "throttle_delay_s", lambda times: 0)  # visible at once
    url, arn = queue(stack, "OutreachQueue")
    for expected in (1, 2):
        lambda_local.poll(url, arn, mailer, function_name="m", batch_size=10, max_batches=1)
        got = boto3.client("sqs").receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )["Messages"]
        assert sorted(json.loads(m["Body"])["throttled"] for m in got) == [expected] * 3


@pytest.mark.parametrize(
    ("function", "queue_name"),
    [("TriageMentionsFunction", "MentionsQueue"), ("SendOutreachFunction", "OutreachQueue")],
)
def test_records_are_not_started_without_time_to_finish(
    stack: Stack, handler: Any, aws: str, function: str, queue_name: str
) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    if queue_name == "OutreachQueue":
        drain(stack, "TriageMentionsFunction", handler("TriageMentionsFunction"))
    url, arn = queue(stack, queue_name)
    messages = boto3.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=3, AttributeNames=["All"]
    )["Messages"]
    event = {"Records": [lambda_local._event_record(m, arn) for m in messages]}
    # Five seconds left of the invocation: every record goes back to its queue unstarted.
    result = handler(function)(event, lambda_local.FakeContext(function, timeout_s=5))
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {
        m["MessageId"] for m in messages
    }
    assert emails(aws) == []
    assert depth(stack, "OutreachQueue") == (3 if queue_name == "OutreachQueue" else 0)
