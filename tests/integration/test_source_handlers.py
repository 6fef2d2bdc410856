"""Each platform source through the deployed path: template.yaml provisioned on moto's
server, the source's secret in Secrets Manager, FetchMentionsFunction imported as Lambda
imports it and invoked with the schedule's input, the cursor in DynamoDB and the mentions
on SQS. A rate-limited run keeps its cursor; the next run continues; nothing personal is
written to the state table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest

from socialcare.errors import ConfigError
from socialcare.sources import parse_page
from socialcare.sources.auth import TOKENS
from socialcare_cli import lambda_local, local_aws, platforms, servers
from socialcare_cli.template import Stack, load_template
from tests.conftest import context
from tests.integration.platform_cases import BY_NAME, CASES, SECRETS, UNIT, load

TITLES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon", "trustpilot": "Trustpilot"}
TITLES["reddit"] = "Reddit"


class Platforms:
    def __init__(self) -> None:
        self.fakes: dict[str, platforms.FakePlatform] = {}
        self.urls: dict[str, str] = {}
        self.pages: dict[str, list[Any]] = {}  # as served: times moved, ids re-minted


@pytest.fixture
def fakes() -> Iterator[Platforms]:
    """Every platform's stand-in on its own server, with post times moved to now."""
    found = Platforms()
    with ExitStack() as stack:
        for case in CASES:
            pages = platforms.fresh([load(f"{case.name}/{p}") for p in case.pages], case.name)
            fake = case.fake(pages)
            found.urls[case.name] = stack.enter_context(servers.serve(fake))
            found.fakes[case.name] = fake
            found.pages[case.name] = pages
            if isinstance(fake, platforms.FakeMastodon):
                fake.base_url = found.urls[case.name]
        yield found


@pytest.fixture
def deployed(aws: str, fakes: Platforms) -> Stack:
    overrides = {f"Enable{t}": "true" for t in TITLES.values()}
    overrides.update(
        MastodonInstances=fakes.urls["mastodon"],
        MastodonTags="lynet",
        TrustpilotBusinessUnitId=UNIT,
    )
    stack = Stack(load_template(), overrides=overrides)
    local_aws.provision(stack)
    for name, title in TITLES.items():
        secret = dict(SECRETS[f"{name}-secret"])
        if name == "mastodon":
            secret = {"tokens": {urlparse(fakes.urls[name]).netloc: "m-token"}}
        local_aws.set_secret(stack, f"{title}SourceSecret", json.dumps(secret))
    return stack


def handler(stack: Stack, fakes: Platforms, **env: str) -> Any:
    TOKENS.clear()  # a new container
    urls = fakes.urls
    local = {
        "HTTP_BACKOFF_S": "0.001",
        "X_API_URL": urls["x"],
        "BLUESKY_SERVICE_URL": urls["bluesky"],
        "TRUSTPILOT_API_URL": urls["trustpilot"],
        "REDDIT_AUTH_URL": urls["reddit"],
        "REDDIT_API_URL": urls["reddit"],
        **env,
    }
    return lambda_local.load_handler(stack, "FetchMentionsFunction", local)[1]


def queued(stack: Stack) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=stack.physical["MentionsQueue"], MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
    return out


def state_items(stack: Stack) -> list[dict[str, Any]]:
    table = stack.physical["StateTable"]
    return list(boto3.client("dynamodb").scan(TableName=table)["Items"])


@pytest.mark.parametrize("name", list(TITLES))
def test_a_scheduled_run_reads_pages_and_a_rate_limited_one_continues(
    deployed: Stack, fakes: Platforms, name: str
) -> None:
    case = BY_NAME[name]
    fetch = handler(deployed, fakes)
    body = json.dumps(load(f"{name}/{case.rate_limit_body}")).encode()
    fakes.fakes[name].fail_next = [None, (429, {}, body)]
    first = fetch({"source": name}, context())
    assert first["stopped"] == "rate_limited" and first["fetched"] > 0
    second = fetch({"source": name}, context())
    assert second["stopped"] == "done" and second["pages"] >= 1

    mentions = queued(deployed)
    expected = [m.post_id for page in fakes.pages[name] for m in parse_page(name, page)[0]]
    assert sorted(m["post_id"] for m in mentions) == sorted(expected)  # no skip, no twice
    assert all(m["source"] == name for m in mentions)
    cursors = [i for i in state_items(deployed) if i["pk"]["S"] == f"cursor#{name}"]
    assert len(cursors) == 1

    # the state table holds no post text, handle, name or e-mail address
    written = json.dumps(state_items(deployed), ensure_ascii=False).lower()
    for mention in mentions:
        for field in ("text", "handle", "display_name", "email", "author_id", "post_id"):
            value = mention.get(field)
            if value and len(value) > 3 and not value.isdigit():
                assert value.lower() not in written, (field, value)


def test_the_template_enables_each_source_with_its_own_schedule(deployed: Stack) -> None:
    env = deployed.function_environment("FetchMentionsFunction")
    assert set(env["ENABLED_SOURCES"].split(",")) - {""} == set(TITLES)
    events = deployed.resources["FetchMentionsFunction"]["Properties"]["Events"]
    for name, title in TITLES.items():
        schedule = events[f"{title}Schedule"]["Properties"]
        assert json.loads(schedule["Input"]) == {"source": name}
        assert deployed.resolve(schedule["State"]) == "ENABLED"
        assert schedule["DeadLetterConfig"]["Arn"] == {
            "Fn::GetAtt": ["SchedulerDeadLetterQueue", "Arn"]
        }
        assert env[f"{name.upper()}_SECRET"] == deployed.physical[f"{title}SourceSecret"]


def test_a_source_left_disabled_is_refused(aws: str, fakes: Platforms) -> None:
    stack = Stack(load_template())
    local_aws.provision(stack)
    assert stack.function_environment("FetchMentionsFunction")["X_SECRET"] == ""
    fetch = handler(stack, fakes)
    with pytest.raises(ConfigError, match="not enabled"):
        fetch({"source": "x"}, context())


def test_a_secret_still_empty_is_a_counted_auth_failure(
    deployed: Stack, fakes: Platforms, capsys: pytest.CaptureFixture[str]
) -> None:
    local_aws.set_secret(deployed, "XSourceSecret", '{"bearer_token": ""}')
    fetch = handler(deployed, fakes)
    with pytest.raises(Exception, match="x: the source secret has no bearer_token"):
        fetch({"source": "x"}, context())
    assert '"SourceAuthFailedTotal"' in capsys.readouterr().out
