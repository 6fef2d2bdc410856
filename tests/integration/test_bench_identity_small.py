"""The identity bench runs end to end at a small size (its 1M run is `make bench`'s), so a
change to `socialcare decide`'s options cannot break it unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

from socialcare_cli import bench_identity


def test_the_identity_bench_runs_and_its_answers_hold_at_a_small_size() -> None:
    figures = bench_identity.run(5_000, scan_queries=1)
    assert figures["same_answers"] is True and figures["scan_differences"] == 0
    assert figures["lookalikes_contacted"] == 0 and figures["wrong_people"] == 0
    assert figures["recall"] >= 0.9


def test_the_import_peak_is_the_import_s_own_not_the_harness_s(tmp_path: Path) -> None:
    """At the end of `make bench` the harness is bigger than the import; the rusage a
    parent reads keeps the maximum across exec, so it would report the harness."""
    source = tmp_path / "customers.jsonl"
    source.write_text(
        json.dumps({"id": "c1", "name": "Ida Holm", "email": "ida@example.dk"}) + "\n", "utf-8"
    )
    harness = bytearray(400 * 1024 * 1024)
    harness[::4096] = b"\1" * len(harness[::4096])  # touched: resident in this process
    seconds, peak_mib = bench_identity.import_directory(source, tmp_path / "crm.db")
    del harness
    assert seconds > 0 and (tmp_path / "crm.db").exists()
    assert 10 < peak_mib < 200, peak_mib
