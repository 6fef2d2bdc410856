"""template.yaml holds the design card's rules; cfn-lint (with the serverless rules) agrees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialcare_cli.template import TEMPLATE, load_template

T = load_template()
RES: dict[str, Any] = T["Resources"]
FUNCTIONS = {k: v for k, v in RES.items() if v["Type"] == "AWS::Serverless::Function"}
QUEUES = {k: v for k, v in RES.items() if v["Type"] == "AWS::SQS::Queue"}


def timeout(function: dict[str, Any]) -> int:
    return int(function["Properties"].get("Timeout", T["Globals"]["Function"]["Timeout"]))


def test_runtime_and_architecture_parameter() -> None:
    assert T["Globals"]["Function"]["Runtime"] == "python3.13"
    assert T["Parameters"]["Architecture"]["Default"] == "arm64"
    assert T["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]


def test_every_queue_is_encrypted_and_every_source_queue_has_a_dlq() -> None:
    for name, queue in QUEUES.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, name
    for name in ("MentionsQueue", "OutreachQueue"):
        redrive = QUEUES[name]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in QUEUES
        assert 1 < redrive["maxReceiveCount"] <= 5


@pytest.mark.parametrize("function", ["TriageMentionsFunction", "SendOutreachFunction"])
def test_sqs_consumers_report_partial_failures_and_visibility_is_six_times_timeout(
    function: str,
) -> None:
    (event,) = [
        e for e in FUNCTIONS[function]["Properties"]["Events"].values() if e["Type"] == "SQS"
    ]
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = QUEUES[event["Properties"]["Queue"]["Fn::GetAtt"][0]]
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout(FUNCTIONS[function])


def test_mentions_queue_retention_is_short() -> None:
    ref = QUEUES["MentionsQueue"]["Properties"]["MessageRetentionPeriod"]["Ref"]
    assert int(T["Parameters"][ref]["Default"]) <= 86_400


def test_fetch_schedule_has_retry_policy_and_dead_letter_config() -> None:
    schedules = [
        e
        for e in FUNCTIONS["FetchMentionsFunction"]["Properties"]["Events"].values()
        if e["Type"] == "ScheduleV2"
    ]
    assert schedules
    for event in schedules:
        props = event["Properties"]
        assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert "Arn" in props["DeadLetterConfig"] and '"source"' in props["Input"]


def test_a_failed_fetch_run_is_left_to_the_next_schedule() -> None:
    # Lambda retries a failed asynchronous run twice by default: for a rate-limited or
    # refused source that only asks the platform again too soon.
    fetch = FUNCTIONS["FetchMentionsFunction"]["Properties"]
    config = fetch["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 0
    schedule = T["Parameters"]["FetchSchedule"]["Default"]
    minutes = int(schedule.removeprefix("rate(").split()[0])
    assert config["MaximumEventAgeInSeconds"] <= 2 * minutes * 60  # superseded after that
    sources = [e for e in fetch["Events"].values() if e["Type"] == "ScheduleV2"]
    # Throttled runs wait in Lambda's async queue, so half the sources at once suffices.
    assert fetch["ReservedConcurrentExecutions"] * 2 >= len(sources)


def test_state_table_is_on_demand_with_ttl() -> None:
    props = RES["StateTable"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_every_function_has_a_log_group_with_retention() -> None:
    groups = [
        r
        for k, r in RES.items()
        if r["Type"] == "AWS::Logs::LogGroup" and k != "DataSubjectLogGroup"  # not a function's
    ]
    named = {g["Properties"]["LogGroupName"]["Fn::Sub"] for g in groups}
    for name in FUNCTIONS:
        assert f"/aws/lambda/${{{name}}}" in named
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups)


def test_the_record_of_data_subject_requests_outlives_the_stack() -> None:
    group = RES["DataSubjectLogGroup"]
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    retention = T["Parameters"]["DataSubjectLogRetentionDays"]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "DataSubjectLogRetentionDays"}
    assert min(retention["AllowedValues"]) >= 365
    assert T["Outputs"]["DataSubjectLogGroupName"]["Value"] == {"Ref": "DataSubjectLogGroup"}


def refs_and_literals(value: Any) -> tuple[list[str], list[Any]]:
    """The Refs inside an intrinsic (e.g. !If [cond, !Ref Secret, ""]) and its literals."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return [value["Ref"]], []
    if isinstance(value, dict):
        parts = [p for v in value.values() for p in ([v] if not isinstance(v, list) else v)]
    elif isinstance(value, list):
        parts = value
    else:
        return [], [value]
    refs: list[str] = []
    literals: list[Any] = []
    for part in parts:
        r, lit = refs_and_literals(part)
        refs += r
        literals += lit
    # condition names inside Fn::If are not values
    return refs, [x for x in literals if not (isinstance(x, str) and x.endswith("Enabled"))]


def is_kms_key_arn(value: Any) -> bool:
    target = value.get("Fn::GetAtt", [None, None]) if isinstance(value, dict) else [None, None]
    return target[1] == "Arn" and RES.get(target[0], {}).get("Type") == "AWS::KMS::Key"


def test_no_secret_in_plain_environment_values() -> None:
    for function in FUNCTIONS.values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in variables.items():
            if any(word in key for word in ("TOKEN", "SECRET", "KEY", "PASSWORD")):
                if is_kms_key_arn(value):
                    continue  # names a KMS key; its material never leaves KMS
                refs, literals = refs_and_literals(value)
                assert refs and all(
                    RES[r]["Type"] == "AWS::SecretsManager::Secret" for r in refs
                ), key
                assert all(v in ("", None) for v in literals), key  # no value in clear


def test_outreach_mode_defaults_to_shadow() -> None:
    assert T["Parameters"]["OutreachMode"]["Default"] == "shadow"
    assert T["Parameters"]["MaxPostAgeHours"]["Default"] == 72


def test_handlers_exist_where_the_template_points() -> None:
    root = TEMPLATE.parent
    for function in FUNCTIONS.values():
        module, attr = function["Properties"]["Handler"].rsplit(".", 1)
        path = root / function["Properties"]["CodeUri"] / f"{module}.py"
        assert path.is_file() and f"def {attr}(" in path.read_text()


@pytest.mark.parametrize("extra", [[], ["-a", "cfn_lint_serverless.rules"]])
def test_cfn_lint_passes(extra: list[str]) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [str(cfn_lint), str(TEMPLATE), *extra], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
