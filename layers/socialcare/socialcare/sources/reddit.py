"""Reddit: `GET /search?sort=new` on oauth.reddit.com with an app-only OAuth token
(client credentials). New API clients need Reddit's approval (since November 2025), so
this source is optional.

Cursor: a sweep (sweep.py) whose mark is the newest post's fullname, compared by its
base-36 id (Reddit ids grow with time); inside a sweep the pages follow `after`. A
listing's `before` is not used: it returns nothing once the post it names is removed.

Placement: a comment in a thread our account started (`link_author`) or a post or comment
that names our account as `u/<name>` (Reddit's mention, which notifies the user) is
`addressed`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, Unpack

import requests

from socialcare.errors import SourceAuthError, SourcePayloadError, SourceRateLimited
from socialcare.http import USER_AGENT
from socialcare.models import Mention
from socialcare.sources.auth import SignedInSweep, SweepOptions, credential
from socialcare.sources.base import (
    check_response,
    dict_or_empty,
    number_key,
    parse_items,
    parse_time,
    retry_after_seconds,
    send,
    str_or_none,
)
from socialcare.sources.context import SourceContext, brand_terms, csv, quoted
from socialcare.sources.placement import any_own
from socialcare.sources.sweep import ItemKey, RawPage, SweepState

NAME = "reddit"
WEB = "https://www.reddit.com"
DELETED = {"[deleted]", "[removed]"}


def _read(body: Any) -> tuple[list[Any], str | None]:
    if not isinstance(body, dict):
        raise SourcePayloadError(NAME, f"page is a {type(body).__name__}, not an object")
    data = body.get("data")
    if body.get("kind") != "Listing" or not isinstance(data, dict):
        raise SourcePayloadError(NAME, "page is not a Listing")
    children = data.get("children")
    if not isinstance(children, list):
        raise SourcePayloadError(NAME, "listing has no 'children' list")
    return children, str_or_none(data.get("after"))


def _thing(child: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
        raise TypeError("listing child is not a thing")
    kind = child.get("kind")
    if kind not in ("t1", "t3"):
        raise ValueError(f"not a post or comment: {str(kind)[:8]}")
    return str(kind), child["data"]


USER_MENTION = re.compile(r"(?<![\w/])/?u/([\w-]{3,20})\b", re.IGNORECASE)


def _addressed(data: Mapping[str, Any], text: str, own: Collection[str]) -> bool:
    return any_own([data.get("link_author"), *USER_MENTION.findall(text)], own)


def _parser(own: Collection[str]) -> Callable[[Any], Mention]:
    def parse(child: Any) -> Mention:
        kind, data = _thing(child)
        fullname = str_or_none(data.get("name")) or f"{kind}_{data['id']}"
        author = str_or_none(data.get("author"))
        author = None if author in DELETED else author
        if kind == "t3":
            title, body = data.get("title") or "", data.get("selftext") or ""
            text = f"{title}\n\n{body}" if body else title
        else:
            text = data.get("body") or ""
        text = text if isinstance(text, str) else ""
        permalink = str_or_none(data.get("permalink"))
        return Mention(
            source=NAME,
            post_id=fullname,
            url=WEB + permalink if permalink and permalink.startswith("/") else permalink,
            author_id=str_or_none(data.get("author_fullname")) if author else None,
            handle=author,
            text=text,
            created_at=parse_time(data["created_utc"]),
            is_repost=bool(data.get("crosspost_parent")),
            is_reply=kind == "t1",  # a comment answers a post or another comment
            is_own_account=bool(own) and (author or "").lower() in own,
            addressed=_addressed(data, text, own),
        )

    return parse


def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    children, _ = _read(body)
    return parse_items(NAME, children, _parser(frozenset(own_accounts)))


def _key(child: Any) -> ItemKey:
    kind, data = _thing(child)
    fullname = str(data.get("name") or f"{kind}_{data['id']}")
    order = number_key(int(fullname.split("_", 1)[1], 36))
    return ItemKey(order, order, fullname, parse_time(data["created_utc"]))


def brand_query(ctx: SourceContext) -> str:
    if ctx.settings.reddit_query:
        return ctx.settings.reddit_query
    return " OR ".join(quoted(t) for t in brand_terms(ctx.brand))


class RedditSource(SignedInSweep):
    name = NAME

    def __init__(
        self,
        session: requests.Session,
        *,
        query: str,
        credentials: Callable[[], Mapping[str, Any]],
        subreddits: Collection[str] = (),
        auth_url: str = WEB,
        api_url: str = "https://oauth.reddit.com",
        **options: Unpack[SweepOptions],
    ) -> None:
        super().__init__(session, credentials=credentials, **options)
        self.query = query
        path = f"/r/{'+'.join(subreddits)}/search" if subreddits else "/search"
        self.url = api_url.rstrip("/") + path
        self.restrict = bool(subreddits)
        self.token_url = auth_url.rstrip("/") + "/api/v1/access_token"
        self._cache_key = f"{NAME}:{self.token_url}"

    @property
    def agent(self) -> str:
        # Reddit asks for a unique, descriptive User-Agent naming the app's Reddit account.
        return str(self.secret.get("user_agent") or USER_AGENT)

    def _token(self) -> str:
        token = self.tokens.get(self._cache_key)
        if token:
            return token
        auth = (
            credential(NAME, self.secret, "client_id"),
            credential(NAME, self.secret, "client_secret"),
        )
        response = send(
            self.session,
            NAME,
            "POST",
            self.token_url,
            auth=auth,
            data={"grant_type": "client_credentials"},
            headers={"User-Agent": self.agent},
        )
        if response.status_code == 400:
            raise SourceAuthError(NAME, "token refused (HTTP 400)")
        body = dict_or_empty(check_response(NAME, response))
        token = str_or_none(body.get("access_token"))
        if not token:  # {"error": "invalid_grant"} may come with HTTP 200
            raise SourceAuthError(NAME, f"no access token ({str(body.get('error'))[:40]})")
        self.tokens.put(self._cache_key, token, float(body.get("expires_in") or 3600))
        return token

    def request(self, state: SweepState) -> RawPage:
        params: dict[str, Any] = {
            "q": self.query,
            "sort": "new",
            "t": "all",
            "type": "link",
            "limit": self.page_size,
            "raw_json": 1,
        }
        if self.restrict:
            params["restrict_sr"] = 1
        if state.page:
            params["after"] = state.page
        for attempt in range(2):
            headers = {"Authorization": f"bearer {self._token()}", "User-Agent": self.agent}
            response = send(self.session, NAME, "GET", self.url, params=params, headers=headers)
            if attempt == 0 and response.status_code == 401:
                self.tokens.drop(self._cache_key)  # expired: one new token, then give up
                continue
            break
        body = check_response(NAME, response)
        if isinstance(body, dict) and body.get("error") == 429:
            # Reddit sometimes says "Too Many Requests" in a 200 body.
            raise SourceRateLimited(NAME, retry_after_seconds(response.headers))
        self.budget.note(response.headers)
        children, after = _read(body)
        return RawPage(children, _parser(self.own), _key, after)


def build(ctx: SourceContext) -> RedditSource:
    return RedditSource(
        ctx.session,
        query=brand_query(ctx),
        credentials=ctx.secret(NAME, ctx.settings.reddit_secret, "REDDIT_SECRET"),
        subreddits=csv(ctx.settings.reddit_subreddits),
        auth_url=ctx.settings.reddit_auth_url,
        api_url=ctx.settings.reddit_api_url,
        own_accounts=ctx.own_accounts(NAME),
        lookback=ctx.lookback,
        clock=ctx.clock,
    )
