"""`socialcare demo --platforms`: also read X, Bluesky and Trustpilot, the way production
does, from small sample pages (sample/<source>/, invented posts in each API's response
shape) served by local stand-ins of the platforms' APIs (socialcare_cli.platforms).

The deployed code path runs unchanged: EnableX/EnableBluesky/EnableTrustpilot in the
template, each source's credentials in its Secrets Manager secret, FetchMentionsFunction
invoked with the schedule's `{"source": ...}`, logins, paging and cursors over real HTTP.
Only the platforms' base URLs point at 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from socialcare_cli import lambda_local, local_aws, platforms, servers
from socialcare_cli.template import Stack

UNIT = "lynet-demo-unit"
# The stand-ins' credentials; stored in the stack's secrets as docs/sources.md describes.
SECRETS: dict[str, dict[str, str]] = {
    "x": {"bearer_token": "demo-x-bearer"},
    "bluesky": {"identifier": "lynet.bsky.social", "app_password": "demo-apps-pass-word"},
    "trustpilot": {
        "api_key": "demo-tp-key",
        "api_secret": "demo-tp-secret",
        "username": "cs@lynet.example",
        "password": "demo-tp-password",
    },
}
TITLES = {"x": "X", "bluesky": "Bluesky", "trustpilot": "Trustpilot"}
PAGES = {
    "x": ["search-recent-page1.json", "search-recent-page2.json"],
    "bluesky": ["searchPosts-page1.json", "searchPosts-page2.json"],
    "trustpilot": ["private-reviews-page1.json", "private-reviews-page2.json"],
}


def sample_page(source: str, name: str) -> Any:
    path = resources.files("socialcare_cli").joinpath(f"sample/{source}/{name}")
    return json.loads(path.read_text(encoding="utf-8"))


def _fake(source: str, pages: list[Any]) -> platforms.FakePlatform:
    secret = SECRETS[source]
    if source == "x":
        return platforms.FakeX(pages, secret["bearer_token"], page_size=2)
    if source == "bluesky":
        return platforms.FakeBluesky(
            pages, secret["identifier"], secret["app_password"], page_size=1
        )
    return platforms.FakeTrustpilot(
        pages,
        UNIT,
        secret["api_key"],
        secret["api_secret"],
        secret["username"],
        secret["password"],
        page_size=2,
    )


@dataclass
class PlatformSources:
    """The stand-ins (empty when the demo runs without --platforms)."""

    urls: dict[str, str] = field(default_factory=dict)

    @property
    def overrides(self) -> dict[str, str]:
        """Template parameters: the sources switched on."""
        if not self.urls:
            return {}
        return {
            **{f"Enable{TITLES[s]}": "true" for s in self.urls},
            "TrustpilotBusinessUnitId": UNIT,
        }

    @property
    def env(self) -> dict[str, str]:
        """The platforms' base URLs, pointed at the stand-ins."""
        names = {
            "x": "X_API_URL",
            "bluesky": "BLUESKY_SERVICE_URL",
            "trustpilot": "TRUSTPILOT_API_URL",
        }
        return {names[s]: url for s, url in self.urls.items()}

    def store_secrets(self, stack: Stack) -> None:
        for source in self.urls:
            secret = json.dumps(SECRETS[source])
            local_aws.set_secret(stack, f"{TITLES[source]}SourceSecret", secret)

    def fetch(
        self, handler: Callable[[dict[str, Any], Any], Any], progress: Callable[[str], None]
    ) -> int:
        """One scheduled run per platform; the number of mentions queued."""
        fetched = 0
        for source in self.urls:
            report = handler({"source": source}, lambda_local.FakeContext("FetchMentionsFunction"))
            progress(f"{source}: fetched {report['fetched']} mentions in {report['pages']} pages")
            fetched += int(report["fetched"])
        return fetched


@contextmanager
def serve(enabled: bool = True) -> Iterator[PlatformSources]:
    """X, Bluesky and Trustpilot stand-ins on 127.0.0.1, their posts made minutes ago."""
    if not enabled:
        yield PlatformSources()
        return
    with ExitStack() as stack:
        urls = {}
        for source, names in PAGES.items():
            pages = platforms.fresh([sample_page(source, n) for n in names], source)
            urls[source] = stack.enter_context(servers.serve(_fake(source, pages)))
        yield PlatformSources(urls)
