"""Sample posts moved to now keep their time-based ids in step (socialcare_cli.platforms):
a source that asks for "ids after now minus the lookback" must find them on any date."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.sources.mastodon import snowflake
from socialcare.sources.x import tweet_time
from socialcare_cli import platforms
from tests.conftest import TESTS

DATA = TESTS / "data" / "platforms"


def load(path: str) -> Any:
    return json.loads((DATA / path).read_text())


def test_mastodon_ids_are_reminted_with_their_times() -> None:
    pages = [load("mastodon/timeline-tag-lynet.json"), load("mastodon/search-statuses.json")]
    moved = platforms.fresh(pages, "mastodon", newest_age=timedelta(minutes=5))
    statuses = [*moved[0], *moved[1]["statuses"]]
    for status in statuses:
        created = datetime.fromisoformat(status["created_at"].replace("Z", "+00:00"))
        assert platforms.MASTODON_IDS.time(status["id"]) == created
        assert status["id"] in status["url"]  # the id inside the post's URL moved with it
    # what the source asks on a first run (ids after now - 1 day) finds every one of them
    floor = snowflake(datetime.now(UTC) - timedelta(days=1))
    assert all(int(s["id"]) > floor for s in statuses)


def test_x_ids_are_reminted_with_their_times_and_references_follow() -> None:
    page = load("x/search-recent-page1.json")
    delta = timedelta(days=400, seconds=7)
    moved = platforms.PLATFORM_TIMES["x"].shift(page, delta)
    for before, after in zip(page["data"], moved["data"], strict=True):
        assert tweet_time(after["id"]) == tweet_time(before["id"]) + delta
        assert after["created_at"] != before["created_at"]
        assert tweet_time(after["id"]).isoformat()[:19] == after["created_at"][:19]
    assert moved["meta"]["newest_id"] == moved["data"][0]["id"]
    assert moved["meta"]["oldest_id"] == moved["data"][-1]["id"]


def test_snowflakes_keep_their_low_bits_and_order() -> None:
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    ids = [platforms.X_IDS.mint(at, low) for low in (5, 9)]
    moved = [platforms.X_IDS.moved(i, timedelta(hours=3)) for i in ids]
    assert [int(m) & ((1 << 22) - 1) for m in moved] == [5, 9]
    assert platforms.X_IDS.time(moved[0]) == at + timedelta(hours=3)
    assert platforms.MASTODON_IDS.mint(at) == str(snowflake(at))


def test_bluesky_tids_move_inside_their_uris() -> None:
    at = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)
    tid = platforms.Tid.encode((round(at.timestamp() * 1_000_000) << 10) | 7)
    assert len(tid) == 13 and platforms.BLUESKY_TIDS.time(tid) == at
    uri = f"at://did:plc:abc/app.bsky.feed.post/{tid}"
    post = {"uri": uri, "indexedAt": "2026-11-27T10:00:00.123Z", "record": {"text": "hej"}}
    reply = {"uri": "at://did:plc:def/app.bsky.feed.post/3lk2aa", "indexedAt": "2026-11-27T10:01Z"}
    reply["record"] = {"reply": {"parent": {"uri": uri}, "root": {"uri": uri}}}
    delta = timedelta(days=400, seconds=3)
    moved = platforms.PLATFORM_TIMES["bluesky"].shift({"posts": [post, reply]}, delta)
    new_tid = moved["posts"][0]["uri"].rsplit("/", 1)[1]
    assert platforms.BLUESKY_TIDS.time(new_tid) == at + delta
    assert platforms.Tid.decode(new_tid) & 1023 == 7  # the clock id is kept
    assert moved["posts"][1]["record"]["reply"]["parent"]["uri"] == moved["posts"][0]["uri"]
    assert moved["posts"][1]["uri"].endswith("/3lk2aa")  # not a TID (too short): as it was


def test_small_counters_and_ids_inside_longer_numbers_are_left_alone() -> None:
    status = {"id": "117688038850560000", "created_at": "2026-11-27T10:56:00.000Z"}
    account = {"id": "100008", "created_at": "2024-01-01T00:00:00.000Z"}
    other = {"note": "x117688038850560000", "ref": "1176880388505600001"}
    moved = platforms.PLATFORM_TIMES["mastodon"].shift(
        [{**status, "account": account}, other], timedelta(days=1)
    )
    assert moved[0]["id"] != status["id"] and moved[0]["account"]["id"] == "100008"
    assert moved[1] == other


@pytest.mark.parametrize("platform", ["reddit", "trustpilot"])
def test_platforms_without_time_ids_only_move_times(platform: str) -> None:
    page = {"items": [{"id": "117688038850560000", "created_at": "2026-11-27T10:00:00Z"}]}
    moved = platforms.fresh(page, platform)
    assert moved["items"][0]["id"] == "117688038850560000"
    assert moved["items"][0]["created_at"] != page["items"][0]["created_at"]
