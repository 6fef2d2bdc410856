"""`socialcare optout | forget | export` against the stack on the emulator: what the
deployed functions kept about a person is found by hash (under the current and the
previous key), erased but for the opt-out, and every request is recorded, hashes only,
in the stack's data-subject log."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from socialcare.hashing import Hasher
from socialcare.wiring import derived_secret
from socialcare_cli import local_aws
from socialcare_cli.demo import LogCapture
from socialcare_cli.main import main
from socialcare_cli.template import Stack, load_template
from tests.conftest import CRM_TOKEN, HASH_KEY, context
from tests.integration.test_pipeline_handlers import drain

METTE = ("C-1001", "mette.jensen@example.net")  # mentioned by the replay page, e-mailed
CLEAR = ("C-1001", "mette", "Mette", "Jensen", "example.net")  # never in a record


@pytest.fixture
def deployed(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The stack as `--stack` finds it (Outputs, Parameters, log groups), never rotated."""
    secrets = boto3.client("secretsmanager")
    secret = stack.physical["HashKeySecret"]
    for version in secrets.list_secret_version_ids(SecretId=secret)["Versions"]:
        if "AWSPREVIOUS" in version.get("VersionStages", []):  # the fixture's put made one
            secrets.update_secret_version_stage(
                SecretId=secret,
                VersionStage="AWSPREVIOUS",
                RemoveFromVersionId=version["VersionId"],
            )
    local_aws.publish_stack(stack)
    monkeypatch.delenv("SOCIALCARE_CRM_TOKEN", raising=False)  # the stack's secret is read
    return stack


def run_pipeline(stack: Stack, handler: Any) -> None:
    """Fetch, triage and mail; each function's log lines land in its log group, as
    Lambda delivers them."""
    logs = boto3.client("logs")
    steps = [
        ("FetchMentionsFunction", lambda fn: fn({"source": "replay"}, context())),
        ("TriageMentionsFunction", lambda fn: drain(stack, "TriageMentionsFunction", fn)),
        ("SendOutreachFunction", lambda fn: drain(stack, "SendOutreachFunction", fn)),
    ]
    for function, step in steps:
        capture = LogCapture()
        with capture.active():
            step(handler(function))
        group = f"/aws/lambda/{stack.physical[function]}"
        logs.create_log_stream(logGroupName=group, logStreamName="local")
        at = int(time.time() * 1000)
        events = [
            {"timestamp": at, "message": json.dumps(line)}
            for line in capture.lines()
            if "unstructured" not in line
        ]
        if events:
            logs.put_log_events(logGroupName=group, logStreamName="local", logEvents=events)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def requests_log(stack: Stack) -> list[dict[str, Any]]:
    group = f"/socialcare/{stack.name}/data-subject-requests"
    events = boto3.client("logs").filter_log_events(logGroupName=group)["events"]
    return [json.loads(e["message"]) for e in sorted(events, key=lambda e: e["timestamp"])]


def hasher(key: str = HASH_KEY) -> Hasher:
    return Hasher(derived_secret(key, "hash"))


def test_export_shows_by_hash_what_the_pipeline_kept_and_records_the_request(
    deployed: Stack, handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run_pipeline(deployed, handler)
    person = hasher().person(METTE[0])

    code, rows, err = cli(capsys, "export", "--customer-id", METTE[0], "--stack", deployed.name)
    assert code == 0, err
    kinds = {row["kind"] for row in rows}
    assert kinds == {"cooldown", "idempotency", "audit_line"}
    (cooldown,) = [r for r in rows if r["kind"] == "cooldown"]
    assert cooldown["key"] == f"person#{person}" and cooldown["hash_key"] == "current"
    assert cooldown["item"]["state"] == "recorded" and not cooldown["item"]["expired"]
    (record,) = [r for r in rows if r["kind"] == "idempotency"]
    assert record["item"]["data"]["customer_hash"] == person
    groups = {r["log_group"].rsplit("-", 1)[-1] for r in rows if r["kind"] == "audit_line"}
    assert groups == {"TriageMentionsFunction", "SendOutreachFunction"}  # both decided
    assert all(r["line"]["customer_hash"] == person for r in rows if r["kind"] == "audit_line")
    assert "cooldown 1" in err and "audit_line" in err

    (line,) = requests_log(deployed)
    assert line["request"] == "export" and line["customer_hashes"] == [person]
    assert line["outcome"] == "done" and line["counts"]["cooldown"] == 1
    assert line["operator"].startswith("arn:aws:")
    assert not any(word in json.dumps(line) for word in CLEAR)


def test_forget_by_email_erases_the_cooldown_and_keeps_the_opt_out(
    deployed: Stack, handler: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run_pipeline(deployed, handler)
    code, rows, err = cli(capsys, "optout", "--email", METTE[1], "--stack", deployed.name)
    assert code == 0, err
    address = hasher().address(METTE[1])
    assert rows == [
        {
            "action": "registered",
            "kind": "optout",
            "key": f"optout#{address}",
            "hash_of": "address",
            "customer_id": None,
            "hash_key": "current",
        }
    ]

    code, rows, err = cli(capsys, "forget", "--email", METTE[1], "--stack", deployed.name)
    assert code == 0, err
    done = {(r["action"], r["kind"]) for r in rows}
    assert done == {("erased", "cooldown"), ("erased", "idempotency"), ("kept", "optout")}
    assert "expire with their TTL" in err and "no opt-out is registered" not in err

    code, rows, _ = cli(capsys, "export", "--email", METTE[1], "--stack", deployed.name)
    held = [r for r in rows if r["kind"] != "audit_line"]
    assert [(r["kind"], r["hash_of"]) for r in held] == [("optout", "address")]
    assert held[0]["item"]["reason"] == "request"

    lines = requests_log(deployed)
    assert [line["request"] for line in lines] == ["optout", "forget", "export"]
    assert lines[1]["counts"] == {"erased cooldown": 1, "erased idempotency": 1, "kept optout": 1}
    assert all(line["address_hash"] == address for line in lines)
    assert not any(word in json.dumps(lines) for word in CLEAR)
    # the earlier requests are audit lines of the person too
    audit = [r["log_group"] for r in rows if r["kind"] == "audit_line"]
    assert sum(group.endswith("data-subject-requests") for group in audit) == 2


def test_after_a_key_rotation_what_is_under_the_previous_key_is_found(
    deployed: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optout", "--customer-id", METTE[0], "--stack", deployed.name]) == 0
    assert main(["rotate-key", "--stack", deployed.name]) == 0
    capsys.readouterr()

    code, rows, _ = cli(capsys, "export", "--customer-id", METTE[0], "--stack", deployed.name)
    (optout,) = [r for r in rows if r["kind"] == "optout"]
    assert optout["key"] == f"optout#{hasher().person(METTE[0])}"
    assert optout["hash_key"] == "previous" and optout["customer_id"] == METTE[0]

    code, rows, _ = cli(capsys, "forget", "--customer-id", METTE[0], "--stack", deployed.name)
    assert code == 0 and [(r["action"], r["hash_key"]) for r in rows] == [("kept", "previous")]

    # registering again finds it, and moves it to the current key
    code, rows, _ = cli(capsys, "optout", "--customer-id", METTE[0], "--stack", deployed.name)
    current = boto3.client("secretsmanager").get_secret_value(
        SecretId=deployed.physical["HashKeySecret"]
    )["SecretString"]
    assert rows[0]["action"] == "already_registered"
    assert rows[0]["key"] == f"optout#{hasher(current).person(METTE[0])}"
    code, rows, _ = cli(capsys, "export", "--customer-id", METTE[0], "--stack", deployed.name)
    assert [r["hash_key"] for r in rows if r["kind"] == "optout"] == ["current"]


def test_explicit_resources_instead_of_a_stack(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = "/socialcare/elsewhere/requests"
    boto3.client("logs").create_log_group(logGroupName=group)
    monkeypatch.setenv("SOCIALCARE_CRM_TOKEN", CRM_TOKEN)
    where = [
        "--table",
        stack.physical["StateTable"],
        "--secret-id",
        stack.physical["HashKeySecret"],
        "--requests-log",
        group,
    ]
    code, _, err = cli(capsys, "export", "--email", METTE[1], *where)
    assert code == 2
    assert (
        err
        == "socialcare export: ConfigError: give --crm: an e-mail address is looked up in the CRM\n"
    )
    crm = stack.parameter("CrmUrl")
    code, rows, err = cli(capsys, "export", "--email", METTE[1], "--crm", crm, *where)
    assert code == 0 and rows == [] and "nothing" in err
    code, _, err = cli(capsys, "forget", "--customer-id", "C-1", "--table", "t")
    assert code == 2 and "give --stack, or --secret-id and --requests-log" in err


def test_a_failed_request_is_recorded_as_failed(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    group = "/socialcare/elsewhere/requests"
    boto3.client("logs").create_log_group(logGroupName=group)
    code, _, err = cli(
        capsys,
        "forget",
        "--customer-id",
        METTE[0],
        "--table",
        "no-such-table",
        "--secret-id",
        stack.physical["HashKeySecret"],
        "--requests-log",
        group,
    )
    assert code == 2 and "ResourceNotFoundException" in err
    events = boto3.client("logs").filter_log_events(logGroupName=group)["events"]
    (line,) = [json.loads(e["message"]) for e in events]
    assert line["request"] == "forget" and line["outcome"] == "failed"


def test_a_pilot_entry_is_exported_and_forgotten(
    aws: str,
    replay: tuple[Any, str],
    crm: tuple[Any, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = Stack(
        load_template(),
        overrides={"CrmUrl": crm[1], "PilotCustomers": "/socialcare-local/pilot"},
    )
    local_aws.provision(stack)
    local_aws.set_secret(stack, "HashKeySecret", HASH_KEY)
    local_aws.set_secret(stack, "CrmTokenSecret", CRM_TOKEN)
    local_aws.publish_stack(stack)
    monkeypatch.setenv("SOCIALCARE_HASH_KEY", HASH_KEY)  # what the stack's secret holds
    add = ["pilot", "add", "--customer", METTE[0], "--customer", "C-1002"]
    assert main([*add, "--parameter", "/socialcare-local/pilot"]) == 0
    capsys.readouterr()

    code, rows, _ = cli(capsys, "export", "--customer-id", METTE[0], "--stack", stack.name)
    assert [(r["kind"], r["item"]) for r in rows] == [("pilot", {"list": "customers"})]
    code, rows, err = cli(capsys, "forget", "--customer-id", METTE[0], "--stack", stack.name)
    assert code == 0 and [(r["action"], r["kind"]) for r in rows] == [("erased", "pilot")]
    assert "no opt-out is registered" in err

    value = boto3.client("ssm").get_parameter(Name="/socialcare-local/pilot")["Parameter"]
    assert json.loads(value["Value"])["customers"] == [hasher().person("C-1002")]
