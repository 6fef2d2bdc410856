"""The outage burst (`python -m socialcare_cli.cost.burst`), run small: incident mode
engaged through the alarm and IncidentSwitch, every mention decided exactly once, the
queues empty, no e-mail on the way for the incident's topic. Timings are never asserted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from socialcare_cli.cost import burst

N = 200


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    # Three waves (the last a part one): what one wave leaves behind the next must not lose.
    return burst.run(N, burst.CRM_RATE_PER_S, lambda _: None, wave=80)


def test_nothing_lost_nothing_twice(summary: dict[str, Any]) -> None:
    assert summary["mentions"] == summary["decided"] == N
    assert summary["records_handled"] >= N  # a record handed back is handled again
    assert summary["lost"] == summary["duplicated"] == summary["unexpected"] == 0
    assert sum(summary["by_reason"].values()) == N
    assert summary["left_on_queues"] == {"mentions_queue": 0, "dead_letter_queue": 0}


def test_incident_mode_held_back_the_outage_complaints(summary: dict[str, Any]) -> None:
    assert summary["incident_topics"] == ["outage"]
    assert summary["by_reason"].get("incident_mode", 0) > 0
    assert summary["emails_for_incident_topic"] == 0
    # Other topics still reach the mailer: the switch holds back only its topic.
    assert summary["by_reason"].get("contact", 0) == summary["outreach_requests"] > 0


def test_the_drain_estimate_is_the_slower_bound(summary: dict[str, Any]) -> None:
    drain = summary["drain_100k"]
    assert summary["maximum_concurrency"] == 5  # TriageMentions' in template.yaml
    assert drain["drain_s"] == max(drain["lambda_bound_s"], drain["crm_bound_s"]) > 0
    assert summary["crm_requests_per_mention"] > 0


def test_drain_estimate_arithmetic() -> None:
    out = burst.drain_estimate(100_000, 0.1, 5, 2.0, 10.0)
    assert (out["lambda_bound_s"], out["crm_bound_s"], out["bound_by"]) == (2000, 20000, "crm")


def test_main_prints_one_json_object(capsys: Any) -> None:
    assert burst.main(["--mentions", "20"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["lost"] == 0
    assert "incident mode on" in captured.err


def test_a_delayed_message_counts_as_left_on_the_queue(aws: str) -> None:
    """A mention sent back to wait for the CRM is delayed: it is still on the queue."""
    import boto3

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="burst-depth")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}", DelaySeconds=600)
    assert burst.queue_depth(url) == 1
