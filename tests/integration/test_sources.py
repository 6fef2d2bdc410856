"""What every platform source must do, over real HTTP against a local stand-in of its API:
read a search over several pages, stop on a rate limit and continue next run with no post
skipped and none twice, raise typed errors for refused credentials and malformed pages,
keep good posts next to bad ones, and retry a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from socialcare.errors import SourceAuthError, SourcePayloadError, SourceUnavailable
from socialcare.sources.fetch import fetch
from socialcare_cli import servers
from tests.integration.platform_cases import BY_NAME, CASES, Case, Run, load

NAMES = [c.name for c in CASES]


@pytest.fixture(params=NAMES)
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    case = BY_NAME[request.param]
    fake = case.fake([load(f"{case.name}/{p}") for p in case.pages])
    with servers.serve(fake) as url:
        if hasattr(fake, "base_url"):
            fake.base_url = url
        yield Run(case, fake, url)


def all_ids(case: Case) -> list[str]:
    return case.ids(*case.pages)


def test_reads_all_pages_then_only_new_posts(run: Run) -> None:
    first = run()
    assert first.stopped == "done" and first.pages >= 2 and len(run.searches) >= 2
    assert sorted(run.queued) == sorted(all_ids(run.case))

    run.fake.add(load(f"{run.case.name}/{run.case.newer}"))
    second = run()
    assert sorted(run.queued) == sorted(all_ids(run.case) + run.case.ids(run.case.newer))
    assert second.fetched == len(run.case.ids(run.case.newer))
    assert run().fetched == 0  # nothing new: nothing queued again


def test_rate_limited_run_keeps_its_cursor_and_the_next_run_continues(run: Run) -> None:
    body = json.dumps(load(f"{run.case.name}/{run.case.rate_limit_body}")).encode()
    run.fake.fail_next = [None, (429, {"Retry-After": "30"}, body)]
    first = run()
    assert first.stopped == "rate_limited" and 0 < first.fetched < len(all_ids(run.case))
    cursor = run.state.get_cursor(run.case.name)
    assert cursor  # kept: the next schedule continues from the queued page

    # Posts arrive before the next schedule; the run finishes the old sweep first.
    run.fake.add(load(f"{run.case.name}/{run.case.newer}"))
    searches_before = len(run.searches)
    run()
    assert run.case.paging in run.searches[searches_before]  # continued, not restarted
    run()  # the next sweep reads what arrived meanwhile
    expected = all_ids(run.case) + run.case.ids(run.case.newer)
    assert sorted(run.queued) == sorted(expected)  # none skipped, none twice


@pytest.mark.parametrize("name", [n for n in NAMES if n != "trustpilot"])
def test_rate_limit_headers_stop_the_run_before_the_refused_request(name: str) -> None:
    case = BY_NAME[name]
    fake = case.fake([load(f"{name}/{p}") for p in case.pages])
    with servers.serve(fake) as url:
        fake.exhaust_at = 1  # the first answer says it was the last one allowed
        run = Run(case, fake, url)
        report = run()
        assert report.stopped == "rate_limited" and len(run.searches) == 1
        assert report.fetched > 0  # the page that came with the header is kept
        fake.exhaust_at = None
        run()
        assert sorted(run.queued) == sorted(all_ids(case))


def test_refused_credentials_raise_a_typed_error_and_count(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    if run.case.name == "mastodon":  # hashtag timelines are public; search needs the token
        run.case = _with_search(run.case)
    with pytest.raises(SourceAuthError, match=run.case.name):
        run(good=False)
    assert '"SourceAuthFailedTotal"' in capsys.readouterr().out


def _with_search(case: Case) -> Case:
    settings = case.settings
    return Case(
        **{
            **case.__dict__,
            "settings": lambda url: {**settings(url), "MASTODON_SEARCH_INSTANCES": url},
        }
    )


MALFORMED = {
    "html": (200, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html><title>Oops</title>"),
    "truncated": (200, {}, b'{"data": [{"id": "1", "text": "nede ig'),
    "wrong types": (200, {}, b'{"data": {"posts": 3}, "posts": "none", "reviews": 7}'),
    "an error object": (200, {}, b'{"error": "InternalError", "title": "Oops", "type": "x"}'),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_page_is_a_payload_error_naming_the_source(run: Run, kind: str) -> None:
    run.fake.fail_next = [MALFORMED[kind]]
    with pytest.raises(SourcePayloadError, match=f"^{run.case.name}: "):
        run()
    assert run.queue.messages == [] and run.state.get_cursor(run.case.name) is None
    run()  # the platform recovers: the next run reads everything
    assert sorted(run.queued) == sorted(all_ids(run.case))


def test_a_bad_post_item_is_counted_and_the_good_ones_are_kept(run: Run) -> None:
    def break_second_item(page: Any) -> None:
        _items(run.case.name, page)[1] = {"id": None, "unexpected": True}

    run.fake.edit_next = [break_second_item]
    report = run()
    assert report.invalid == 1
    assert len(run.queued) == len(all_ids(run.case)) - 1 == len(set(run.queued))
    assert set(run.queued) < set(all_ids(run.case))


def _items(name: str, page: Any) -> list[Any]:
    """The post items of a page, in place (changing one changes the page)."""
    found: Any = {
        "x": lambda: page["data"],
        "bluesky": lambda: page["posts"],
        "reddit": lambda: page["data"]["children"],
        "trustpilot": lambda: page["reviews"],
        "mastodon": lambda: page,
    }[name]()
    assert isinstance(found, list)
    return found


def test_a_5xx_is_retried_with_backoff(run: Run) -> None:
    run.fake.fail_next = [(503, {"Content-Type": "text/html"}, b"<html>busy</html>")]
    report = run()
    assert report.stopped == "done" and sorted(run.queued) == sorted(all_ids(run.case))


def test_a_5xx_that_outlasts_the_retries_fails_the_run_and_keeps_the_cursor(run: Run) -> None:
    run.fake.fail_next = [(502, {}, b"bad gateway")] * 5
    with pytest.raises(SourceUnavailable, match=run.case.name):
        run()
    assert run.state.get_cursor(run.case.name) is None and run.queue.messages == []


def test_the_secret_is_read_once_per_run(run: Run) -> None:
    reads: list[str] = []
    report = fetch(run.source(reads=reads), run.state, run.queue)
    assert report.pages >= 2 and len(reads) <= 1
