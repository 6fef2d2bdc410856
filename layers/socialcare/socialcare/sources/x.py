"""X (Twitter) API v2 recent search: `GET /2/tweets/search/recent` with an app bearer token.

Reading is paid per post, so the query leaves out retweets (`-is:retweet`) and the
brand's own accounts (`-from:`). Cursor: a sweep (sweep.py) whose mark is the newest
tweet id, sent as `since_id`; inside a sweep the pages follow `next_token` with the same
`since_id`, as X's pagination guide says. A spent balance answers 429 with the problem
type `usage-capped`: it stops the run as `usage_capped` (its own metric), because waiting
for the rate-limit window does not help.

Placement: a post is `addressed` when it @-mentions one of our accounts (the text carries
every @-mention, a reply's leading ones too; `entities.mentions` when asked for) or
replies to one of them (`in_reply_to_user_id`, an id in brand.toml or a user in
`includes.users` with one of our usernames).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

import requests

from socialcare.errors import ConfigError, SourcePayloadError, SourceRateLimited
from socialcare.models import Mention
from socialcare.safejson import response_json
from socialcare.sources.auth import credential
from socialcare.sources.base import (
    check_response,
    dict_or_empty,
    epoch_time,
    lang_hint,
    number_key,
    parse_items,
    parse_time,
    retry_after_seconds,
    send,
    str_or_none,
    time_key,
)
from socialcare.sources.context import SourceContext, brand_terms, quoted
from socialcare.sources.placement import any_own, mentions_handle
from socialcare.sources.sweep import ItemKey, RawPage, SweepSource, SweepState

NAME = "x"
SEARCH_PATH = "/2/tweets/search/recent"
TWEET_FIELDS = "created_at,lang,conversation_id,referenced_tweets,author_id,in_reply_to_user_id"
USER_FIELDS = "username,name,location"
MAX_QUERY_CHARS = 512  # recent search on self-serve access
SEARCH_WINDOW = timedelta(days=7) - timedelta(minutes=5)  # recent search reaches back 7 days
TWITTER_EPOCH_MS = 1288834974657
USAGE_CAPPED = "usage-capped"


def tweet_time(tweet_id: str) -> datetime:
    """When a tweet was made, from its snowflake id (used when created_at was not asked)."""
    return epoch_time((int(tweet_id) >> 22) + TWITTER_EPOCH_MS, per_second=1000)


def _read(body: Any) -> tuple[list[Any], dict[str, dict[str, Any]], dict[str, Any]]:
    """(tweets, users by id, meta) of a search page; anything else is a payload error."""
    if not isinstance(body, dict):
        raise SourcePayloadError(NAME, f"page is a {type(body).__name__}, not an object")
    if "data" not in body and "title" in body and ("type" in body or "status" in body):
        # An RFC 7807 problem (401, 400 invalid-request, 429...), not a page of posts.
        raise SourcePayloadError(NAME, f"an error, not a page: {str(body.get('title'))[:80]}")
    tweets = body.get("data", [])  # an empty result has no "data" at all
    if not isinstance(tweets, list):
        raise SourcePayloadError(NAME, "'data' is not a list of posts")
    users = dict_or_empty(body.get("includes")).get("users", [])
    by_id = (
        {str(u.get("id")): u for u in users if isinstance(u, dict)}
        if isinstance(users, list)
        else {}
    )
    return tweets, by_id, dict_or_empty(body.get("meta"))


def _addressed(
    tweet: dict[str, Any], text: str, users: Mapping[str, dict[str, Any]], own: Collection[str]
) -> bool:
    """@-mentions one of our accounts, or replies to one (by id, or by the replied-to user's
    username when the page includes that user)."""
    replied_to = str_or_none(tweet.get("in_reply_to_user_id")) or ""
    mentioned = dict_or_empty(tweet.get("entities")).get("mentions")
    names = (
        [dict_or_empty(m).get("username") for m in mentioned] if isinstance(mentioned, list) else []
    )
    names += [replied_to, users.get(replied_to, {}).get("username")]
    return any_own(names, own) or mentions_handle(text, own)


def _parser(users: Mapping[str, dict[str, Any]], own: Collection[str]) -> Callable[[Any], Mention]:
    def parse(tweet: Any) -> Mention:
        if not isinstance(tweet, dict):
            raise TypeError("post item is not an object")
        tweet_id = str_or_none(tweet.get("id"))
        if not tweet_id or not tweet_id.isdigit():
            raise ValueError("post item has no numeric id")
        author_id = str_or_none(tweet.get("author_id"))
        user = users.get(author_id or "", {})  # no expansion, or the author is hidden: null
        username = str_or_none(user.get("username"))
        refs = tweet.get("referenced_tweets") or []
        kinds = (
            {r.get("type") for r in refs if isinstance(r, dict)}
            if isinstance(refs, list)
            else set()
        )
        text = dict_or_empty(tweet.get("note_tweet")).get("text") or tweet.get("text") or ""
        text = text if isinstance(text, str) else ""
        created = tweet.get("created_at")
        return Mention(
            source=NAME,
            post_id=tweet_id,
            url=f"https://x.com/{username or 'i/web'}/status/{tweet_id}",
            author_id=author_id,
            handle=username,
            display_name=str_or_none(user.get("name")),
            location=str_or_none(user.get("location")),
            text=text,
            lang=lang_hint(tweet.get("lang")),
            created_at=parse_time(created) if created else tweet_time(tweet_id),
            is_repost="retweeted" in kinds,
            is_reply="replied_to" in kinds or bool(tweet.get("in_reply_to_user_id")),
            is_own_account=bool(own) and ((username or "").lower() in own or author_id in own),
            addressed=_addressed(tweet, text, users, own),
        )

    return parse


def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    """The mentions in one search response body, and how many post items were unreadable."""
    tweets, users, _ = _read(body)
    return parse_items(NAME, tweets, _parser(users, frozenset(own_accounts)))


def _key(tweet: Any) -> ItemKey:
    tweet_id = str(tweet["id"])
    created = tweet.get("created_at")
    order = number_key(int(tweet_id))
    return ItemKey(order, order, tweet_id, parse_time(created) if created else tweet_time(tweet_id))


def _usage_capped(response: requests.Response) -> bool:
    try:
        problem = response_json(response)
    except ValueError:
        return False
    return isinstance(problem, dict) and str(problem.get("type", "")).endswith(USAGE_CAPPED)


def brand_query(ctx: SourceContext) -> str:
    """`("Lynet Bredbånd" OR Lynet OR @lynetbredbaand ...) -is:retweet -from:lynetbredbaand`."""
    own = sorted(ctx.own_accounts(NAME))
    if ctx.settings.x_query:
        query = ctx.settings.x_query
    else:
        terms = [quoted(t) for t in brand_terms(ctx.brand)] + [f"@{h}" for h in own]
        query = f"({' OR '.join(terms)})" + "".join(f" -from:{h}" for h in own)
    if "-is:retweet" not in query:
        query += " -is:retweet"
    if len(query) > MAX_QUERY_CHARS:
        raise ConfigError(
            f"the X query has {len(query)} characters (max {MAX_QUERY_CHARS}): set XQuery"
        )
    return query


class XSource(SweepSource):
    name = NAME

    def __init__(
        self,
        session: requests.Session,
        *,
        query: str,
        bearer_token: Callable[[], str],
        api_url: str = "https://api.x.com",
        own_accounts: Collection[str] = (),
        lookback: timedelta = timedelta(hours=72),
        clock: Callable[[], datetime] | None = None,
        page_size: int = 100,
    ) -> None:
        super().__init__(min(lookback, SEARCH_WINDOW), clock)
        self.session = session
        self.query = query
        self.bearer_token = bearer_token
        self.url = api_url.rstrip("/") + SEARCH_PATH
        self.own = frozenset(own_accounts)
        self.page_size = page_size

    def request(self, state: SweepState) -> RawPage:
        for _ in range(2):
            params: dict[str, Any] = {
                "query": self.query,
                "max_results": self.page_size,
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id",
                "user.fields": USER_FIELDS,
            }
            if state.mark:
                params["since_id"] = str(int(state.mark.key))
            elif state.floor:
                params["start_time"] = state.floor[:19] + "Z"  # whole seconds, rounded down
            if state.page:
                params["next_token"] = state.page
            headers = {"Authorization": f"Bearer {self.bearer_token()}"}
            response = send(self.session, NAME, "GET", self.url, params=params, headers=headers)
            if response.status_code == 429 and _usage_capped(response):
                wait = retry_after_seconds(response.headers)
                raise SourceRateLimited(NAME, wait, kind="usage_capped")
            if response.status_code == 400 and state.mark and "since_id" in response.text:
                # The mark fell out of the 7-day window (the source was off for a week):
                # start a fresh sweep from the lookback floor instead of failing forever.
                state.mark, state.page = None, None
                state.floor = time_key(self.clock() - self.lookback)
                continue
            body = check_response(NAME, response)
            self.budget.note(response.headers)
            tweets, users, meta = _read(body)
            return RawPage(
                tweets, _parser(users, self.own), _key, str_or_none(meta.get("next_token"))
            )
        raise SourcePayloadError(NAME, "since_id refused twice")


def build(ctx: SourceContext) -> XSource:
    secret = ctx.secret(NAME, ctx.settings.x_secret, "X_SECRET")
    return XSource(
        ctx.session,
        query=brand_query(ctx),
        bearer_token=lambda: credential(NAME, secret(), "bearer_token"),
        api_url=ctx.settings.x_api_url,
        own_accounts=ctx.own_accounts(NAME),
        lookback=ctx.lookback,
        clock=ctx.clock,
    )
