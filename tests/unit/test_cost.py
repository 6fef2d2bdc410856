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
