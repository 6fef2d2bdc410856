"""Polling a newest-first search without skipping or repeating a post.

X, Bluesky, Reddit, Trustpilot and Mastodon's status search all answer newest first and
page backwards. A *sweep* reads from the newest post down to where the previous sweep
began (the mark). The cursor stored after each queued page says where the sweep stands,
so a run stopped half-way (rate limit, page limit, a crash) continues with the next
older page, and posts that arrive meanwhile wait for the next sweep:

    mark    newest post of the last completed sweep (its key and the ids at that key)
    floor   first sweep only: the oldest time wanted (now - MAX_POST_AGE_HOURS)
    page    the platform's token for the next older page of this sweep
    top     newest post read in this sweep: the mark once the sweep completes
    bottom  oldest position read in this sweep: a later page that overlaps it (offset
            and page-number paging shift when posts arrive) is not handed out twice

Each item gives an `order` key (what the platform sorts by) and a `seen` key (what tells
an earlier sweep read it); both sort as text. They are the same except on Bluesky, which
sorts by createdAt but indexes late (see bluesky.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcare.errors import SourcePayloadError
from socialcare.models import Mention
from socialcare.observability import logger
from socialcare.sources.base import ITEM_ERRORS, RateBudget, parse_items, time_key
from socialcare.sources.ports import Page

MAX_IDS = 50  # ids kept per key; more posts than this in one millisecond do not happen


# Replaced by the stack's cursor key before each run (wiring.FetchRuntime), so digests match
# across containers; a process that sets none (a local tool) still never stores a bare hash.
_digest_key = secrets.token_bytes(32)


def use_digest_key(key: str) -> None:
    global _digest_key
    _digest_key = key.encode()


def digest(post_id: str) -> str:
    """How a cursor remembers a post: post ids can name their author (Bluesky's at:// URIs
    hold the author's DID), and the state table keeps no personal ids in clear. Keyed, so
    a digest cannot be checked against a guessed id without the key."""
    return hmac.new(_digest_key, post_id.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass
class Mark:
    key: str
    ids: list[str] = field(default_factory=list)  # digests of the posts at `key`

    def holds(self, key: str, post_id: str) -> bool:
        """At or before this mark (read before)."""
        return key < self.key or (key == self.key and digest(post_id) in self.ids)

    def covers(self, key: str, post_id: str) -> bool:
        """At or after this mark (read in this sweep, when the mark is its bottom)."""
        return key > self.key or (key == self.key and digest(post_id) in self.ids)

    def add(self, key: str, post_id: str) -> None:
        self.merge(key, [digest(post_id)])

    def merge(self, key: str, digests: list[str]) -> None:
        for value in digests:
            if key == self.key and value not in self.ids and len(self.ids) < MAX_IDS:
                self.ids.append(value)


def _newest(mark: Mark | None, key: str, post_id: str) -> Mark:
    if mark is None or key > mark.key:
        return Mark(key, [digest(post_id)])
    mark.add(key, post_id)
    return mark


def _oldest(mark: Mark | None, key: str, post_id: str) -> Mark:
    if mark is None or key < mark.key:
        return Mark(key, [digest(post_id)])
    mark.add(key, post_id)
    return mark


@dataclass
class SweepState:
    mark: Mark | None = None
    floor: str | None = None
    page: str | None = None
    top: Mark | None = None
    bottom: Mark | None = None

    def dumps(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps({"v": 1, **data}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, source: str, cursor: str | None) -> SweepState:
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
            marks = {k: Mark(**data[k]) for k in ("mark", "top", "bottom") if data.get(k)}
            return cls(floor=data.get("floor"), page=data.get("page"), **marks)
        except (ValueError, TypeError, KeyError):
            # Starting over re-reads at most MAX_POST_AGE_HOURS; triage drops what it saw.
            logger.warning("unreadable cursor, starting over", extra={"source": source})
            return cls()


@dataclass(frozen=True)
class ItemKey:
    order: str
    seen: str
    post_id: str
    at: datetime  # when the post was made: compared with the floor


@dataclass
class RawPage:
    """One platform page before filtering: items newest first, and how to read them."""

    items: list[Any]
    parse: Callable[[Any], Mention]
    key: Callable[[Any], ItemKey]
    next_page: str | None


class SweepSource(ABC):
    """A Source over a newest-first search; subclasses make one request per page."""

    name: str

    def __init__(self, lookback: timedelta, clock: Callable[[], datetime] | None = None) -> None:
        self.lookback = lookback
        self.clock = clock or (lambda: datetime.now(UTC))
        self.budget = RateBudget(self.name)

    @abstractmethod
    def request(self, state: SweepState) -> RawPage:
        """Fetch the page `state.page` of the sweep (the newest page when None)."""

    def reached(self, mark: Mark, item: ItemKey) -> bool:
        """Has the sweep gone past the previous sweep's newest post? Only a strictly older
        post says so: posts sharing the mark's key may sort on either side of it."""
        return item.order < mark.key

    def fetch_page(self, cursor: str | None) -> Page:
        self.budget.check()
        state = SweepState.loads(self.name, cursor)
        if state.page is None:  # a new sweep starts at the newest post
            state.top = state.bottom = None
            state.floor = None if state.mark else time_key(self.clock() - self.lookback)
        raw = self.request(state)
        if not isinstance(raw.items, list):
            raise SourcePayloadError(self.name, "page items are not a list")

        kept: list[Any] = []
        end = False
        for item in raw.items:
            try:
                key = raw.key(item)
            except ITEM_ERRORS:
                if not end:
                    kept.append(item)  # parse_items counts it as invalid
                continue
            if state.bottom and state.bottom.covers(key.order, key.post_id):
                continue  # handed out earlier in this sweep (the page shifted)
            state.bottom = _oldest(state.bottom, key.order, key.post_id)
            if state.mark and self.reached(state.mark, key):
                end = True
            if state.floor and time_key(key.at) < state.floor:
                end = True
                continue
            if state.mark and state.mark.holds(key.seen, key.post_id):
                continue  # read by an earlier sweep
            state.top = _newest(state.top, key.seen, key.post_id)
            kept.append(item)
        mentions, invalid = parse_items(self.name, kept, raw.parse)

        if end or not raw.next_page or not raw.items:
            mark = state.mark
            if state.top is not None:
                mark = state.top if mark is None or state.top.key > mark.key else mark
                if mark is not state.top and state.top.key == mark.key:
                    mark.merge(mark.key, state.top.ids)
            # The floor stays until a first post is found: the window moves with the clock.
            done = SweepState(mark=mark)
            return Page(mentions, done.dumps(), has_more=False, invalid=invalid)
        state.page = raw.next_page
        return Page(mentions, state.dumps(), has_more=True, invalid=invalid)
