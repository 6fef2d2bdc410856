"""Contract tests: every recorded response of the real platform APIs in
../shared/fixtures/platforms/ goes through the same `parse_page` the fetch function uses.

Pages of posts must give one mention per post item and no unreadable item; every other
recording (errors, HTML pages, user objects) must give a typed SourcePayloadError, never
a crash. Skipped, with the reason, where the shared fixtures are not checked out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcare.errors import SourcePayloadError
from socialcare.sources import PLATFORMS, parse_page
from socialcare_cli.cmd_parse import read_body
from tests.conftest import SHARED

ROOT = SHARED / "fixtures" / "platforms"
FOLDERS = {
    "x": "x_twitter",
    "bluesky": "bluesky",
    "mastodon": "mastodon",
    "trustpilot": "trustpilot",
    "reddit": "reddit",
}
SKIP = ("lexicons", "openapi")  # specs, not responses

# Recordings that are pages of posts, with their number of post items.
PAGES = {
    "x": {
        "samples_decoded/academictwitteR_tweets_search_all-0336e6.json": 15,
        "samples_decoded/academictwitteR_tweets_search_all-b66175.json": 475,
        "samples_decoded/academictwitteR_tweets_search_all-b749d4.json": 0,  # empty result
        "samples_decoded/academictwitteR_tweets_search_all-c49a55.json": 4,
        "samples_decoded/academictwitteR_tweets_search_all-ff0a12.json": 5,
        "samples_decoded/academictwitteR_users_45648666_mentions.json": 0,  # only errors[]
        "samples_decoded/test_asyncclient_search_recent_tweets.0.json": 10,
        "samples_decoded/test_client_search_recent_tweets.0.json": 10,
        "samples_decoded/test_client_search_all_tweets.0.json": 10,
        "samples_decoded/test_client_get_users_mentions.0.json": 10,
        "python-twitter_testdata/search_tweets_for_nyc.json": 10,
        "python-twitter_testdata/search_tweets_query.json": 4,
    },
    "bluesky": {"appview_snapshot_posts_view.json": 6},
    "mastodon": {
        "samples_decoded/test_hashtag_tl.2.json": 1,
        "samples_decoded/test_fetch_next_previous_from_pagination_info.11.json": 5,
        "samples_decoded/test_get_pagination_info.11.json": 5,
        "samples_decoded/test_search.2.json": 0,  # an instance without full-text search
        "samples_decoded/test_status.1.json": 1,
    },
    "reddit": {
        "samples_decoded/TestSubreddit.test_search.1.json": 6,
        "samples_decoded/TestSubredditStreams.test_comments__with_continue_after_id.1.json": 100,
        "samples_decoded/TestSubredditStreams.test_comments__with_continue_after_id.2.json": 95,
    },
    "trustpilot": {},
}
# Recordings that are not pages of posts: a typed error naming the source.
NOT_PAGES = {
    "x": [
        "samples_decoded/academictwitteR_tweets_search_all-90b063.json",  # 401 problem
        "samples_decoded/academictwitteR_tweets_search_all-92adbd.json",  # 400 problem
        "samples_decoded/academictwitteR_tweets_search_allall-088954.json",  # 404 HTML page
        "samples_decoded/test_client_get_user.0.json",  # a user, not posts
    ],
    "mastodon": ["samples_decoded/test_lang_for_errors.0.json"],  # 422 {"error": ...}
    "reddit": ["samples_decoded/TestSubreddit.test_search.0.json"],  # a token answer
    "trustpilot": ["trustpilot_docs_business_unit_find_example.json"],
}


def recordings() -> list[tuple[str, str]]:
    found = []
    for source, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.json")):
            relative = path.relative_to(ROOT / folder).as_posix()
            if not any(part in relative for part in SKIP):
                found.append((source, relative))
    return found


ALL = recordings()
pytestmark = pytest.mark.skipif(
    not ALL,
    reason=f"shared platform recordings not found at {ROOT} (shared folder absent)",
)


def test_the_registry_covers_every_recorded_platform() -> None:
    assert set(FOLDERS) <= set(PLATFORMS)


@pytest.mark.parametrize(("source", "relative"), ALL or [("x", "absent")])
def test_every_recording_parses_or_fails_typed(source: str, relative: str) -> None:
    body = read_body(str(ROOT / FOLDERS[source] / relative))
    try:
        mentions, invalid = parse_page(source, body)
    except SourcePayloadError as exc:
        assert str(exc).startswith(f"{source}: ")
        assert relative not in PAGES[source], f"a page of posts was refused: {exc}"
        return
    assert relative not in NOT_PAGES.get(source, []), "an error answer was read as posts"
    if relative in PAGES[source]:
        assert (len(mentions), invalid) == (PAGES[source][relative], 0)
    for mention in mentions:
        assert mention.source == source and mention.post_id
        assert mention.created_at.tzinfo is not None
        assert mention.url is None or mention.url.startswith(("https://", "http://"))
        assert mention.handle is None or (mention.handle == mention.handle.lower().lstrip("@"))


@pytest.mark.parametrize("source", list(FOLDERS))
def test_every_listed_recording_exists(source: str) -> None:
    listed = [*PAGES[source], *NOT_PAGES.get(source, [])]
    missing = [r for r in listed if not (ROOT / FOLDERS[source] / r).exists()]
    assert not missing and Path(ROOT).exists()
