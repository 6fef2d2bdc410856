"""Facebook and Instagram test material: the fixture pages (tests/data/platforms/facebook,
instagram) on a local Graph stand-in, the Meta secret, and signed webhook bodies.

Every fixture time is moved by one common offset so the newest post is a few minutes old:
the webhook and the polling path then see the same post at the same time, and triage
does not decide the posts `stale`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcare_cli.fake_graph import FakeGraph, newest, shift, sign
from tests.conftest import TESTS

DATA = TESTS / "data" / "platforms"
APP_SECRET = "meta-app-secret-0123456789abcdef"
VERIFY_TOKEN = "lynet-verify-token-42"
PAGE_TOKEN = "EAAGpagetoken0123456789"
PAGE_ID = "101234567890123"
IG_ID = "17841400000000000"
SECRET = {"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "page_access_token": PAGE_TOKEN}

FB_PAGES = {
    "tagged": ["facebook/tagged-page1-documented.json", "facebook/tagged-page2-documented.json"],
    "visitor_posts": ["facebook/visitor-posts.json"],
    "feed": ["facebook/feed-comments.json"],
}
IG_PAGES = {
    "tags": ["instagram/tags-page1.json", "instagram/tags-page2.json"],
    "media": ["instagram/media-comments-documented.json"],
}
POLLED = sorted({p for pages in (*FB_PAGES.values(), *IG_PAGES.values()) for p in pages})
ALL = [
    *POLLED,
    "facebook/tagged-newer-documented.json",
    "facebook/post-mentioned.json",
    "instagram/mentioned-media.json",
    "instagram/mentioned-comment.json",
    "facebook/webhook-feed-comment-documented.json",
    "facebook/webhook-feed-status.json",
    "facebook/webhook-mention-post.json",
    "instagram/webhook-mentions-caption.json",
    "instagram/webhook-mentions-comment.json",
    "instagram/webhook-comments-documented.json",
]


def raw(path: str) -> Any:
    return json.loads((DATA / path).read_text())


def _offset() -> timedelta:
    latest = max(t for t in (newest(raw(p)) for p in ALL) if t is not None)
    return datetime.now(UTC) - timedelta(minutes=5) - latest


OFFSET = _offset()  # computed once per test session: all files move together


def load(path: str) -> Any:
    """A fixture with its times moved to the present (see the module docstring)."""
    return shift(raw(path), OFFSET)


def body(path: str) -> bytes:
    """A webhook notification as Meta sends it: compact JSON, non-ASCII escaped."""
    return json.dumps(load(path), separators=(",", ":")).encode()


def signed(data: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, data)}


def graph(page_size: int = 2) -> FakeGraph:
    """The Page's and the Instagram account's content, on a Graph stand-in."""
    fake = FakeGraph(PAGE_TOKEN, APP_SECRET, page_size=page_size)
    for edge, files in FB_PAGES.items():
        for path in files:
            fake.add_page(f"{PAGE_ID}/{edge}", load(path))
    for edge, files in IG_PAGES.items():
        for path in files:
            fake.add_page(f"{IG_ID}/{edge}", load(path))
    fake.put(load("facebook/post-mentioned.json"))
    for name in ("mentioned-media", "mentioned-comment"):
        answer = load(f"instagram/{name}.json")
        item = answer[f"mentioned_{name.split('-')[1]}"]
        fake.mentioned[item["id"]] = item
    return fake


def ids(*paths: str) -> list[str]:
    """The post ids a fixture page holds (posts, nested comments), as parse_page reads them."""
    from socialcare.sources import parse_page

    out: list[str] = []
    for path in paths:
        source = path.split("/")[0]
        mentions, invalid = parse_page(source, raw(path))
        assert invalid == 0
        # The comments edges queue the comments, not the posts around them (no text here).
        out += [m.post_id for m in mentions if m.text]
    return out
