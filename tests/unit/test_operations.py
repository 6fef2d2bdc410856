"""Operations in template.yaml: every alarm and dashboard widget exists and points at a
metric the code really emits (or an AWS metric of the right resource)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from socialcare.models import TOPICS, Decision
from socialcare.observability import count
from socialcare_cli.cost import series
from socialcare_cli.template import TEMPLATE, Stack, load_template

T = load_template()
RES: dict[str, Any] = T["Resources"]
ALARMS = {k: v["Properties"] for k, v in RES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
QUEUES = [k for k, v in RES.items() if v["Type"] == "AWS::SQS::Queue"]
DLQS = [q for q in QUEUES if "DeadLetter" in q]
FUNCTIONS = [k for k, v in RES.items() if v["Type"] == "AWS::Serverless::Function"]
LIBRARY = TEMPLATE.parent / "layers" / "socialcare" / "socialcare"


def emitted_metrics() -> set[str]:
    """Every metric name the code emits with count(...)."""
    names: set[str] = set()
    for path in [*LIBRARY.rglob("*.py"), *(TEMPLATE.parent / "functions").rglob("*.py")]:
        names |= set(re.findall(r'count\(\s*"([A-Z][A-Za-z]+)"', path.read_text()))
    return names


def emitted_dimensions() -> dict[str, set[frozenset[str]]]:
    """Metric name -> the dimension-name sets the code emits it with (count(name, **dims))."""
    found: dict[str, set[frozenset[str]]] = {}
    for name, dims in series.scan().series:
        found.setdefault(name, set()).add(frozenset(k for k, _ in dims))
    return found


def alarmed_metrics() -> list[tuple[str, str, frozenset[str]]]:
    """(alarm, metric, dimension names) for every alarm on a Socialcare metric."""
    out = []
    for name, alarm in ALARMS.items():
        stats = [alarm] if alarm.get("Namespace") == "Socialcare" else []
        stats += [
            m["MetricStat"]["Metric"]
            for m in alarm.get("Metrics", [])
            if "MetricStat" in m and m["MetricStat"]["Metric"]["Namespace"] == "Socialcare"
        ]
        for stat in stats:
            dims = frozenset(d["Name"] for d in stat.get("Dimensions", []))
            out.append((name, stat["MetricName"], dims))
    return out


def alarms_on(namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        k: a
        for k, a in ALARMS.items()
        if a.get("Namespace") == namespace and a.get("MetricName") == metric
    }


def test_every_dlq_has_a_depth_alarm_to_the_ops_topic() -> None:
    alarms = alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms.values()}
    assert set(DLQS) <= watched and len(DLQS) >= 4
    for alarm in alarms.values():
        assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "OpsTopic"}]


@pytest.mark.parametrize(
    ("topic", "publisher"),
    [
        ("OpsTopic", "cloudwatch.amazonaws.com"),
        ("EmailEventsTopic", "ses.amazonaws.com"),
    ],
)
def test_topics_are_encrypted_with_a_key_their_publisher_may_use(
    topic: str, publisher: str
) -> None:
    # With the AWS-managed alias/aws/sns no alarm (or SES event) would ever be delivered.
    key_ref = RES[topic]["Properties"]["KmsMasterKeyId"]
    assert isinstance(key_ref, dict) and set(key_ref) == {"Ref"}
    key = RES[key_ref["Ref"]]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    grants = [
        st
        for st in key["Properties"]["KeyPolicy"]["Statement"]
        if publisher in st["Principal"].get("Service", [])
    ]
    assert grants and {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(grants[0]["Action"])
    assert grants[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_every_function_has_an_errors_alarm_or_a_dead_letter_queue_with_one() -> None:
    # An async function's failure ends on its DLQ after the retries, and that DLQ's alarm
    # says so: an Errors alarm beside it would cost $0.10 a month and fire on retries too.
    alarms = alarms_on("AWS/Lambda", "Errors")
    alarmed = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()}
    for function in set(FUNCTIONS) - alarmed:
        on_failure = RES[function]["Properties"]["EventInvokeConfig"]["DestinationConfig"]
        dlq = on_failure["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert dlq in DLQS and f"{dlq}Alarm" in ALARMS, function
    assert {"TriageMentionsFunction", "SendOutreachFunction", "ReviewFunction"} <= alarmed


def test_queue_age_alarms() -> None:
    alarms = alarms_on("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms.values()} == {
        "MentionsQueue",
        "OutreachQueue",
    }


def test_every_scheduled_source_has_a_silence_alarm_that_breaches_on_missing_data() -> None:
    schedules = [
        e["Properties"]
        for e in RES["FetchMentionsFunction"]["Properties"]["Events"].values()
        if e["Type"] == "ScheduleV2"
    ]
    sources = {json.loads(s["Input"])["source"] for s in schedules}
    silent = alarms_on("Socialcare", "SourceHeartbeat")
    covered = {a["Dimensions"][0]["Value"] for a in silent.values()}
    assert sources <= covered, sources - covered
    for alarm in silent.values():
        assert alarm["TreatMissingData"] == "breaching"
        assert alarm["ComparisonOperator"] == "LessThanThreshold"


def test_auth_failures_and_ses_reputation_alarms() -> None:
    assert alarms_on("Socialcare", "SourceAuthFailedTotal")
    assert alarms_on("AWS/SES", "Reputation.BounceRate")
    assert alarms_on("AWS/SES", "Reputation.ComplaintRate")


@pytest.mark.parametrize("topic", TOPICS)
def test_complaint_spike_per_topic_is_a_static_threshold_naming_its_topic(topic: str) -> None:
    # One alarm metric each (an anomaly band is billed as three); the incident switch
    # reads the topic from the alarm's dimensions.
    alarm = ALARMS[f"ComplaintSpike{topic.capitalize()}Alarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Socialcare", "Complaints")
    assert alarm["Dimensions"] == [{"Name": "topic", "Value": topic}]
    assert alarm["Threshold"] == {"Ref": "ComplaintSpikeThreshold"} and "Metrics" not in alarm
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_alarmed_custom_metrics_are_emitted_by_the_code() -> None:
    names = {a["MetricName"] for a in ALARMS.values() if a.get("Namespace") == "Socialcare"}
    for alarm in ALARMS.values():
        for metric in alarm.get("Metrics", []):
            if "MetricStat" in metric:
                names.add(metric["MetricStat"]["Metric"]["MetricName"])
    assert names and names <= emitted_metrics(), names - emitted_metrics()


def test_every_alarm_matches_a_dimension_set_the_code_emits() -> None:
    # CloudWatch matches a metric only on its exact dimension set: one extra dimension
    # (e.g. Powertools' `service`) and the alarm never sees a data point.
    emitted = emitted_dimensions()
    checked = alarmed_metrics()
    assert len(checked) >= 10
    for alarm, metric, dims in checked:
        assert dims in emitted.get(metric, set()), (alarm, metric, sorted(dims))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_metrics_carry_only_the_dimensions_the_code_adds(
    function: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in deployed().function_environment(function).items():
        monkeypatch.setenv(key, value)
    count("Complaints", topic="outage")
    blob = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Socialcare"
    assert directive["Dimensions"] == [["topic"]]


def test_incident_switch_listens_to_the_ops_topic() -> None:
    events = RES["IncidentSwitchFunction"]["Properties"]["Events"]
    assert any(
        e["Type"] == "SNS" and e["Properties"]["Topic"] == {"Ref": "OpsTopic"}
        for e in events.values()
    )
    env = RES["TriageMentionsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["INCIDENT_PARAMETER"] == {"Ref": "IncidentParameter"}


class _Attributes(dict[tuple[str, str], str]):
    def __missing__(self, key: tuple[str, str]) -> str:
        return f"{key[1].lower()}-{key[0]}"


def deployed() -> Stack:
    """The template with every resource given a placeholder physical id and attributes."""
    stack = Stack(T)
    stack.attributes = _Attributes()
    for name in RES:
        stack.physical[name] = f"phys-{name}"
        stack.attributes[(name, "QueueName")] = f"queue-{name}"
    return stack


def dashboard() -> dict[str, Any]:
    stack = deployed()
    return json.loads(stack.resolve(RES["OpsDashboard"]["Properties"]["DashboardBody"]))


def widget(title_start: str) -> dict[str, Any]:
    widgets = [w for w in dashboard()["widgets"] if w["type"] == "metric"]
    found = [w for w in widgets if w["properties"]["title"].startswith(title_start)]
    assert len(found) == 1, title_start
    return found[0]["properties"]


@pytest.mark.parametrize(
    ("title", "metric"),
    [
        ("1 Fetched", "Fetched"),
        ("2 Complaints", "Complained"),
        ("3 Matched", "Matched"),
        ("4 Skipped", "Skipped"),
        ("5 E-mailed", "Emailed"),
        ("Complaints by topic", "Complaints"),
        ("Source heartbeat", "SourceHeartbeat"),
    ],
)
def test_funnel_widgets_search_emitted_metrics(title: str, metric: str) -> None:
    expression = widget(title)["metrics"][0]["expression"]
    assert f'MetricName="{metric}"' in expression and metric in emitted_metrics()


def searches() -> list[tuple[str, frozenset[str], str]]:
    """(widget title, dimension names, metric) of every SEARCH on a Socialcare metric."""
    found = []
    for w in dashboard()["widgets"]:
        for m in w["properties"].get("metrics", []):
            if isinstance(m, dict) and "expression" in m:
                hit = re.search(r"\{Socialcare,?([^}]*)\} MetricName=\"(\w+)\"", m["expression"])
                assert hit, m["expression"]
                dims = frozenset(d for d in hit.group(1).split(",") if d)
                found.append((w["properties"]["title"], dims, hit.group(2)))
    return found


def test_every_dashboard_search_matches_a_dimension_set_the_code_emits() -> None:
    # A SEARCH finds only metrics with exactly these dimensions: a mismatch is an empty graph.
    emitted = emitted_dimensions()
    wrong = [s for s in searches() if s[1] not in emitted.get(s[2], set())]
    assert not wrong and len(searches()) >= 10, wrong


def test_every_funnel_step_is_charted_and_per_source_from_the_decision_lines() -> None:
    # Per-source (and per-reason) metrics would be a series each (docs/cost.md): the
    # totals are metrics, the breakdown is Logs Insights over the audit line.
    steps = sorted(
        {title[0] for title, _, _ in searches() if title[:2] in {"1 ", "2 ", "3 ", "4 ", "5 "}}
    )
    assert steps == ["1", "2", "3", "4", "5"]
    queries = [w["properties"]["query"] for w in dashboard()["widgets"] if w["type"] == "log"]
    logged = set(Decision.model_fields)
    by_source = [q for q in queries if re.search(r"stats count\(\*\).* by source, stage", q)]
    assert len(by_source) == 2 and all('filter message = "decision"' in q for q in by_source)
    for query in by_source:
        grouped = re.search(r" by ([\w, ]+)", query)
        assert grouped and set(grouped.group(1).replace(" ", "").split(",")) <= logged
        for function in ("TriageMentionsFunction", "SendOutreachFunction"):
            assert f"SOURCE '/aws/lambda/phys-{function}'" in query


def test_failures_without_a_metric_of_their_own_are_counted_from_every_function_s_lines() -> None:
    # A failed record, a CRM record not written, an outcome entry not queued and a plain
    # rate limit count no series (docs/cost.md): their error and warning lines do.
    (query,) = [
        w["properties"]["query"]
        for w in dashboard()["widgets"]
        if w["type"] == "log" and w["properties"]["title"].startswith("Failures")
    ]
    for function in FUNCTIONS:
        assert f"SOURCE '/aws/lambda/phys-{function}'" in query
    assert 'level in ["ERROR", "WARNING"]' in query and "by message, error" in query


@pytest.mark.parametrize(
    ("title", "namespace", "metric", "resources"),
    [
        (
            "Queue depths",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            ["MentionsQueue", "OutreachQueue"],
        ),
        (
            "Age of oldest",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            ["MentionsQueue", "OutreachQueue"],
        ),
        ("Dead-letter", "AWS/SQS", "ApproximateNumberOfMessagesVisible", DLQS),
        ("Errors per function", "AWS/Lambda", "Errors", FUNCTIONS),
        ("Duration per function", "AWS/Lambda", "Duration", FUNCTIONS),
    ],
)
def test_resource_widgets(title: str, namespace: str, metric: str, resources: list[str]) -> None:
    metrics = widget(title)["metrics"]
    assert all(m[0] == namespace and m[1] == metric for m in metrics)
    shown = {m[3] for m in metrics}
    expected = {f"queue-{r}" if namespace == "AWS/SQS" else f"phys-{r}" for r in resources}
    assert shown == expected


def test_ses_widgets() -> None:
    sends = {m[1] for m in widget("SES sends")["metrics"]}
    assert sends == {"Send", "Delivery", "Bounce", "Complaint"}
    rates = {m[1] for m in widget("SES bounce and complaint rate")["metrics"]}
    assert rates == {"Reputation.BounceRate", "Reputation.ComplaintRate"}


def test_retention_is_a_parameter_everywhere() -> None:
    for name, res in RES.items():
        if res["Type"] == "AWS::Logs::LogGroup":
            own = "DataSubjectLogRetentionDays" if name == "DataSubjectLogGroup" else None
            assert res["Properties"]["RetentionInDays"] == {"Ref": own or "LogRetentionDays"}
        # DigestQueue's follows the ShadowDigest period (tests/unit/test_digest.py);
        # OutcomeQueue's outlasts the week an entry waits (below).
        if res["Type"] == "AWS::SQS::Queue" and name not in ("DigestQueue", "OutcomeQueue"):
            assert "Ref" in res["Properties"]["MessageRetentionPeriod"], name


def test_privacy_record_and_runbook_exist_and_name_every_alarm_kind() -> None:
    root = Path(TEMPLATE).parent
    privacy = (root / "docs" / "privacy.md").read_text()
    for fact in (
        "MentionsQueue",
        "DeadLetterRetentionSeconds",
        "LogRetentionDays",
        "HMAC",
        "HashKeySecret",
        "social_outreach",
        "optout#",
        "person#",
        "seen#",
    ):
        assert fact in privacy, fact
    operations = (root / "docs" / "operations.md").read_text()
    runbook = operations[operations.index("## Runbook") :]
    for alarm in (
        "DeadLetterQueueAlarm",
        "ErrorsAlarm",
        "AgeAlarm",
        "SourceSilent",
        "SourceAuthFailedAlarm",
        "SesBounceRateAlarm",
        "SesComplaintRateAlarm",
        "ComplaintSpike",
    ):
        assert alarm in runbook, alarm


def test_an_outcome_entry_outlasts_its_week_and_comes_back_for_the_next_daily_run() -> None:
    queue = RES["OutcomeQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] >= 8 * 86_400  # a week's wait, then a daily run
    assert 300 < queue["VisibilityTimeout"] <= 86_400  # > the run, < the schedule's day
    schedule = RES["MeasureOutcomeFunction"]["Properties"]["Events"]["OutcomeSchedule"]
    assert schedule["Properties"]["ScheduleExpression"] == "rate(1 day)"


def test_info_lines_leave_the_request_id_to_start_and_end_warnings_keep_it() -> None:
    import logging

    from socialcare.observability import logger

    request_id = "0f7c2a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
    logger.append_keys(function_request_id=request_id)
    try:
        info, warning = (
            json.loads(
                logger.registered_formatter.format(
                    logging.LogRecord("socialcare", level, __file__, 1, "decision", None, None)
                )
            )
            for level in (logging.INFO, logging.WARNING)
        )
    finally:
        logger.remove_keys(["function_request_id"])
    assert "function_request_id" not in info and info["message"] == "decision"
    assert warning["function_request_id"] == request_id
