"""Mastodon: hashtag timelines read forward with min_id per instance, status search
where allowed, one rate-limited instance not holding up the others, and HTML content."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from socialcare.adapters.memory import MemoryQueue, MemoryState
from socialcare.errors import SourceAuthError
from socialcare.settings import FetchSettings
from socialcare.sources import build_source, mastodon
from socialcare.sources.auth import TOKENS
from socialcare.sources.fetch import fetch
from socialcare_cli import platforms, servers
from tests.integration.platform_cases import CLOCK, load, session

TIMELINE = load("mastodon/timeline-tag-lynet.json")
SEARCH = load("mastodon/search-statuses.json")["statuses"]


class Instances:
    """Two instances on local servers and one Mastodon source over both."""

    def __init__(self, fakes: list[platforms.FakeMastodon], urls: list[str]) -> None:
        self.fakes, self.urls = fakes, urls
        self.state, self.queue = MemoryState(), MemoryQueue()

    def run(self, search: bool = False, token: str = "m-token", tags: str = "lynet") -> Any:  # noqa: S107
        env = {
            "STATE_TABLE": "t",
            "MENTIONS_QUEUE_URL": "q",
            "MASTODON_INSTANCES": ",".join(self.urls),
            "MASTODON_TAGS": tags,
            "MASTODON_SECRET": "mastodon-secret",
            "MASTODON_SEARCH_INSTANCES": self.urls[0] if search else "",
        }
        secret = {"tokens": {urlparse(u).netloc: token for u in self.urls}}
        source = build_source(
            "mastodon",
            FetchSettings.model_validate(env),
            session(),
            {"mastodon-secret": secret}.__getitem__,
            clock=lambda: CLOCK,
        )
        return fetch(source, self.state, self.queue)

    @property
    def queued(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in self.queue.messages]


@pytest.fixture
def instances() -> Iterator[Instances]:
    TOKENS.clear()
    first = platforms.FakeMastodon("", {"lynet": TIMELINE}, search=SEARCH, token="m-token")
    second = platforms.FakeMastodon("", {"lynet": TIMELINE[2:], "lynetbredbånd": []})
    with ExitStack() as stack:
        urls = [stack.enter_context(servers.serve(f)) for f in (first, second)]
        for fake, url in zip((first, second), urls, strict=True):
            fake.base_url = url
        yield Instances([first, second], urls)


def test_hashtag_timelines_page_forward_with_min_id(instances: Instances) -> None:
    instances.run()
    first = instances.fakes[0].searches("/timelines/tag/lynet")
    start = mastodon.snowflake(CLOCK - timedelta(hours=72))
    assert first[0]["min_id"] == [str(start)]
    assert [q["min_id"][0] for q in first[1:]] == [TIMELINE[2]["id"], TIMELINE[0]["id"]]
    # the same status on two instances has one ActivityPub uri: triage decides it once
    uris = [m["post_id"] for m in instances.queued]
    assert len(uris) == 6 and len(set(uris)) == 4


def test_a_rate_limited_instance_waits_while_the_others_are_read(instances: Instances) -> None:
    instances.fakes[0].fail_next = [
        None,
        (429, {"X-RateLimit-Reset": "2026-11-27T12:05:00Z"}, b"{}"),
    ]
    report = instances.run()
    assert report.stopped == "rate_limited"
    assert len(instances.fakes[1].searches("/timelines/")) >= 1  # the other instance was read
    again = instances.run()
    assert again.stopped == "done"
    uris = [m["post_id"] for m in instances.queued]
    assert len(uris) == 6 and len(set(uris)) == 4  # none skipped, none twice per instance


def test_an_unused_tag_is_not_an_error(instances: Instances) -> None:
    report = instances.run(tags="lynet,nosuchtag")
    assert report.stopped == "done" and len(instances.queued) == 6


def test_status_search_needs_a_token_and_reads_boosts_as_reposts(instances: Instances) -> None:
    with pytest.raises(SourceAuthError, match="mastodon"):
        instances.run(search=True, token="")
    TOKENS.clear()
    instances.state, instances.queue = MemoryState(), MemoryQueue()
    instances.run(search=True)
    found = {m["post_id"]: m for m in instances.queued}
    boost = found[SEARCH[2]["uri"]]
    assert boost["is_repost"] and boost["text"] == "Lynet Bredbånd har lovet tekniker i tre uger nu"
    assert instances.fakes[0].searches("/api/v2/search")[0]["type"] == ["statuses"]


def test_payload_details_are_normalised() -> None:
    mentions, invalid = mastodon.parse_page(TIMELINE, own_accounts={"lynet@mastodon.social"})
    hashtag, reply, remote, own = mentions
    assert invalid == 0
    assert hashtag.text == "Er #lynet nede igen? Ingen forbindelse i Odense & omegn."
    assert hashtag.handle == "frederik@mastodon.social"  # local accounts get their domain
    assert hashtag.post_id == TIMELINE[0]["uri"] and hashtag.url == TIMELINE[0]["url"]
    assert (
        reply.is_reply
        and reply.text == "Ventet en time i kø hos #lynet kundeservice.\nStadig ingen hjælp."
    )
    assert remote.handle == "dev_dk@fosstodon.org" and remote.lang == "en"
    assert own.is_own_account and not hashtag.is_own_account
