"""Incident mode through SSM on the emulator, the alarm-driven switch, the CLI, and the
DLQ redrive (moto has no StartMessageMoveTask: the safe fallback runs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from socialcare.operations import incident
from socialcare_cli import lambda_local
from socialcare_cli.demo import alarm_notification, run_demo, sns_event
from socialcare_cli.main import main
from socialcare_cli.redrive import RedriveError, redrive
from socialcare_cli.template import Stack
from tests.conftest import context


def parameter(stack: Stack) -> str:
    return stack.physical["IncidentParameter"]


def run_pipeline(stack: Stack, handler: Any) -> None:
    handler("FetchMentionsFunction")({"source": "replay"}, context())
    logical, _ = stack.sqs_event("TriageMentionsFunction")
    triage = handler("TriageMentionsFunction")
    lambda_local.poll(
        stack.physical[logical], stack.attributes[(logical, "Arn")], triage, function_name="t"
    )


def outreach_topics(stack: Stack) -> list[list[str]]:
    url = stack.physical["OutreachQueue"]
    out = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"])["topics"] for m in out.get("Messages", [])]


def test_cli_on_holds_back_only_those_topics(stack: Stack, handler: Any) -> None:
    assert main(["incident", "on", "--parameter", parameter(stack), "--topics", "outage"]) == 0
    run_pipeline(stack, handler)
    topics = outreach_topics(stack)
    assert topics and all("outage" not in t for t in topics)  # equipment still flows


def test_cli_off_and_expiry_turn_it_off(stack: Stack, handler: Any, capsys: Any) -> None:
    expired = incident.declare(
        ["outage"], 1, "", "test", now=datetime.now(UTC) - timedelta(hours=2)
    )
    boto3.client("ssm").put_parameter(
        Name=parameter(stack), Value=expired.to_json(), Type="String", Overwrite=True
    )
    assert main(["incident", "status", "--parameter", parameter(stack)]) == 0
    assert json.loads(capsys.readouterr().out)["active"] is False
    run_pipeline(stack, handler)
    assert any("outage" in t for t in outreach_topics(stack))


def test_cli_on_adds_to_what_the_alarm_turned_on(stack: Stack, handler: Any) -> None:
    switch = handler("IncidentSwitchFunction")
    switch(sns_event(alarm_notification(stack, "outage"), "arn:ops"), context())
    assert main(["incident", "on", "--parameter", parameter(stack), "--topics", "tv"]) == 0
    value = boto3.client("ssm").get_parameter(Name=parameter(stack))["Parameter"]["Value"]
    assert incident.parse(value).active_topics(datetime.now(UTC)) == {"outage", "tv"}


def test_cli_on_creates_a_parameter_that_does_not_exist_yet(capsys: Any) -> None:
    name = "/socialcare-test/new-incident-parameter"
    assert main(["incident", "on", "--parameter", name, "--topics", "tv"]) == 0
    value = boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    assert incident.parse(value).active_topics(datetime.now(UTC)) == {"tv"}


def test_unknown_topic_is_refused(stack: Stack, capsys: Any) -> None:
    assert main(["incident", "on", "--parameter", parameter(stack), "--topics", "weather"]) == 2
    assert "unknown topics" in capsys.readouterr().err


def test_spike_alarm_notification_switches_incident_mode_on(stack: Stack, handler: Any) -> None:
    switch = handler("IncidentSwitchFunction")
    result = switch(sns_event(alarm_notification(stack, "outage"), "arn:ops"), context())
    assert result == {"incident_topics": ["outage"]}
    value = boto3.client("ssm").get_parameter(Name=parameter(stack))["Parameter"]["Value"]
    active = incident.parse(value)
    assert active.active_topics(datetime.now(UTC)) == {"outage"}
    assert active.expires_at and active.expires_at < datetime.now(UTC) + timedelta(hours=5)
    # a second spike adds its topic; OK notifications and other alarms change nothing
    switch(sns_event(alarm_notification(stack, "billing"), "arn:ops"), context())
    ok = {**alarm_notification(stack, "speed"), "NewStateValue": "OK"}
    dlq = {
        "AlarmName": "dlq",
        "NewStateValue": "ALARM",
        "Trigger": {"Dimensions": [{"name": "QueueName", "value": "q"}]},
    }
    switch(
        {"Records": sns_event(ok, "arn:ops")["Records"] + sns_event(dlq, "arn:ops")["Records"]},
        context(),
    )
    value = boto3.client("ssm").get_parameter(Name=parameter(stack))["Parameter"]["Value"]
    assert incident.parse(value).active_topics(datetime.now(UTC)) == {"billing", "outage"}


def test_auto_incident_off_leaves_the_switch_alone(stack: Stack, handler: Any) -> None:
    switch = handler("IncidentSwitchFunction", AUTO_INCIDENT="false")
    assert switch(sns_event(alarm_notification(stack, "outage"), "arn:ops"), context()) == {
        "incident_topics": []
    }
    value = boto3.client("ssm").get_parameter(Name=parameter(stack))["Parameter"]["Value"]
    assert incident.parse(value).active_topics(datetime.now(UTC)) == frozenset()


def test_demo_incident_end_to_end(tmp_path: Path) -> None:
    result = run_demo(tmp_path, progress=lambda _: None, incident_alarm="outage")
    held = [d for d in result.decisions.values() if d["reason"] == "incident_mode"]
    assert held and all("outage" in d["topics"] for d in held)
    contacted = [d for d in result.decisions.values() if d["reason"] == "contact"]
    assert contacted and all("outage" not in d["topics"] for d in contacted)
    assert result.incident.startswith("on for outage until ")
    assert result.report and f">{result.incident}<" in result.report.read_text()


def fill_dlq(stack: Stack, n: int) -> tuple[str, str]:
    sqs = boto3.client("sqs")
    source, dlq = stack.physical["MentionsQueue"], stack.physical["MentionsDeadLetterQueue"]
    for i in range(n):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"n": i}),
            MessageAttributes={"why": {"DataType": "String", "StringValue": "t"}},
        )
    return source, dlq


def depth(url: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def test_redrive_falls_back_and_moves_everything_once(stack: Stack) -> None:
    source, dlq = fill_dlq(stack, 23)
    seen: list[tuple[int, int]] = []
    result = redrive(boto3.client("sqs"), dlq, source, progress=lambda m, t: seen.append((m, t)))
    assert (result.moved, result.method, result.failed) == (23, "receive-send-delete", 0)
    assert depth(dlq) == 0 and depth(source) == 23
    assert seen[-1] == (23, 23)
    bodies = set()
    for _ in range(3):
        for m in boto3.client("sqs").receive_message(
            QueueUrl=source, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )["Messages"]:
            bodies.add(m["Body"])
            assert m["MessageAttributes"]["why"]["StringValue"] == "t"
    assert len(bodies) == 23


def test_redrive_command_prints_count_and_progress(stack: Stack, capsys: Any) -> None:
    source, dlq = fill_dlq(stack, 4)
    assert main(["redrive", "--queue", "mentions", "--source-url", source, "--dlq-url", dlq]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "queue": "mentions",
        "moved": 4,
        "failed": 0,
        "method": json.loads(captured.out)["method"],
    }
    # the summary on stderr; no bar, as stderr is not a terminal here
    assert "moved 4 messages" in captured.err and "4/4" not in captured.err


def test_redrive_keeps_what_the_source_queue_refused(stack: Stack) -> None:
    class Refusing:
        def __init__(self) -> None:
            self.real = boto3.client("sqs")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def start_message_move_task(self, **kw: Any) -> Any:
            raise NotImplementedError

        def send_message_batch(self, **kw: Any) -> Any:
            entries = kw["Entries"]
            return {
                "Successful": [{"Id": e["Id"]} for e in entries[1:]],
                "Failed": [{"Id": entries[0]["Id"], "SenderFault": False, "Code": "x"}],
            }

    source, dlq = fill_dlq(stack, 3)
    result = redrive(Refusing(), dlq, source)
    assert result.moved == 2 and result.failed == 1
    # the refused message is still on the DLQ (visible again after its visibility timeout)
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=dlq,
        AttributeNames=["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessages"],
    )["Attributes"]
    assert (
        int(attrs["ApproximateNumberOfMessagesNotVisible"])
        + int(attrs["ApproximateNumberOfMessages"])
        == 1
    )


class MoveTaskStarted:
    """SQS with `StartMessageMoveTask` accepted, then listing as `tasks` says."""

    def __init__(self, tasks: list[Any]) -> None:
        self.real, self.tasks, self.received = boto3.client("sqs"), tasks, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def start_message_move_task(self, **kw: Any) -> Any:
        return {"TaskHandle": "t-1"}

    def list_message_move_tasks(self, **kw: Any) -> Any:
        answer = self.tasks.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {"Results": [answer]}

    def receive_message(self, **kw: Any) -> Any:
        self.received += 1
        return self.real.receive_message(**kw)


def test_redrive_never_runs_the_loop_beside_a_started_move_task(stack: Stack) -> None:
    source, dlq = fill_dlq(stack, 3)
    lost = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    sqs = MoveTaskStarted([{"Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 1}, lost])
    with pytest.raises(EndpointConnectionError):
        redrive(sqs, dlq, source, poll_s=0)
    assert sqs.received == 0 and depth(dlq) == 3  # nothing moved by hand beside the task


def test_redrive_says_why_a_move_task_failed(stack: Stack) -> None:
    source, dlq = fill_dlq(stack, 2)
    failed = {"Status": "FAILED", "FailureReason": "AWS.SimpleQueueService.NonExistentQueue"}
    with pytest.raises(RedriveError, match=r"FAILED: AWS\.SimpleQueueService\.NonExistentQueue"):
        redrive(MoveTaskStarted([failed]), dlq, source, poll_s=0)


def test_cli_reports_an_unreachable_aws_endpoint_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    code = main(["incident", "status", "--parameter", "/socialcare/incident"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("socialcare incident: AWS: Could not connect") and err.count("\n") == 1


@pytest.mark.parametrize("value", ["not json", '{"topics": "outage"}', ""])
def test_garbled_switch_counts_as_off(value: str) -> None:
    assert incident.parse(value).active_topics(datetime.now(UTC)) == frozenset()
