"""Every function of template.yaml can be probed locally the way Lambda calls it: module
`app` loaded from its CodeUri with only its environment from the template plus
SOCIALCARE_HASH_KEY, then invoked with an event of its trigger. A new function without an
event here fails the coverage check."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from socialcare_cli import lambda_local, local_aws
from socialcare_cli.demo import sns_event
from socialcare_cli.template import Stack, load_template
from tests.conftest import HASH_KEY, context
from tests.integration.test_sample_events import EVENTS, event, fresh

OPS_TOPIC = "arn:aws:sns:eu-west-1:123456789012:ops"
# function -> (event, what its answer must say)
PROBES: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[Any], bool]]] = {
    "FetchMentionsFunction": (
        lambda: event("fetch_replay.json"),
        lambda out: out["fetched"] == 5,
    ),
    "TriageMentionsFunction": (
        lambda: fresh(event("triage_sqs.json")),
        lambda out: len(out["batchItemFailures"]) == 1,  # the sample's malformed record
    ),
    "SendOutreachFunction": (
        lambda: fresh(event("mailer_sqs.json")),
        lambda out: out["batchItemFailures"] == [],
    ),
    "ReceiveWebhookFunction": (
        lambda: event("webhook_verify.json"),
        lambda out: (out["statusCode"], out["body"]) == (200, "1158201444"),
    ),
    "UnsubscribeFunction": (
        lambda: lambda_local.function_url_event("GET", "/", {"token": "é.1.é"}),
        lambda out: out["statusCode"] == 400,
    ),
    "EmailEventsFunction": (
        lambda: event("email_events_sns.json"),
        lambda out: out["opted_out"] >= 1,
    ),
    "IncidentSwitchFunction": (
        lambda: sns_event({"AlarmName": "not-a-spike", "NewStateValue": "OK"}, OPS_TOPIC),
        lambda out: out["incident_topics"] == [],
    ),
    "ReviewFunction": (
        lambda: event("review_confirm.json"),  # a link this stack's key never sealed
        lambda out: out["statusCode"] in (400, 403),
    ),
    "SendDigestFunction": (
        lambda: event("digest_schedule.json"),
        lambda out: out == {"decisions": 0, "labels": 0, "unreadable": 0},  # nothing decided
    ),
    "MarkWrongFunction": (
        lambda: event("mark_wrong_post.json"),
        lambda out: out["statusCode"] == 403,  # signed with the sample key, not this stack's
    ),
    "MeasureOutcomeFunction": (lambda: {}, lambda out: out["measured"] == 0),  # nothing due
}
# Short polls: moto's long poll never returns under a shifted clock (make test-clock).
EXTRA_ENV = {
    "SendDigestFunction": {"DIGEST_WAIT_S": "0"},
    "MeasureOutcomeFunction": {"OUTCOME_WAIT_S": "0"},
}


def test_every_function_has_a_probe() -> None:
    functions = {
        k
        for k, v in load_template()["Resources"].items()
        if v["Type"] == "AWS::Serverless::Function"
    }
    assert set(PROBES) == functions
    assert (EVENTS / "fetch_replay.json").exists()


@pytest.mark.parametrize("function", sorted(PROBES))
def test_a_function_loads_with_the_template_environment_and_answers(
    stack: Stack, function: str
) -> None:
    secret = {"app_secret": "sample-app-secret", "verify_token": "sample-verify-token"}
    local_aws.set_secret(stack, "MetaSourceSecret", json.dumps(secret))  # deploy step 5
    env = {"SOCIALCARE_HASH_KEY": HASH_KEY, **EXTRA_ENV.get(function, {})}
    module, handler = lambda_local.load_handler(stack, function, env)
    assert module.__name__ == "app"
    probe, expect = PROBES[function]
    answer = handler(json.loads(json.dumps(probe())), context(function))
    assert expect(answer), answer
