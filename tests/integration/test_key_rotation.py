"""`socialcare rotate-key` on the emulator: an opt-out made before the rotation still
blocks the e-mail after it, through the deployed handlers, and moves to the new key;
a second rotation that would orphan it is refused."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests

from socialcare.hashing import Hasher
from socialcare.outreach.unsubscribe import make_token
from socialcare.wiring import derived_secret
from socialcare_cli import lambda_local, servers
from socialcare_cli.local_aws import sent_emails
from socialcare_cli.main import main
from socialcare_cli.template import Stack
from tests.conftest import HASH_KEY, context
from tests.integration.test_pipeline_handlers import drain

METTE = "C-1001"  # the sample's Mette Jensen, mentioned by the replay page


def optouts(stack: Stack) -> dict[str, str]:
    items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    return {
        i["pk"]["S"]: i.get("kid", {}).get("S", "")
        for i in items
        if i["pk"]["S"].startswith("optout#")
    }


def pipeline(stack: Stack, handler: Any) -> None:
    """Fetch, triage and mail with handlers imported afresh (new containers)."""
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    for function in ("TriageMentionsFunction", "SendOutreachFunction"):
        drain(stack, function, handler(function))


@pytest.fixture(autouse=True)
def never_rotated(stack: Stack) -> None:
    """As deployed: the stack generated the key (the fixture's put left the generated
    value labelled AWSPREVIOUS; a deployed stack has no previous key)."""
    secrets = boto3.client("secretsmanager")
    secret = stack.physical["HashKeySecret"]
    versions = secrets.list_secret_version_ids(SecretId=secret)["Versions"]
    for version in versions:
        if "AWSPREVIOUS" in version.get("VersionStages", []):
            secrets.update_secret_version_stage(
                SecretId=secret,
                VersionStage="AWSPREVIOUS",
                RemoveFromVersionId=version["VersionId"],
            )


def rotate(stack: Stack, *extra: str) -> int:
    secret, table = stack.physical["HashKeySecret"], stack.physical["StateTable"]
    return main(["rotate-key", "--secret-id", secret, "--table", table, *extra])


def test_an_opt_out_survives_rotation_and_is_rekeyed_on_touch(
    stack: Stack, handler: Any, aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    route = lambda_local.function_url_route(handler("UnsubscribeFunction"), "unsubscribe")
    old = Hasher(derived_secret(HASH_KEY, "hash"))
    link = make_token(derived_secret(HASH_KEY, "unsubscribe"), old.person(METTE))
    with servers.serve(route) as url:
        assert requests.post(url, params={"token": link}, timeout=5).status_code == 200
    assert optouts(stack) == {f"optout#{old.person(METTE)}": old.kids[0]}

    assert rotate(stack) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.splitlines()[-1])  # after the handlers' own lines
    assert result["rotated"] is True and "hash key rotated" in captured.err
    current = boto3.client("secretsmanager").get_secret_value(
        SecretId=stack.physical["HashKeySecret"]
    )["SecretString"]
    new = Hasher(derived_secret(current, "hash"))
    assert current != HASH_KEY

    pipeline(stack, handler)
    recipients = {m["destinations"][0] for m in sent_emails(aws)}
    assert recipients and "mette.jensen@example.net" not in recipients
    assert optouts(stack) == {f"optout#{new.person(METTE)}": new.kids[0]}  # re-keyed


def test_a_second_rotation_that_would_orphan_opt_outs_is_refused(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    old = Hasher(derived_secret(HASH_KEY, "hash"))
    boto3.client("dynamodb").put_item(
        TableName=stack.physical["StateTable"],
        Item={"pk": {"S": f"optout#{old.person(METTE)}"}, "kid": {"S": old.kids[0]}},
    )
    assert rotate(stack) == 0
    assert rotate(stack) == 2
    error = capsys.readouterr().err
    assert "1 opt-outs are still under the previous key" in error
    assert "links signed with it work until" in error
    assert rotate(stack, "--force") == 0
