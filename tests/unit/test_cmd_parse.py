"""`socialcare parse --source NAME FILE`: recorded bodies to JSON Lines, clear errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from socialcare.models import Mention
from socialcare.sources import PLATFORMS
from socialcare_cli.main import main
from tests.conftest import TESTS

DATA = TESTS / "data" / "platforms"
PAGES = {
    "x": ("x/search-recent-page1.json", 3),
    "bluesky": ("bluesky/searchPosts-page2-documented.json", 2),
    "mastodon": ("mastodon/timeline-tag-lynet.json", 4),
    "trustpilot": ("trustpilot/private-reviews-page1-documented.json", 2),
    "reddit": ("reddit/search-page1.json", 2),
}


def parse(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    code = main(["parse", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.mark.parametrize("source", list(PAGES))
def test_prints_one_json_line_per_post_item(
    source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, count = PAGES[source]
    code, lines, err = parse(capsys, "--source", source, str(DATA / path))
    assert code == 0 and len(lines) == count
    assert f"{count} mentions, 0 unreadable post items ({source})" in err
    fields = set(Mention.model_fields) - {"fetch_id", "deferred"}
    for line in lines:
        assert set(line) == fields and line["source"] == source and line["post_id"]


def test_unknown_keys_are_ignored_and_recorded_exchanges_are_unwrapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = json.loads((DATA / "x/search-recent-page1.json").read_text())
    page["new_top_level_field"] = {"x": 1}
    page["data"][0]["brand_new_field"] = [1, 2]
    recorded = {"_origin": "test", "request": {"uri": "..."}, "status": 200, "body": page}
    file = tmp_path / "recorded.json"
    file.write_text(json.dumps(recorded))
    code, lines, _ = parse(capsys, "--source", "x", str(file))
    assert code == 0 and len(lines) == 3 and "brand_new_field" not in lines[0]
    assert lines[0]["handle"] == "mettejensen" and lines[0]["location"] == "Aarhus"


def test_bad_items_are_named_on_stderr_and_stdout_holds_only_mentions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = json.loads((DATA / "bluesky/searchPosts-page2-documented.json").read_text())
    del page["posts"][1]["uri"]
    file = tmp_path / "broken.json"
    file.write_text(json.dumps(page))
    code, lines, err = parse(capsys, "--source", "bluesky", str(file))  # every stdout line is JSON
    assert code == 0 and len(lines) == 1 and all("post_id" in line for line in lines)
    warning = json.loads(next(line for line in err.splitlines() if "unreadable post" in line))
    assert (warning["item"], warning["error"]) == (1, "KeyError 'uri'")
    assert "1 mentions, 1 unreadable post items" in err


def test_annotated_samples_are_unwrapped_and_the_platform_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notification = json.loads((DATA / "facebook/webhook-mention-post.json").read_text())
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"_origin": "Meta dashboard test", "payload": notification}))
    code, lines, _ = parse(capsys, "--source", "facebook", str(sample))
    assert code == 0 and len(lines) == 1
    code, lines, err = parse(capsys, "--source", "instagram", str(sample))
    assert code == 2 and not lines and "use --source facebook" in err
    page = json.loads((DATA / "x/search-recent-page1.json").read_text())
    annotated = tmp_path / "annotated.json"
    annotated.write_text(json.dumps({"_origin": "a recorded page", **page}))
    code, lines, _ = parse(capsys, "--source", "x", str(annotated))
    assert code == 0 and len(lines) == 3


def test_own_accounts_from_brand_toml_are_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    _, lines, _ = parse(capsys, "--source", "x", str(DATA / "x/search-recent-page2.json"))
    assert [line["is_own_account"] for line in lines] == [False, True]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<!DOCTYPE html><html>Service Unavailable</html>", "is not JSON"),
        ('{"data": [{"id": "1", "text": "trunc', "is not JSON"),
        ('{"data": {"id": "1"}}', "SourcePayloadError: x: 'data' is not a list of posts"),
        ('"just a string"', "SourcePayloadError: x: page is a str, not an object"),
        ('{"title": "Unauthorized", "type": "about:blank", "status": 401}', "an error, not a page"),
    ],
)
def test_a_malformed_file_is_a_clear_error_and_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    file = tmp_path / "page.json"
    file.write_text(content)
    code, lines, err = parse(capsys, "--source", "x", str(file))
    assert code == 2 and lines == [] and message in err


def test_a_missing_file_and_an_unknown_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = parse(capsys, "--source", "x", "/nonexistent/page.json")
    assert code == 2 and "cannot read /nonexistent/page.json" in err
    with pytest.raises(SystemExit) as exit_:
        main(["parse", "--source", "myspace", "page.json"])
    assert exit_.value.code == 2


def test_a_platform_added_to_the_registry_is_parsed_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """How the Facebook and Instagram sources plug in: a module with parse_page."""
    module = types.ModuleType("socialcare_test_platform")

    def parse_page(body: object, own_accounts: object = ()) -> tuple[list[Mention], int]:
        assert isinstance(body, dict)
        mentions = [
            Mention(source="facebook", post_id=p["id"], created_at=p["created_time"])
            for p in body["data"]
        ]
        return mentions, 0

    module.parse_page = parse_page  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(PLATFORMS, "facebook", module.__name__)
    file = tmp_path / "feed.json"
    file.write_text('{"data": [{"id": "1_2", "created_time": "2026-11-27T10:00:00+0000"}]}')
    code, lines, _ = parse(capsys, "--source", "facebook", str(file))
    assert code == 0 and lines[0]["post_id"] == "1_2"


@pytest.mark.parametrize("path", sorted((DATA / "trustpilot").glob("private-reviews-*.json")))
def test_every_trustpilot_review_is_printed_addressed_with_its_stars(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, _ = parse(capsys, "--source", "trustpilot", str(path))
    reviews = json.loads(path.read_text())["reviews"]
    assert code == 0 and len(lines) == len(reviews) > 0
    assert [(line["addressed"], line["stars"]) for line in lines] == [
        (True, review["stars"]) for review in reviews
    ]


def test_a_comment_on_our_pages_post_is_printed_addressed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for path in ("facebook/feed-comments.json", "facebook/webhook-feed-comment-documented.json"):
        code, lines, _ = parse(capsys, "--source", "facebook", str(DATA / path))
        comments = [line for line in lines if line["is_reply"]]
        assert code == 0 and comments
        assert all(line["addressed"] and line["stars"] is None for line in comments)
