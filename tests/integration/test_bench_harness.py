"""`make bench`'s harness, run small: the shape of bench.json and the table, and that every
figure measured what it says (each first event did its work, the pipeline decided every
mention). Timings are never asserted: a busy machine must not fail the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from socialcare_cli import bench
from socialcare_cli.template import Stack, load_template

FUNCTIONS = sorted(Stack(load_template()).of_type("AWS::Serverless::Function"))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    code = bench.main(
        [
            "--out", str(out),
            "--rounds", "1",
            "--pipeline-n", "20",
            "--pipeline-repeats", "1",
            "--identity-size", "0",
            "--triage-posts", "200",
            "--built", str(out / "no-build"),
        ]
    )  # fmt: skip
    assert code == 0
    report: dict[str, Any] = json.loads((out / "bench.json").read_text())
    return report


def test_every_function_has_a_cold_start_with_its_first_event(report: dict[str, Any]) -> None:
    assert sorted(report["cold_start"]) == FUNCTIONS
    for name, cold in report["cold_start"].items():
        assert cold["errors"] == [] and cold["runs"] == 1, name
        assert cold["first_event_ok"], (name, cold["outcome"])
        assert cold["event"] and (bench.bench_cold.EVENTS / cold["event"]).is_file()
        for key in ("ratio_to_boto3", "first_event_ratio_to_boto3", "peak_mib", "import_ms"):
            assert isinstance(cold[key], float) and cold[key] > 0, (name, key)
        assert cold["first_event_ms"] >= cold["import_ms"]
    assert report["baseline"]["import_boto3_ms"] > 0


def test_the_other_figures_and_what_is_missing_says_why(report: dict[str, Any]) -> None:
    assert report["schema"] == bench.SCHEMA
    assert report["triage_us_per_post"] > 0 and report["model_us_per_post"] > 0
    pipeline = report["pipeline"]
    assert pipeline["decided"] == pipeline["mentions"] == 20
    assert pipeline["ratio_to_sqs_floor"] > 0
    assert report["identity"]["name_1m"] is None and report["identity"]["note"]
    assert report["layer_mb"] is None and "no sam build output" in report["layer"]["note"]
    assert set(report["checks"]) == {
        "cold_import_le_1.5x_boto3",
        "peak_le_70_mib",
        "layers_le_20_mb",
        "pipeline_ge_half_sqs_floor",
        "model_le_100_us",
        "triage_le_150_us",
    }
    distinct = report["triage_distinct"]
    assert distinct["posts"] == 200 and distinct["model_us"] > 0 and distinct["triage_us"] > 0
    # 200 posts are not the targets' 12,000: measured, not checked
    assert report["checks"]["model_le_100_us"] is None
    assert report["checks"]["triage_le_150_us"] is None
    assert report["checks"]["layers_le_20_mb"] is None  # not measured is not a pass


def test_the_table_has_a_row_per_figure(report: dict[str, Any]) -> None:
    text = bench.table(report)
    for name in FUNCTIONS:
        assert name.removesuffix("Function") in text
    for row in ("import boto3", "triage", "pipeline", "identity name_1m", "layers"):
        assert row in text


def test_the_report_is_the_documented_shape(report: dict[str, Any]) -> None:
    """docs/bench.md shows bench.json; its keys are the ones written."""
    doc = (Path(bench.REPO) / "docs" / "bench.md").read_text()
    example = json.loads(doc.split("```json", 1)[1].split("```", 1)[0])
    assert set(example) <= set(report)
    assert set(example["cold_start"]["TriageMentionsFunction"]) <= set(
        report["cold_start"]["TriageMentionsFunction"]
    )
