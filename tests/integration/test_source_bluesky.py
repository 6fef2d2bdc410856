"""Bluesky: app-password sessions kept per container, late-indexed posts, payload details."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from socialcare.errors import SourceAuthError
from socialcare.sources import bluesky
from socialcare.sources.base import parse_time, time_key
from socialcare_cli import servers
from tests.integration.platform_cases import BY_NAME, Run, load

CASE = BY_NAME["bluesky"]
PAGES = [load(f"bluesky/{p}") for p in CASE.pages]


@pytest.fixture
def run() -> Iterator[Run]:
    fake = CASE.fake(PAGES)
    with servers.serve(fake) as url:
        yield Run(CASE, fake, url)


def calls(run: Run, path: str) -> int:
    return sum(1 for _, p, _ in run.fake.requests if p.endswith(path))


def test_one_login_per_container_and_refresh_when_the_access_token_expires(run: Run) -> None:
    run()
    run()
    assert run.fake.logins == 1  # createSession is limited: 30 per 5 minutes per account
    run.fake.expire_sessions()
    report = run()
    assert report.stopped == "done"
    assert run.fake.logins == 1 and calls(run, "refreshSession") == 1
    assert all(q.get("sort") == ["latest"] for q in run.searches)


def test_a_refused_app_password_or_a_403_page_is_an_auth_error(run: Run) -> None:
    with pytest.raises(SourceAuthError, match="bluesky"):
        run(good=False)
    run.fake.fail_next = [(403, {"Content-Type": "text/html"}, b"<html>Forbidden</html>")]
    with pytest.raises(SourceAuthError, match=r"bluesky: .*403"):
        run()


def test_a_post_indexed_late_is_read_by_the_next_sweep(run: Run) -> None:
    run()
    mark = max(p["indexedAt"] for page in PAGES for p in page["posts"])
    run.fake.add(load(f"bluesky/{CASE.newer}"))
    run()
    since = run.searches[-1]["since"][0]
    assert since == time_key(parse_time(mark) - bluesky.SLACK)
    late = "at://did:plc:idaxyz/app.bsky.feed.post/3lk2af"  # written before the mark
    assert late in run.queued and len(run.queued) == len(set(run.queued))


def test_payload_details_are_normalised_and_missing_ones_are_null() -> None:
    mentions, invalid = bluesky.parse_page(
        {"posts": PAGES[0]["posts"] + PAGES[1]["posts"], "unknown": 1},
        own_accounts={"lynet.bsky.social"},
    )
    english, danish, reply, own = mentions
    assert invalid == 0
    assert english.url == "https://bsky.app/profile/oliver.bsky.social/post/3lk2aa"
    assert english.lang == "en" and english.author_id == "did:plc:oliverxyz"
    assert danish.display_name == "Karen P." and danish.location is None and danish.email is None
    assert reply.is_reply and reply.handle is None  # handle.invalid is no handle
    assert reply.url == "https://bsky.app/profile/did:plc:jonasbxyz/post/3lk2ac"
    assert own.is_own_account
    assert english.created_at == parse_time(PAGES[0]["posts"][0]["record"]["createdAt"])


def test_first_sweep_reads_back_the_lookback_window(run: Run) -> None:
    run()
    from tests.integration.platform_cases import CLOCK

    assert run.searches[0]["since"] == [time_key(CLOCK - timedelta(hours=72))]
