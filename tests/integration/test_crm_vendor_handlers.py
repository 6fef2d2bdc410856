"""A vendor CRM inside the deployed functions: CrmKind=hubspot+zendesk and
salesforce+zendesk on the stack from template.yaml (moto's server), TriageMentions and
SendOutreach imported as Lambda imports them, the CRM's and Zendesk's stand-ins on one
port, the credentials in their two secrets.

A flaky vendor (429 bursts, 500s, a timeout) sends the mentions back to their queue,
delayed (the pipeline's CRM-outage backoff; 0 s here), and they are decided when it
answers: nothing lost, nothing sent twice. A refused credential fails the first call with
a clear error and the CrmAuthFailedTotal count behind the alarm, and the mentions wait
until the secret is fixed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from socialcare import backoff
from socialcare.identity.vendor import reset_limiters
from socialcare_cli import lambda_local, local_aws, servers
from socialcare_cli.cmd_crm_serve import standin
from socialcare_cli.demo import LogCapture
from socialcare_cli.template import Stack, load_template
from tests.conftest import CRM_TOKEN, HASH_KEY, load_json
from tests.integration.test_identity_handlers import send

OPTIONS = json.dumps({"salesforce": {"client_id": "socialcare-test"}})


@pytest.fixture(params=["hubspot+zendesk", "salesforce+zendesk"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def vendors(kind: str) -> Iterator[tuple[Any, str]]:
    reset_limiters()
    route = standin(kind, {**load_json("crm.json"), "token": CRM_TOKEN})
    with servers.serve(route) as url:
        yield route, url
    reset_limiters()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mention waiting out the vendor is visible again at once (30 s.. deployed)."""
    monkeypatch.setattr(backoff, "delay_s", lambda times, base_s=30: 0)


WAITS = "CRM unavailable; the mention waits on the queue"


@pytest.fixture
def stack(aws: str, replay: tuple[Any, str], vendors: tuple[Any, str], kind: str) -> Stack:
    built = Stack(
        load_template(),
        overrides={
            "EnableReplay": "true",
            "ReplayUrl": replay[1],
            "CrmUrl": vendors[1],
            "CrmKind": kind,
            "CrmOptions": OPTIONS,
            "HelpDeskUrl": vendors[1],
            "OutreachMode": "live",
            "ReviewAddress": "agents@lynet.example",
        },
    )
    local_aws.provision(built)
    local_aws.set_secret(built, "HashKeySecret", HASH_KEY)
    local_aws.set_secret(built, "CrmTokenSecret", CRM_TOKEN)
    local_aws.set_secret(built, "HelpDeskTokenSecret", CRM_TOKEN)
    return built


def load(stack: Stack, function: str, **env: str) -> Any:
    return lambda_local.load_handler(stack, function, {"HTTP_BACKOFF_S": "0.01", **env})[1]


def run(stack: Stack, function: str, handler: Any, max_batches: int = 100) -> tuple[Any, str]:
    logical, props = stack.sqs_event(function)
    capture = LogCapture()
    with capture.active():
        stats = lambda_local.poll(
            stack.physical[logical],
            stack.attributes[(logical, "Arn")],
            handler,
            function_name=function,
            batch_size=props["BatchSize"],
            max_batches=max_batches,
        )
    return stats, capture.buffer.getvalue()


def decisions(logged: str) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    return sorted((d["stage"], d["reason"]) for d in lines if d.get("message") == "decision")


MENTIONS = (
    {"handle": "mettejensen"},  # contact
    {"handle": "peterlarsen"},  # an SMS 3 hours ago, in Zendesk: already in contact
    {"handle": "jonasb"},  # contact
)


@pytest.mark.parametrize(
    ("failure", "env"),
    [
        ({"fail_next": [(429, {"Retry-After": "0"}, b'{"errorType": "RATE_LIMIT"}')] * 60}, {}),
        ({"fail_next": [(500, {}, b'{"status": "error"}')] * 60}, {}),
        ({"delay_s": 0.3}, {"HTTP_TIMEOUT_S": "0.05"}),
    ],
    ids=["429-burst", "5xx", "timeout"],
)
def test_a_flaky_vendor_delays_mentions_and_loses_or_repeats_nothing(
    stack: Stack, vendors: tuple[Any, str], aws: str, failure: dict[str, Any], env: dict[str, str]
) -> None:
    route, _ = vendors
    crm, zendesk = route.parts
    triage = load(stack, "TriageMentionsFunction", **env)
    send(stack, *MENTIONS)
    for name, value in failure.items():
        setattr(crm, name, value)
    stats, logged = run(stack, "TriageMentionsFunction", triage, max_batches=1)
    assert stats.failures == 0 and stats.records == len(MENTIONS)
    assert logged.count(WAITS) == len(MENTIONS)  # all back on the queue, delayed
    assert decisions(logged) == []
    crm.fail_next, crm.delay_s = [], 0.0

    stats, logged = run(stack, "TriageMentionsFunction", triage)
    assert stats.failures == 0
    assert decisions(logged) == [
        ("triage", "already_in_contact"),
        ("triage", "contact"),
        ("triage", "contact"),
    ]
    # the help desk fails while the mailer records: the e-mails go out once all the same
    zendesk.fail_next = [(500, {}, b"{}")] * 6  # three tries for each of two
    mailer = load(stack, "SendOutreachFunction", **env)
    stats, logged = run(stack, "SendOutreachFunction", mailer)
    assert stats.failures == 0 and decisions(logged) == [("mailer", "contact")] * 2
    assert "could not record outreach in CRM" in logged  # no series: the line
    send(stack, {"handle": "mettejensen", "post_id": "again"})  # the same person again
    run(stack, "TriageMentionsFunction", triage)
    run(stack, "SendOutreachFunction", mailer)
    sent = [
        message_from_string(m["raw_data"], policy=policy.default)
        for m in local_aws.sent_emails(aws)
    ]
    assert sorted(str(m["To"]) for m in sent) == [
        "jonas.berg@example.net",
        "mette.jensen@example.net",
    ]
    assert _dead_letters(stack) == 0


def test_a_refused_credential_fails_the_first_call_alarms_and_drops_nothing(stack: Stack) -> None:
    local_aws.set_secret(stack, "HelpDeskTokenSecret", "revoked-token")
    triage = load(stack, "TriageMentionsFunction")
    send(stack, *MENTIONS)
    stats, logged = run(stack, "TriageMentionsFunction", triage, max_batches=1)
    assert stats.failures == 0 and logged.count(WAITS) == len(MENTIONS)
    assert decisions(logged) == []
    assert "Zendesk refused the credentials (HTTP 401" in logged
    metrics = [json.loads(line) for line in logged.splitlines() if '"_aws"' in line]
    assert sum(sum(m.get("CrmAuthFailedTotal", [])) for m in metrics) >= 1  # EMF: a list
    alarm = stack.template["Resources"]["CrmAuthFailedAlarm"]["Properties"]
    assert alarm["MetricName"] == "CrmAuthFailedTotal" and alarm["Threshold"] == 0
    for secret in ("mettejensen", "peterlarsen", "example.net", "Mette"):
        assert secret not in logged  # the error names the vendor and the status, no one

    local_aws.set_secret(stack, "HelpDeskTokenSecret", CRM_TOKEN)  # the operator fixes it
    parameters.clear_caches()
    stats, logged = run(stack, "TriageMentionsFunction", load(stack, "TriageMentionsFunction"))
    assert stats.failures == 0 and len(decisions(logged)) == len(MENTIONS)
    assert _dead_letters(stack) == 0


def test_a_week_on_the_outcome_counts_the_customers_who_opened_a_ticket(
    stack: Stack, vendors: tuple[Any, str]
) -> None:
    """OutreachOutcome: the mailer leaves an entry per live e-mail on OutcomeQueue;
    MeasureOutcome, a week on, asks the help desk (Zendesk) through the CRM port."""
    _, zendesk = vendors[0].parts
    send(stack, *MENTIONS)
    run(stack, "TriageMentionsFunction", load(stack, "TriageMentionsFunction"))
    run(stack, "SendOutreachFunction", load(stack, "SendOutreachFunction"))
    (mette,) = [
        u for u, user in zendesk.users.items() if user["email"] == "mette.jensen@example.net"
    ]
    later = datetime.now(UTC) + timedelta(days=2)  # she writes to customer service
    zendesk._ticket(mette, later, subject="tak", description="tak", status="open")
    env = {"OUTCOME_VISIBILITY_S": "1", "OUTCOME_WAIT_S": "0"}
    module, measure = lambda_local.load_handler(
        stack, "MeasureOutcomeFunction", {"HTTP_BACKOFF_S": "0.01", **env}
    )
    context = lambda_local.FakeContext("MeasureOutcomeFunction")
    today = measure({}, context)
    assert (today["waiting"], today["measured"]) == (2, 0)  # not a week yet: they stay
    time.sleep(1.2)  # their visibility timeout (12 h deployed, a daily run later)
    module.deps.now = lambda: datetime.now(UTC) + timedelta(days=8)
    capture = LogCapture()
    with capture.active():
        week = measure({}, context)
    assert (week["measured"], week["answered"], week["waiting"]) == (2, 1, 0)
    logged = capture.buffer.getvalue()
    metrics = [json.loads(line) for line in logged.splitlines() if '"_aws"' in line]
    assert [m["OutreachOutcome"] for m in metrics if "OutreachOutcome" in m] == [[1.0]]  # EMF
    assert "mette" not in logged.lower() and "example.net" not in logged
    assert measure({}, context)["measured"] == 0  # measured once


def _dead_letters(stack: Stack) -> int:
    sqs = boto3.client("sqs")
    total = 0
    for logical in ("MentionsDeadLetterQueue", "OutreachDeadLetterQueue"):
        attrs = sqs.get_queue_attributes(
            QueueUrl=stack.physical[logical], AttributeNames=["ApproximateNumberOfMessages"]
        )
        total += int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    return total
