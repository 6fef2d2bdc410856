"""One case per platform source: its fake API (socialcare_cli.platforms), its fixture
pages (tests/data/platforms/<source>/) and how to build the real source against it.

Sources are built the way the fetch function builds them (`build_source` from
FetchSettings, a secret reader and brand.toml), with a real `requests` session that
retries quickly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import requests

from socialcare.adapters.memory import MemoryQueue, MemoryState
from socialcare.http import make_session
from socialcare.settings import FetchSettings
from socialcare.sources import build_source, parse_page
from socialcare.sources.auth import TOKENS
from socialcare.sources.fetch import FetchReport, fetch
from socialcare.sources.ports import Source
from socialcare_cli import platforms
from tests.conftest import TESTS

DATA = TESTS / "data" / "platforms"
CLOCK = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # an hour after the newest fixture post
UNIT = "46d6a890000064000500e0c3"

SECRETS: dict[str, dict[str, Any]] = {
    "x-secret": {"bearer_token": "x-token"},
    "bluesky-secret": {"identifier": "lynet.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"},
    "mastodon-secret": {"tokens": {}},  # filled per server (the host has a port)
    "trustpilot-secret": {
        "api_key": "tp-key",
        "api_secret": "tp-secret",
        "username": "cs@lynet.example",
        "password": "tp-password",
    },
    "reddit-secret": {"client_id": "rd-client", "client_secret": "rd-secret"},
}
WRONG: dict[str, dict[str, Any]] = {
    "x": {"bearer_token": "expired"},
    "bluesky": {"identifier": "lynet.bsky.social", "app_password": "revoked"},
    "mastodon": {"tokens": {}},
    "trustpilot": {**SECRETS["trustpilot-secret"], "password": "changed"},
    "reddit": {"client_id": "rd-client", "client_secret": "revoked"},
}


def load(path: str) -> Any:
    return json.loads((DATA / path).read_text())


def session() -> requests.Session:
    return make_session(timeout_s=5, retries=2, backoff_s=0.001, methods=("GET", "POST"))


@dataclass
class Case:
    name: str
    pages: list[str]  # one search split in two pages, newest first
    newer: str  # posts that arrive after the first run
    search: str  # path part of the search requests
    paging: str  # query parameter a resumed sweep sends
    rate_limit_body: str
    settings: Callable[[str], dict[str, str]]
    fake: Callable[[list[Any]], platforms.FakePlatform]
    page_size: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def ids(self, *files: str) -> list[str]:
        out: list[str] = []
        for name in files:
            mentions, invalid = parse_page(self.name, load(f"{self.name}/{name}"))
            assert invalid == 0
            out += [m.post_id for m in mentions]
        return out

    def source(
        self,
        url: str,
        *,
        good: bool = True,
        clock: Callable[[], datetime] = lambda: CLOCK,
        reads: list[str] | None = None,
    ) -> Source:
        env = {"STATE_TABLE": "t", "MENTIONS_QUEUE_URL": "q", **self.settings(url)}
        secrets = {k: dict(v) for k, v in SECRETS.items()}
        secrets["mastodon-secret"] = {"tokens": {urlparse(url).netloc: "m-token"}}
        if not good:
            secrets[f"{self.name}-secret"] = WRONG[self.name]
        settings = FetchSettings.model_validate(env)

        def read(ref: str) -> dict[str, Any]:
            if reads is not None:
                reads.append(ref)
            return secrets[ref]

        return build_source(self.name, settings, session(), read, clock=clock)


def _mastodon(pages: list[Any]) -> platforms.FakeMastodon:
    statuses = [s for page in pages for s in page]
    return platforms.FakeMastodon("http://127.0.0.1", {"lynet": statuses}, token="m-token")


CASES = [
    Case(
        "x",
        ["search-recent-page1.json", "search-recent-page2.json"],
        "search-recent-newer.json",
        "/2/tweets/search/recent",
        "next_token",
        "error-429-documented.json",
        lambda url: {"X_API_URL": url, "X_SECRET": "x-secret"},
        lambda pages: platforms.FakeX(pages, token="x-token"),
    ),
    Case(
        "bluesky",
        ["searchPosts-page1-documented.json", "searchPosts-page2-documented.json"],
        "searchPosts-newer-documented.json",
        "searchPosts",
        "cursor",
        "error-429-documented.json",
        lambda url: {"BLUESKY_SERVICE_URL": url, "BLUESKY_SECRET": "bluesky-secret"},
        lambda pages: platforms.FakeBluesky(pages, "lynet.bsky.social", "abcd-efgh-ijkl-mnop"),
    ),
    Case(
        "mastodon",
        ["timeline-tag-lynet.json"],
        "timeline-tag-lynet-newer.json",
        "/timelines/tag/",
        "min_id",
        "error-429-documented.json",
        lambda url: {
            "MASTODON_INSTANCES": url,
            "MASTODON_TAGS": "lynet",
            "MASTODON_SECRET": "mastodon-secret",
        },
        _mastodon,
    ),
    Case(
        "trustpilot",
        ["private-reviews-page1-documented.json", "private-reviews-page2-documented.json"],
        "private-reviews-newer-documented.json",
        "/reviews",
        "page",
        "error-401-documented.json",
        lambda url: {
            "TRUSTPILOT_API_URL": url,
            "TRUSTPILOT_BUSINESS_UNIT_ID": UNIT,
            "TRUSTPILOT_SECRET": "trustpilot-secret",
        },
        lambda pages: platforms.FakeTrustpilot(
            pages, UNIT, "tp-key", "tp-secret", "cs@lynet.example", "tp-password"
        ),
    ),
    Case(
        "reddit",
        ["search-page1.json", "search-page2.json"],
        "search-newer.json",
        "/search",
        "after",
        "error-429-documented.json",
        lambda url: {
            "REDDIT_AUTH_URL": url,
            "REDDIT_API_URL": url,
            "REDDIT_SECRET": "reddit-secret",
        },
        lambda pages: platforms.FakeReddit(pages, "rd-client", "rd-secret"),
    ),
]
BY_NAME = {c.name: c for c in CASES}


class Run:
    """A platform fake on a local server, and what a schedule keeps between its runs.

    Creating one is a cold container: cached logins are forgotten.
    """

    def __init__(self, case: Case, fake: Any, url: str) -> None:
        TOKENS.clear()
        self.case, self.fake, self.url = case, fake, url
        self.state, self.queue = MemoryState(), MemoryQueue()

    def source(self, **kwargs: Any) -> Source:
        return self.case.source(self.url, **kwargs)

    def __call__(self, **kwargs: Any) -> FetchReport:
        """One scheduled run: a new source object, as each Lambda invocation builds one."""
        return fetch(self.source(**kwargs), self.state, self.queue)

    @property
    def queued(self) -> list[str]:
        return [json.loads(m)["post_id"] for m in self.queue.messages]

    @property
    def searches(self) -> list[dict[str, list[str]]]:
        return self.fake.searches(self.case.search)
