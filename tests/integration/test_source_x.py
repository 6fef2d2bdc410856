"""X recent search: the brand query, since_id sweeps, the usage cap and payload details."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from socialcare.sources import x
from socialcare_cli import servers
from tests.integration.platform_cases import BY_NAME, CLOCK, Run, load

CASE = BY_NAME["x"]
PAGES = [load(f"x/{p}") for p in CASE.pages]


@pytest.fixture
def run() -> Iterator[Run]:
    fake = CASE.fake(PAGES)
    with servers.serve(fake) as url:
        yield Run(CASE, fake, url)


def test_usage_cap_stops_the_run_without_retrying_and_is_counted_apart(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    capped = json.dumps(load("x/usage-capped-429-documented.json")).encode()
    run.fake.fail_next = [(429, {"x-rate-limit-reset": "1795880000"}, capped)]
    report = run()
    assert report.stopped == "usage_capped" and len(run.searches) == 1
    assert run.state.get_cursor("x") is None
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    limited = [m for m in metrics if "RateLimitedRuns" in m]
    assert limited and limited[0]["kind"] == "usage_capped"
    assert run().stopped == "usage_capped" and len(run.searches) == 1  # paused: X not asked


def test_query_excludes_retweets_and_own_accounts_and_sweeps_use_since_id(run: Run) -> None:
    run()
    first = run.searches[0]
    query = first["query"][0]
    assert query.startswith('("Lynet Bredbånd" OR Lynet OR') and "@lynetbredbaand" in query
    assert query.endswith("-from:lynet_hjaelp -from:lynetbredbaand -is:retweet")
    assert first["start_time"] == [(CLOCK - timedelta(hours=72)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert first["expansions"] == ["author_id"] and "location" in first["user.fields"][0]
    assert first["tweet.fields"][0].split(",")[:3] == ["created_at", "lang", "conversation_id"]
    second = run.searches[1]  # same sweep: the token, no since_id yet
    assert "next_token" in second and "since_id" not in second
    run()  # the next sweep starts after the newest tweet read
    newest = PAGES[0]["meta"]["newest_id"]
    assert run.searches[-1]["since_id"] == [newest] and "start_time" not in run.searches[-1]


def test_a_mark_older_than_the_search_window_starts_a_fresh_sweep(run: Run) -> None:
    run()
    refused = {
        "errors": [{"parameters": {"since_id": ["1"]}, "message": "Invalid 'since_id'"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    run.fake.fail_next = [(400, {}, json.dumps(refused).encode())]
    report = run()
    assert report.stopped == "done"
    assert "start_time" in run.searches[-1] and "since_id" not in run.searches[-1]


def test_payload_details_are_normalised_and_missing_ones_are_null() -> None:
    mentions, invalid = x.parse_page(PAGES[0])
    more, _ = x.parse_page(PAGES[1], own_accounts={"lynetbredbaand"})
    by_id = {m.post_id: m for m in mentions + more}
    reply, english, long, hidden, own = (
        by_id[t["id"]] for t in PAGES[0]["data"] + PAGES[1]["data"]
    )
    assert invalid == 0
    assert reply.is_reply and reply.handle == "mettejensen" and reply.location == "Aarhus"
    assert reply.url == f"https://x.com/MetteJensen/status/{reply.post_id}"
    assert english.lang == "en" and not english.is_reply
    assert long.text.endswith("Hvad betaler vi egentlig for?")  # note_tweet: the full text
    assert hidden.handle is None and hidden.display_name is None and hidden.lang is None
    assert hidden.author_id == "1700000000000000004"
    assert hidden.url == f"https://x.com/i/web/status/{hidden.post_id}"
    assert own.is_own_account and not own.is_repost  # a quote is not a retweet


def test_without_created_at_the_time_comes_from_the_snowflake_id() -> None:
    tweet = dict(PAGES[0]["data"][0])
    created = tweet.pop("created_at")
    (mention,), _ = x.parse_page({"data": [tweet]})
    assert abs((mention.created_at - x.tweet_time(tweet["id"])).total_seconds()) < 1
    assert mention.created_at.isoformat()[:16] == created[:16]
