"""One deployment per run: `sam build` (cached), MiniStack started once, `sam deploy` once,
pointed at local replay and CRM servers. Tests read what the deployed functions did
through the AWS APIs (logs, queues) and MiniStack's SES outbox."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from socialcare.hashing import Hasher
from socialcare.wiring import derived_secret
from socialcare_cli import servers
from tests.conftest import CRM_TOKEN, HASH_KEY, load_json
from tests.e2e import emulator
from tests.integration import push_cases as push

STACK = "socialcare-e2e"
SENDER = "kundeservice@lynet.example"
AGENTS = "agents@lynet.example"
PILOT = f"/{STACK}/pilot"
REVIEW_ADDRESS = AGENTS  # review copies and the digest: one agents' mailbox
PAGE_ID = "101234567890123"  # the Facebook Page of tests/data/platforms/facebook
META_SECRET = {
    "app_secret": "e2e-app-secret",
    "verify_token": "e2e-verify",
    "page_access_token": "t",
}


@dataclass
class Deployed:
    endpoint: str
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    replay: servers.ReplayPages
    crm: servers.ContractCrm
    workdir: Path
    overrides: dict[str, str]  # the parameters it was deployed with
    functions: tuple[str, ...] = (
        "FetchMentionsFunction",
        "TriageMentionsFunction",
        "SendOutreachFunction",
        "ReceiveWebhookFunction",
        "UnsubscribeFunction",
        "EmailEventsFunction",
        "IncidentSwitchFunction",
        "SendDigestFunction",
        "MarkWrongFunction",
        "ReviewFunction",
        "MeasureOutcomeFunction",
    )
    hasher: Hasher = field(default_factory=lambda: Hasher(derived_secret(HASH_KEY, "hash")))

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=emulator.REGION,
            aws_access_key_id=emulator.ROOT_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=emulator.ROOT_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def log_lines(self, function_logical_id: str) -> list[str]:
        """Every line the deployed function wrote to its log group, in order."""
        logs = self.client("logs")
        group = f"/aws/lambda/{self.resources[function_logical_id]}"
        lines: list[str] = []
        kwargs: dict[str, Any] = {"logGroupName": group}
        try:
            while True:
                page = logs.filter_log_events(**kwargs)
                lines += [e["message"] for e in page["events"]]
                if not page.get("nextToken"):
                    return lines
                kwargs["nextToken"] = page["nextToken"]
        except logs.exceptions.ResourceNotFoundException:
            return []

    def records(self, function_logical_id: str, message: str) -> list[dict[str, Any]]:
        """The structured (Powertools JSON) log records with this message."""
        out = []
        for line in self.log_lines(function_logical_id):
            for part in line.splitlines():
                if part.startswith("{") and message in part:
                    record = json.loads(part)
                    if record.get("message") == message:
                        out.append(record)
        return out

    def explain(self) -> str:
        """What went wrong, for a timeout: error lines of the stack's functions and the
        emulator's own warnings (event source mapping failures, denied calls)."""
        out = []
        for logical in self.functions:
            errors = [
                line[:500]
                for line in self.log_lines(logical)
                if '"level":"ERROR"' in line or "Error" in line[:200]
            ]
            out += [f"-- {logical}", *errors[-8:]]
        emulator_log = (self.workdir / "ministack.log").read_text(errors="replace")
        out += ["-- MiniStack", *[line[:500] for line in emulator_log.splitlines()[-15:]]]
        return "\n".join(out)

    def function_url(self, output: str) -> str:
        """A Function URL from the stack's Outputs, as MiniStack serves it: path-based
        (`/_aws/lambda-url/<url id>/`), since `<id>.lambda-url.<region>.on.aws` does not
        resolve here."""
        url_id = self.outputs[output].split("//", 1)[1].split(".", 1)[0]
        return f"{self.endpoint}/_aws/lambda-url/{url_id}/"

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in emulator.sent_emails(self.endpoint) if address in m.get("To", [])]

    @contextmanager
    def as_operator(self) -> Iterator[None]:
        """boto3 in this process (the local commands) talks to the emulator."""
        saved = dict(os.environ)
        os.environ.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_REGION=emulator.REGION,
            AWS_DEFAULT_REGION=emulator.REGION,
            **emulator.ROOT_CREDENTIALS,
        )
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "SOCIALCARE_HASH_KEY"):
            os.environ.pop(name, None)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="session")
def tools() -> emulator.Tools:
    found = emulator.find_tools()
    if isinstance(found, str):
        if os.environ.get("SOCIALCARE_E2E_REQUIRED"):
            pytest.fail(found)  # `make e2e` and CI: a missing tool is a failure
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def deployed(tools: emulator.Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    # SOCIALCARE_E2E_TEMPLATE deploys another template (a deliberately broken copy, to
    # see this test fail); CodeUris resolve against the repo either way.
    template = Path(os.environ.get("SOCIALCARE_E2E_TEMPLATE", emulator.REPO / "template.yaml"))
    work = tmp_path_factory.mktemp("e2e")
    config = work / "samconfig.toml"
    config.write_text("version = 0.1\n")
    built = emulator.sam_build(tools, template, emulator.REPO / ".aws-sam" / "e2e", config)
    deployable = emulator.adapt_for_ministack(built)

    pages = servers.ReplayPages(load_json("posts.json"), page_size=2)
    data = load_json("crm.json")
    crm = servers.ContractCrm(data["customers"], data.get("interactions"), CRM_TOKEN)
    with (
        servers.serve(pages) as replay_url,
        servers.serve(crm) as crm_url,
        emulator.ministack(tools, work) as endpoint,
    ):
        bucket = "socialcare-e2e-artifacts"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=emulator.REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": emulator.REGION}
        )
        overrides = {
            "Architecture": "x86_64",
            "EnableReplay": "true",
            "ReplayUrl": replay_url,
            "CrmUrl": crm_url,
            "OutreachMode": "live",
            "SenderAddress": SENDER,
            # The test invokes the schedule's own target with its own input; a day
            # keeps the emulator's scheduler from fetching in the middle of a test.
            "FetchSchedule": "rate(1 day)",
            # Deploys the webhook's source switch (its Function URL always exists).
            "EnableFacebook": "true",
            "FacebookPageId": PAGE_ID,
            # The push routes beside Meta's (test_side_functions.py reaches each).
            **push.PUSH_OVERRIDES,
            # A pilot: only its customers are e-mailed (test_deployed_stack.py sets it).
            "PilotCustomers": PILOT,
            # E-mails at any hour the test runs; the window's waiting is tests/integration's.
            "SendWindow": "always",
            # The shadow digest to the agents' mailbox (test_shadow_digest.py); daily, so
            # the emulator's scheduler does not send it mid-test. Name matches go to the
            # same agents first (test_review_links.py).
            "ShadowDigest": "daily",
            "ReviewAddress": AGENTS,
        }
        emulator.sam_deploy(tools, deployable, endpoint, STACK, bucket, config, overrides)
        stack = Deployed(endpoint, {}, {}, pages, crm, work, overrides)
        cfn = stack.client("cloudformation")
        described = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        stack.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        stack.resources = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=STACK)["StackResources"]
        }
        # The secrets the template generates get the values the test's servers expect,
        # before any function starts (they are read at cold start).
        secrets = stack.client("secretsmanager")
        secrets.put_secret_value(SecretId=stack.resources["HashKeySecret"], SecretString=HASH_KEY)
        secrets.put_secret_value(SecretId=stack.resources["CrmTokenSecret"], SecretString=CRM_TOKEN)
        secrets.put_secret_value(
            SecretId=stack.resources["MetaSourceSecret"], SecretString=json.dumps(META_SECRET)
        )
        for name, value in push.PUSH_SECRETS.items():
            secrets.put_secret_value(SecretId=stack.resources[name], SecretString=json.dumps(value))
        yield stack
