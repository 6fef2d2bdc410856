"""The identity bench runs end to end at a small size (its 1M run is `make bench`'s), so a
change to `socialcare decide`'s options cannot break it unnoticed."""

from __future__ import annotations

from socialcare_cli import bench_identity


def test_the_identity_bench_runs_and_its_answers_hold_at_a_small_size() -> None:
    figures = bench_identity.run(5_000, scan_queries=1)
    assert figures["same_answers"] is True and figures["scan_differences"] == 0
    assert figures["lookalikes_contacted"] == 0 and figures["wrong_people"] == 0
    assert figures["recall"] >= 0.9
