"""The privacy scan (make privacy) finds the sample's personal data wherever it is
written, however it is written, and leaves the exempt outputs for people apart."""

from __future__ import annotations

import json
from pathlib import Path

from socialcare_cli.privacy import EXEMPT, sample_needles, scan

NEEDLES = sample_needles()


def test_the_needles_cover_every_kind_of_personal_data() -> None:
    assert "mette.jensen@example.net" in NEEDLES.exact["e-mail address"]
    assert "mettejensen" in NEEDLES.exact["handle"]
    assert {"Mette", "Jensen"} <= NEEDLES.names
    assert "internettet har været nede" in NEEDLES.exact["post text"]
    # the platform pages, read the way the sources read them
    assert len(NEEDLES.exact["post text"]) > 100 and len(NEEDLES.exact["handle"]) > 10


def test_clean_output_has_no_hits(tmp_path: Path) -> None:
    line = {"message": "decision", "mention_id": "e3b0c44298fc1c14", "customer_hash": "ab" * 16}
    (tmp_path / "logs.jsonl").write_text(json.dumps(line) + "\n")
    (tmp_path / "state.jsonl").write_text('{"pk": {"S": "optout#9f86d081884c7d65"}}\n')
    report = scan(tmp_path, NEEDLES)
    assert report.total == 0 and report.scanned == ["logs.jsonl", "state.jsonl"]


def test_planted_personal_data_is_found_in_any_file_and_encoding(tmp_path: Path) -> None:
    (tmp_path / "logs.jsonl").write_text(
        json.dumps({"message": "oops", "author": "Mette Jensen"})
        + "\n"
        + json.dumps({"text": "internettet har været nede siden i morges"})
        + "\n"
    )
    escaped = json.dumps({"pk": "mette.jensen@example.net"}).replace("@", "\\u0040")
    (tmp_path / "state.jsonl").write_text(escaped + "\n")
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "cache.txt").write_text("user @mettejensen\n")
    report = scan(tmp_path, NEEDLES)
    assert report.hits["logs.jsonl: name"] == 2
    assert report.hits["logs.jsonl: post text"] >= 1
    assert report.hits["state.jsonl: e-mail address"] == 1  # found \u-escaped too
    assert report.hits["tmp/cache.txt: handle"] == 1


def test_outputs_for_people_are_exempt_by_name(tmp_path: Path) -> None:
    assert set(EXEMPT) == {"outbox", "report.html"}
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "001.eml").write_text("To: mette.jensen@example.net\n\nHej Mette,")
    report = scan(tmp_path, NEEDLES)
    assert report.total == 0 and report.scanned == []
    assert report.exempt == {"outbox/001.eml: e-mail address": 1, "outbox/001.eml: name": 1}
