"""The push routes' test bench: template.yaml with Trustpilot, Threads and Google enabled on
moto, each platform's stand-in on a local server, ReceiveWebhookFunction behind real HTTP
(a local server turning requests into Function URL events), and the pipeline after it
(triage, then the mailer) driven from the queues as Lambda drives them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from socialcare_cli import lambda_local, local_aws, servers
from socialcare_cli.demo import LogCapture
from socialcare_cli.template import Stack, load_template
from tests.conftest import CRM_TOKEN, HASH_KEY, context
from tests.integration.test_pipeline_handlers import drain, emails

UNIT = "46d6a890000064000500e0c3"
TP_TOKENS = ["tp-url-secret-current-0123456789", "tp-url-secret-previous-9876543210"]
TP_SECRET = {
    "api_key": "tp-key",
    "api_secret": "tp-secret",
    "username": "cs@lynet.example",
    "password": "tp-password",
    "webhook_tokens": TP_TOKENS,
}
THREADS_USER = "17840000000000042"
THREADS_SECRET = {
    "app_secret": "threads-app-secret-0123456789",
    "verify_token": "threads-verify-token-7",
    "access_token": "THQWthreads-user-token-0123",
}
LOCATION = "accounts/1100000000000000000/locations/2200000000000000000"
AUDIENCE = "https://push.lynet.example/google"
PUSH_ACCOUNT = "gbp-push@lynet-care.iam.gserviceaccount.com"
GOOGLE_SECRET = {
    "client_id": "gbp-client.apps.googleusercontent.com",
    "client_secret": "gbp-client-secret",
    "refresh_token": "1//gbp-refresh-token",
}


# The three push sources switched on, as a deployment would set them.
PUSH_OVERRIDES = {
    "EnableTrustpilot": "true",
    "TrustpilotBusinessUnitId": UNIT,
    "EnableThreads": "true",
    "ThreadsUserId": THREADS_USER,
    "EnableGoogle": "true",
    "GoogleLocations": LOCATION,
    "GooglePushAudience": AUDIENCE,
    "GooglePushServiceAccount": PUSH_ACCOUNT,
}


PUSH_SECRETS = {
    "TrustpilotSourceSecret": TP_SECRET,
    "ThreadsSourceSecret": THREADS_SECRET,
    "GoogleSourceSecret": GOOGLE_SECRET,
}


def set_push_secrets(stack: Stack) -> None:
    for name, value in PUSH_SECRETS.items():
        local_aws.set_secret(stack, name, json.dumps(value))


def push_stack(crm_url: str) -> Stack:
    stack = Stack(
        load_template(),
        overrides={**PUSH_OVERRIDES, "CrmUrl": crm_url, "OutreachMode": "live"},
    )
    local_aws.provision(stack)
    local_aws.set_secret(stack, "HashKeySecret", HASH_KEY)
    local_aws.set_secret(stack, "CrmTokenSecret", CRM_TOKEN)
    set_push_secrets(stack)
    return stack


@dataclass
class Bench:
    stack: Stack
    env: dict[str, str]  # the platforms' URLs (stand-ins)
    aws: str
    handlers: dict[str, Any] = field(default_factory=dict)

    def handler(self, logical: str, **env: str) -> Any:
        local = {"HTTP_BACKOFF_S": "0.001", **self.env, **env}
        return lambda_local.load_handler(self.stack, logical, local)[1]

    @contextmanager
    def url(self, **env: str) -> Iterator[str]:
        route = lambda_local.function_url_route(self.handler("ReceiveWebhookFunction", **env))
        with servers.serve(route) as base:
            yield base

    def queued(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        out: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=self.stack.physical["MentionsQueue"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
        ).get("Messages", []):
            out += [json.loads(m["Body"]) for m in batch]
        return out

    def depth(self) -> int:
        attrs = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.physical["MentionsQueue"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def fetch(self, source: str) -> dict[str, Any]:
        report: dict[str, Any] = self.handler("FetchMentionsFunction")(
            {"source": source}, context()
        )
        return report

    def triage_and_mail(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Drain MentionsQueue through triage and OutreachQueue through the mailer: the
        decisions logged and the addresses e-mailed."""
        capture = LogCapture()
        with capture.active():
            drain(self.stack, "TriageMentionsFunction", self.handler("TriageMentionsFunction"))
        decisions = [line for line in capture.lines() if line.get("message") == "decision"]
        drain(self.stack, "SendOutreachFunction", self.handler("SendOutreachFunction"))
        return decisions, sorted(str(m["To"]) for m in emails(self.aws))
