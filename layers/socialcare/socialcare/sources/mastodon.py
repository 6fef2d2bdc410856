"""Mastodon: hashtag timelines per configured instance and tag, and status search where
the instance allows it.

Status search needs ElasticSearch on the instance, a user token (`read:search`) and
authors who opted in to being indexed, so its coverage is partial by design; hashtag
timelines (`/api/v1/timelines/tag/:tag`) are public and the reliable route.

One cursor holds a position per stream (instance + tag, or instance + search):
- a hashtag stream pages *forward* with `min_id` (the newest status read; the `Link`
  header's `prev` carries it), so each page is exactly the statuses after the last one;
  a first run starts at the id Mastodon would give a status made MAX_POST_AGE_HOURS ago;
- a search stream is a newest-first sweep (sweep.py) paging back with `max_id`.
A run reads the streams in turn; a rate-limited instance is left for the next run while
the others are read, and the run then reports the rate limit.

The same status seen on two instances (or under two tags) has one ActivityPub `uri`:
that is the post id, so triage decides it once. Remote statuses that reach an instance
late get ids older than their arrival and may be missed by a hashtag stream.

Placement: a status is `addressed` when it mentions our account (`mentions`, which a reply
to us carries too; compared as user@instance).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import requests
from requests.utils import parse_header_links

from socialcare.errors import ConfigError, SourceAuthError, SourcePayloadError, SourceRateLimited
from socialcare.models import Mention
from socialcare.observability import logger
from socialcare.sources.base import (
    ITEM_ERRORS,
    RateBudget,
    check_response,
    dict_or_empty,
    lang_hint,
    number_key,
    parse_items,
    parse_time,
    send,
    str_or_none,
)
from socialcare.sources.context import SourceContext, brand_terms, csv
from socialcare.sources.placement import any_own
from socialcare.sources.ports import Page
from socialcare.sources.sweep import ItemKey, RawPage, SweepSource, SweepState

NAME = "mastodon"
LIMIT = 40  # the most a timeline or search page returns


class _Text(HTMLParser):
    """Status content is HTML: keep the words, turn <br> and paragraphs into line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: Any) -> str:
    if not isinstance(html, str) or not html:
        return ""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def _qualified(account: Mapping[str, Any]) -> str | None:
    """user@instance, also for local accounts (whose acct has no domain)."""
    acct = str_or_none(account.get("acct"))
    if not acct or "@" in acct:
        return acct
    host = urlparse(str(account.get("url") or "")).hostname
    return f"{acct}@{host}" if host else acct


def _mentions_us(status: Mapping[str, Any], own: Collection[str]) -> bool:
    mentions = status.get("mentions")
    accounts = [dict_or_empty(m) for m in mentions] if isinstance(mentions, list) else []
    return any_own([_qualified(a) for a in accounts], own)


def _statuses(body: Any) -> list[Any]:
    """Statuses of a timeline (a list), a v2 search result, or one status object."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("statuses"), list):
        return list(body["statuses"])
    if isinstance(body, dict) and "id" in body and "content" in body:
        return [body]
    if isinstance(body, dict) and "error" in body:
        raise SourcePayloadError(NAME, f"an error, not a page: {str(body['error'])[:80]}")
    raise SourcePayloadError(NAME, "not a list of statuses")


def _parser(own: Collection[str]) -> Callable[[Any], Mention]:
    def parse(status: Any) -> Mention:
        if not isinstance(status, dict):
            raise TypeError("status is not an object")
        status_id = str_or_none(status["id"])
        if not status_id or "content" not in status:  # e.g. an account, not a status
            raise ValueError("not a status")
        boosted = status.get("reblog")
        shown = boosted if isinstance(boosted, dict) else status  # a boost shows another's post
        account = dict_or_empty(status.get("account"))
        handle = _qualified(account)
        spoiler, content = html_text(shown.get("spoiler_text")), html_text(shown.get("content"))
        author_id = str_or_none(account.get("id"))
        return Mention(
            source=NAME,
            post_id=str_or_none(status.get("uri")) or status_id,
            url=str_or_none(status.get("url")) or str_or_none(status.get("uri")),
            author_id=author_id,
            handle=handle,
            display_name=str_or_none(account.get("display_name")),
            text=f"{spoiler}\n\n{content}" if spoiler else content,
            lang=lang_hint(shown.get("language")),
            created_at=parse_time(status["created_at"]),
            is_repost=isinstance(boosted, dict),
            is_reply=status.get("in_reply_to_id") is not None,
            is_own_account=bool(own) and (handle or "").lower() in own,
            addressed=_mentions_us(shown, own),
        )

    return parse


def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    return parse_items(NAME, _statuses(body), _parser(frozenset(own_accounts)))


def _key(status: Any) -> ItemKey:
    order = number_key(int(status["id"]))
    return ItemKey(order, order, str(status["id"]), parse_time(status["created_at"]))


def snowflake(at: datetime) -> int:
    """The smallest status id Mastodon gives at this time (ms timestamp << 16)."""
    return int(at.timestamp() * 1000) << 16


def instance_url(value: str) -> str:
    return (value if "://" in value else f"https://{value}").rstrip("/")


@dataclass
class Instance:
    url: str
    token: Callable[[], str | None]
    budget: RateBudget

    @property
    def host(self) -> str:
        return urlparse(self.url).netloc

    def headers(self, required: bool = False) -> dict[str, str]:
        token = self.token()
        if required and not token:
            raise SourceAuthError(NAME, f"status search on {self.host} needs a token in the secret")
        return {"Authorization": f"Bearer {token}"} if token else {}


class TagStream:
    """One hashtag on one instance, read forward with min_id."""

    def __init__(
        self,
        session: requests.Session,
        instance: Instance,
        tag: str,
        own: frozenset[str],
        lookback: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.session, self.instance, self.tag, self.own = session, instance, tag, own
        self.lookback, self.clock = lookback, clock
        self.id = f"{instance.host}#tag:{tag}"

    def fetch_page(self, cursor: str | None) -> Page:
        self.instance.budget.check()
        min_id = (
            int(cursor) if cursor and cursor.isdigit() else snowflake(self.clock() - self.lookback)
        )
        url = f"{self.instance.url}/api/v1/timelines/tag/{quote(self.tag, safe='')}"
        params = {"min_id": str(min_id), "limit": LIMIT}
        response = send(
            self.session, NAME, "GET", url, params=params, headers=self.instance.headers()
        )
        if response.status_code == 404:  # the tag was never used on this instance
            return Page([], str(min_id), has_more=False)
        body = check_response(NAME, response)
        self.instance.budget.note(response.headers)
        statuses = _statuses(body)
        mentions, invalid = parse_items(NAME, statuses, _parser(self.own))
        newest = [min_id, _prev_min_id(response.headers)]
        for status in statuses:
            try:
                newest.append(int(status["id"]))
            except ITEM_ERRORS:
                continue
        # Pages can be shorter than the limit (servers filter them): read until one is empty.
        return Page(mentions, str(max(newest)), has_more=bool(statuses), invalid=invalid)


def _prev_min_id(headers: Mapping[str, str]) -> int:
    """The min_id in the Link header's rel="prev" (the newest status of the page), or 0."""
    for link in parse_header_links(headers.get("Link", "")):
        if link.get("rel") == "prev":
            value = parse_qs(urlparse(link.get("url", "")).query).get("min_id", ["0"])[0]
            return int(value) if value.isdigit() else 0
    return 0


class SearchStream(SweepSource):
    """Status search on one instance: a newest-first sweep paging back with max_id."""

    name = NAME

    def __init__(
        self,
        session: requests.Session,
        instance: Instance,
        query: str,
        own: frozenset[str],
        lookback: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(lookback, clock)
        self.session, self.instance, self.query, self.own = session, instance, query, own
        self.budget = instance.budget
        self.id = f"{instance.host}#search:{query}"

    def request(self, state: SweepState) -> RawPage:
        params: dict[str, Any] = {"q": self.query, "type": "statuses", "limit": LIMIT}
        if state.page:
            params["max_id"] = state.page
        url = f"{self.instance.url}/api/v2/search"
        headers = self.instance.headers(required=True)
        response = send(self.session, NAME, "GET", url, params=params, headers=headers)
        body = check_response(NAME, response)
        self.instance.budget.note(response.headers)
        if not isinstance(body, dict) or not isinstance(body.get("statuses"), list):
            raise SourcePayloadError(NAME, "search result has no 'statuses' list")
        statuses = body["statuses"]
        ids = [
            int(s["id"]) for s in statuses if isinstance(s, dict) and str(s.get("id", "")).isdigit()
        ]
        return RawPage(statuses, _parser(self.own), _key, str(min(ids)) if ids else None)


class MastodonSource:
    name = NAME

    def __init__(self, streams: list[TagStream | SearchStream]) -> None:
        if not streams:
            raise ValueError("no Mastodon streams configured")
        self.streams = streams
        self._finished: set[str] = set()
        self._limited: SourceRateLimited | None = None

    def fetch_page(self, cursor: str | None) -> Page:
        positions = _positions(cursor)
        for stream in self.streams:
            if stream.id in self._finished:
                continue
            try:
                page = stream.fetch_page(positions.get(stream.id))
            except SourceRateLimited as exc:
                # This instance waits for the next run; the other instances are read now.
                self._limited = exc
                host = stream.instance.host
                self._finished.update(s.id for s in self.streams if s.instance.host == host)
                continue
            if page.cursor:
                positions[stream.id] = page.cursor
            if not page.has_more:
                self._finished.add(stream.id)
            # A rate limit met on the way is reported once the other streams are read.
            pending = any(s.id not in self._finished for s in self.streams) or bool(self._limited)
            return Page(page.mentions, _dumps(positions), has_more=pending, invalid=page.invalid)
        if self._limited is not None:
            raise self._limited
        return Page([], _dumps(positions) if positions else None, has_more=False)


def _positions(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        streams = json.loads(cursor)["streams"]
        return {str(k): str(v) for k, v in streams.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("unreadable cursor, starting over", extra={"source": NAME})
        return {}


def _dumps(positions: Mapping[str, str]) -> str:
    return json.dumps({"v": 1, "streams": dict(positions)}, separators=(",", ":"), sort_keys=True)


def hashtag(term: str) -> str:
    return "".join(ch for ch in term if ch.isalnum() or ch == "_").lower()


def build(ctx: SourceContext) -> MastodonSource:
    settings = ctx.settings
    instances = [instance_url(i) for i in csv(settings.mastodon_instances)]
    searchable = {instance_url(i) for i in csv(settings.mastodon_search_instances)}
    if not instances and not searchable:
        raise ConfigError("the mastodon source needs MASTODON_INSTANCES")
    terms = brand_terms(ctx.brand)
    tags = csv(settings.mastodon_tags) or list(dict.fromkeys(filter(None, map(hashtag, terms))))
    query = settings.mastodon_query or ctx.brand.name
    read = (
        ctx.secret(NAME, settings.mastodon_secret, "MASTODON_SECRET")
        if settings.mastodon_secret
        else dict
    )
    cache: dict[str, Mapping[str, Any]] = {}

    def token_for(host: str) -> Callable[[], str | None]:
        def token() -> str | None:
            if "tokens" not in cache:
                cache["tokens"] = dict_or_empty(read().get("tokens"))
            return str_or_none(cache["tokens"].get(host))

        return token

    now = ctx.clock
    own = ctx.own_accounts(NAME)
    streams: list[TagStream | SearchStream] = []
    for url in dict.fromkeys([*instances, *sorted(searchable)]):
        host = urlparse(url).netloc
        instance = Instance(url, token_for(host), RateBudget(NAME))
        if url in instances:
            streams += [
                TagStream(ctx.session, instance, tag, own, ctx.lookback, now) for tag in tags
            ]
        if url in searchable:
            streams.append(SearchStream(ctx.session, instance, query, own, ctx.lookback, now))
    return MastodonSource(streams)
