"""Reddit: app-only OAuth tokens, subreddit searches, Reddit's own rate-limit answers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from socialcare.sources import reddit
from socialcare_cli import servers
from tests.integration.platform_cases import BY_NAME, Case, Run, load

CASE = BY_NAME["reddit"]
PAGES = [load(f"reddit/{p}") for p in CASE.pages]


@pytest.fixture
def run() -> Iterator[Run]:
    fake = CASE.fake(PAGES)
    with servers.serve(fake) as url:
        yield Run(CASE, fake, url)


def tokens_requested(run: Run) -> int:
    return sum(1 for m, p, _ in run.fake.requests if m == "POST" and "access_token" in p)


def test_too_many_requests_in_a_200_body_is_a_rate_limit(run: Run) -> None:
    body = json.dumps(load("reddit/error-429-documented.json")).encode()
    run.fake.fail_next = [None, (200, {}, body)]
    report = run()
    assert report.stopped == "rate_limited" and len(run.queued) == 2
    run()
    assert sorted(run.queued) == sorted(CASE.ids(*CASE.pages))


def test_the_token_is_reused_and_renewed_once_when_refused(run: Run) -> None:
    run()
    run()
    assert tokens_requested(run) == 1
    run.fake.tokens.clear()  # Reddit revoked it
    assert run().stopped == "done" and tokens_requested(run) == 2
    assert all(q["sort"] == ["new"] and q["raw_json"] == ["1"] for q in run.searches)


def test_subreddits_are_searched_together(run: Run) -> None:
    settings = CASE.settings
    case = Case(
        **{
            **CASE.__dict__,
            "settings": lambda u: {**settings(u), "REDDIT_SUBREDDITS": "Denmark,dkfinance"},
        }
    )
    Run(case, run.fake, run.url)()
    _, path, query = next(r for r in run.fake.requests if r[0] == "GET")
    assert path == "/r/Denmark+dkfinance/search" and query["restrict_sr"] == ["1"]
    assert query["q"][0].startswith('"Lynet Bredbånd" OR Lynet OR')


def test_payload_details_are_normalised_and_missing_ones_are_null() -> None:
    posts, invalid = reddit.parse_page(PAGES[0])
    deleted, crosspost = reddit.parse_page(PAGES[1])[0]
    assert invalid == 0
    first = posts[0]
    assert first.post_id == "t3_1h3k9zq" and first.handle == "fiberfan"
    assert first.text.startswith("Lynet nede i Aarhus?\n\nEr der andre")
    assert first.url == "https://www.reddit.com/r/Denmark/comments/1h3k9zq/lynet_nede_i_aarhus/"
    assert first.lang is None and first.display_name is None and not first.is_reply
    assert (
        deleted.handle is None
        and deleted.author_id is None
        and deleted.text == "Lynet regning forkert"
    )
    assert crosspost.is_repost
