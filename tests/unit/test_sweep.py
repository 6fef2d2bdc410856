"""The sweep cursor (socialcare.sources.sweep): newest-first searches read with no post
skipped and none twice, however runs are cut short and whenever posts arrive."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.adapters.memory import MemoryQueue, MemoryState
from socialcare.errors import SourceRateLimited
from socialcare.models import Mention
from socialcare.sources.base import budget_spent, lang_hint, parse_time, time_key
from socialcare.sources.fetch import fetch
from socialcare.sources.sweep import ItemKey, RawPage, SweepSource, SweepState

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class PagedSearch(SweepSource):
    """A newest-first search with page numbers (the hardest case: pages shift as posts
    arrive) and, at random, a rate limit instead of a page."""

    name = "memory"

    def __init__(
        self, posts: list[dict[str, Any]], rng: random.Random, limit_rate: float = 0.25
    ) -> None:
        super().__init__(timedelta(hours=72), lambda: T0 + timedelta(hours=1))
        self.posts, self.rng, self.limit_rate, self.page_size = posts, rng, limit_rate, 3
        self.requests: list[SweepState] = []

    def request(self, state: SweepState) -> RawPage:
        self.requests.append(state)
        if self.rng.random() < self.limit_rate:
            raise SourceRateLimited(self.name, 60)
        ordered = sorted(self.posts, key=lambda p: (p["at"], p["id"]), reverse=True)
        page = int(state.page or 1)
        chunk = ordered[(page - 1) * self.page_size : page * self.page_size]
        more = page * self.page_size < len(ordered)
        return RawPage(chunk, parse, key, str(page + 1) if more else None)


def parse(post: dict[str, Any]) -> Mention:
    return Mention(source="memory", post_id=post["id"], text="x", created_at=post["at"])


def key(post: dict[str, Any]) -> ItemKey:
    return ItemKey(time_key(post["at"]), time_key(post["at"]), post["id"], post["at"])


@pytest.mark.parametrize("seed", range(25))
def test_interrupted_runs_and_arriving_posts_lose_and_repeat_nothing(seed: int) -> None:
    rng = random.Random(seed)
    posts: list[dict[str, Any]] = []
    state, queue = MemoryState(), MemoryQueue()
    clock = T0
    for _ in range(30):
        for _ in range(rng.randint(0, 4)):  # posts arrive between runs, some at equal times
            clock += timedelta(seconds=rng.choice([0, 0, 1, 30]))
            posts.append({"id": f"p{len(posts)}", "at": clock})
        fetch(PagedSearch(posts, rng), state, queue, max_pages=rng.randint(1, 4))
    for _ in range(2):  # no more limits: the open sweep ends, the next reads the rest
        fetch(PagedSearch(posts, rng, limit_rate=0), state, queue, max_pages=1000)
    queued = [json.loads(m)["post_id"] for m in queue.messages]
    assert len(queued) == len(set(queued)), "a post was sent twice"
    assert set(queued) == {p["id"] for p in posts}, "a post was skipped"


def test_the_first_sweep_reads_back_the_lookback_only() -> None:
    old = {"id": "old", "at": T0 - timedelta(hours=80)}
    recent = {"id": "recent", "at": T0}
    page = PagedSearch([old, recent], random.Random(1), limit_rate=0).fetch_page(None)
    assert [m.post_id for m in page.mentions] == ["recent"] and not page.has_more


def test_an_unreadable_cursor_starts_over() -> None:
    assert SweepState.loads("memory", "not json") == SweepState()
    assert SweepState.loads("memory", '{"mark": {"nokey": 1}}') == SweepState()
    state = SweepState.loads("memory", SweepState(page="3").dumps())
    assert state.page == "3"


def test_times_languages_and_budgets() -> None:
    assert parse_time("2026-08-01T14:00:00.070144123Z") == datetime(
        2026, 8, 1, 14, 0, 0, 70144, tzinfo=UTC
    )
    assert parse_time(1795880000) == datetime.fromtimestamp(1795880000, tz=UTC)
    assert parse_time("2026-11-27T12:00:00") == T0  # naive means UTC
    assert time_key(T0) < time_key(T0 + timedelta(microseconds=1))
    assert [lang_hint(v) for v in ("da-DK", "und", "qme", "zxx", "", None, "EN")] == [
        "da",
        None,
        None,
        None,
        None,
        None,
        "en",
    ]
    assert budget_spent({"X-Ratelimit-Remaining": "0.0"})
    assert budget_spent({"ratelimit-remaining": "0"})
    assert not budget_spent({"x-rate-limit-remaining": "448"}) and not budget_spent({})
