"""`socialcare cost`: the shape of --json, a line for every alarm, the series budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socialcare_cli.cost import series
from socialcare_cli.main import main
from socialcare_cli.template import load_template


def test_the_code_can_emit_at_most_40_series_all_bounded() -> None:
    scan = series.scan()
    assert not scan.unbounded, scan.unbounded
    assert 10 <= len(scan.series) <= 40, scan.metrics


def test_an_exception_name_as_a_dimension_is_reported_unbounded(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "from socialcare.observability import count\n"
        "def f(exc):\n    count('Failures', kind=type(exc).__name__)\n"
        "    count('Fetched', source=s)\n"
    )
    scan = series.scan([tmp_path], {"source": ["a", "b"]})
    assert len(scan.unbounded) == 1 and "kind=type(exc).__name__" in scan.unbounded[0]
    assert ("Fetched", (("source", "b"),)) in scan.series


def test_cost_json_has_the_shape_and_a_line_for_every_alarm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cost", "--mentions-per-day", "10000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"fixed_per_month", "variable_per_million", "metric_series", "lines"} <= set(out)
    assert isinstance(out["metric_series"], int) and out["metric_series"] <= 40
    for line in out["lines"]:
        assert set(line) >= {"service", "item", "quantity", "unit_price_usd", "monthly_usd"}
    items = {line["item"] for line in out["lines"]}
    alarms = [
        k for k, v in load_template()["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"
    ]
    conditional = {k for k, v in load_template()["Resources"].items() if "Condition" in v}
    assert all(f"alarm {a}" in items for a in alarms if a not in conditional)
    services = {line["service"] for line in out["lines"]}
    assert {
        "Lambda",
        "SQS",
        "DynamoDB",
        "CloudWatch",
        "CloudWatch Logs",
        "Secrets Manager",
        "SSM",
        "KMS",
        "SES",
    } <= services


def test_series_are_priced_by_the_hours_they_get_data() -> None:
    from socialcare_cli.cost.model import report

    out = report(10_000)
    metrics = {
        line["item"].split(":")[0].removeprefix("metric "): line
        for line in out["lines"]
        if line["item"].startswith("metric ")
    }
    # Every series of the enabled sources has its line; another source's never gets data.
    heartbeats = len(out["sources"])
    total = sum(int(line["item"].split(": ")[1].split()[0]) for line in metrics.values())
    assert total == out["metric_series"] - (len(series.scheduled_sources()) - heartbeats)
    assert metrics["SendFailures"]["monthly_usd"] == 0  # a healthy month has no failure
    assert metrics["Fetched"]["monthly_usd"] == pytest.approx(0.30)  # every run, every hour
    assert 0 < metrics["OutreachOutcome"]["monthly_usd"] < 0.02  # once a day
    quiet = report(100)["lines"]  # four complaints a day: most hours without one
    complaints = next(x for x in quiet if x["item"].startswith("metric Complaints:"))
    assert complaints["monthly_usd"] < metrics["Complaints"]["monthly_usd"] / 5


def test_consumers_run_at_the_cheapest_memory_that_keeps_a_batch_far_under_the_timeout() -> None:
    from socialcare_cli.cost.model import memory_table

    resources = load_template()["Resources"]
    for function, sizes in memory_table().items():
        props = resources[function]["Properties"]
        batch = next(iter(props["Events"].values()))["Properties"]["BatchSize"]
        fit = [mb for mb, s in sizes.items() if batch * s["ms"] / 1000 < props["Timeout"] / 4]
        assert props["MemorySize"] == min(fit, key=lambda mb: sizes[mb]["per_million_usd"])
        times = [s["ms"] for s in sizes.values()]
        assert times == sorted(times, reverse=True)  # more memory, more CPU, faster


def test_the_mix_of_work_follows_the_complaint_rate() -> None:
    from socialcare_cli.cost.model import Work, inputs
    from socialcare_cli.template import Stack

    measured, stack = inputs()["measured"], Stack(load_template())
    calm, angry = Work(measured, stack, 0.0), Work(measured, stack, 1.0)
    assert calm.triage.http == 0 < angry.triage.http  # only complaints ask the CRM
    assert calm.triage.writes < angry.triage.writes  # one write unless a lease is held
    assert calm.contacts == 0 and calm.log_bytes() < angry.log_bytes()


def test_a_batch_read_is_billed_per_item_it_reads() -> None:
    from socialcare_cli.cost.model import _mix

    row = {
        "records": 2,
        "cpu_s": 0.01,
        "http": 0,
        "read_items": 6,  # two BatchGetItem calls of three keys
        "calls": {"dynamodb:BatchGetItem": 2, "dynamodb:PutItem": 2},
    }
    work = _mix({"complaint": row}, {"complaint": 1.0})
    assert work.reads == 3 and work.writes == 1 and work.aws_calls == 2


def test_each_class_takes_its_median_run() -> None:
    from socialcare_cli.cost.measure import median_run

    def run(cpu_s: float) -> dict:
        return {"TriageMentionsFunction": {"plain": {"records": 5, "cpu_s": cpu_s}}}

    out = median_run([run(0.09), run(0.02), run(0.03)])
    assert out["TriageMentionsFunction"]["plain"]["cpu_s"] == 0.03


def test_the_measured_skips_after_the_crm_write_once_and_only_complaints_ask_it() -> None:
    from socialcare_cli.cost.model import inputs

    triage = inputs()["measured"]["per_record"]["TriageMentionsFunction"]
    for kind, writes_each in (("complaint", 1), ("contact", 2), ("plain", None)):
        row = triage[kind]
        writes = sum(
            n for c, n in row["calls"].items() if c.split(":")[1] in ("PutItem", "UpdateItem")
        )
        if writes_each is not None:  # a complaint skipped: its done mark; a contact: lease, done
            assert writes == writes_each * row["records"], (kind, row["calls"])
    assert triage["plain"]["http"] == 0  # a duplicate of a complaint is found before the CRM
