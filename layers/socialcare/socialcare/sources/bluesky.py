"""Bluesky: `app.bsky.feed.searchPosts` (sort=latest) through the account's PDS.

Unauthenticated search is refused (403) since 2025, so the source logs in with an app
password (`com.atproto.server.createSession`), keeps the session per container and
renews it with `refreshSession`; logins are limited (30 per 5 min, 300 a day).

Cursor: a sweep (sweep.py). Results are ordered by `sortAt` (the earlier of createdAt and
indexedAt), but a post can be indexed minutes after it was written, below posts already
read. So the mark is the newest `indexedAt` (a post indexed at or before it was read), and
each sweep reads SLACK further back than the mark (`since`), dropping what it already saw.
Inside a sweep the pages follow Bluesky's `cursor`.

Placement: a post is `addressed` when it @-mentions our account (a mention facet with our
DID, or "@<our handle>" in the text) or replies in a thread our account started or to a
post of ours (the reply's root or parent `at://<did>/...` URI). Bluesky names accounts by
DID in both, so list the account's DID beside its handle in brand.toml.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any, Unpack

import requests

from socialcare import safejson
from socialcare.errors import SourceAuthError, SourcePayloadError
from socialcare.models import Mention
from socialcare.sources.auth import SignedInSweep, SweepOptions, credential
from socialcare.sources.base import (
    check_response,
    dict_or_empty,
    lang_hint,
    parse_items,
    parse_time,
    send,
    str_or_none,
    time_key,
)
from socialcare.sources.context import SourceContext, brand_terms
from socialcare.sources.placement import any_own, mentions_handle
from socialcare.sources.sweep import ItemKey, Mark, RawPage, SweepState

NAME = "bluesky"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
SLACK = timedelta(minutes=15)  # how late a post may be indexed and still be read
EXPIRED = {"ExpiredToken", "InvalidToken"}


def _read(body: Any) -> tuple[list[Any], str | None]:
    if not isinstance(body, dict):
        raise SourcePayloadError(NAME, f"page is a {type(body).__name__}, not an object")
    posts = body.get("posts")
    if not isinstance(posts, list):
        raise SourcePayloadError(NAME, "page has no 'posts' list")
    return posts, str_or_none(body.get("cursor"))


def _web_url(uri: str, author: Mapping[str, Any]) -> str | None:
    """https://bsky.app/profile/<handle or did>/post/<rkey>, from at://<did>/app.bsky.feed.post/<rkey>."""
    prefix, _, rkey = uri.rpartition("/")
    if not uri.startswith("at://") or not prefix.endswith("/app.bsky.feed.post") or not rkey:
        return None
    who = _handle(author) or str_or_none(author.get("did")) or prefix[5:].split("/")[0]
    return f"https://bsky.app/profile/{who}/post/{rkey}"


def _handle(author: Mapping[str, Any]) -> str | None:
    handle = str_or_none(author.get("handle"))
    return None if handle == "handle.invalid" else handle  # unverifiable handle: no handle


MENTION = "app.bsky.richtext.facet#mention"


def _addressed(record: Mapping[str, Any], text: str, own: Collection[str]) -> bool:
    """Mentions our account, or answers in a thread of ours (the root's or parent's author)."""
    reply = dict_or_empty(record.get("reply"))
    accounts = [  # at://<did>/app.bsky.feed.post/<rkey>
        str(dict_or_empty(reply.get(end)).get("uri") or "").removeprefix("at://").split("/")[0]
        for end in ("root", "parent")
    ]
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else []:
        features = dict_or_empty(facet).get("features")
        for feature in features if isinstance(features, list) else []:
            if dict_or_empty(feature).get("$type") == MENTION:
                accounts.append(str(feature.get("did")))
    return any_own(accounts, own) or mentions_handle(text, own)


def _parser(own: Collection[str]) -> Callable[[Any], Mention]:
    def parse(post: Any) -> Mention:
        if not isinstance(post, dict):
            raise TypeError("post item is not an object")
        uri = post["uri"]
        if not isinstance(uri, str):
            raise TypeError("uri is not a string")
        author = dict_or_empty(post.get("author"))
        record = dict_or_empty(post.get("record"))
        langs = record.get("langs")
        handle, did = _handle(author), str_or_none(author.get("did"))
        text = record.get("text")
        text = text if isinstance(text, str) else ""
        return Mention(
            source=NAME,
            post_id=uri,
            url=_web_url(uri, author),
            author_id=did,
            handle=handle,
            display_name=str_or_none(author.get("displayName")),
            text=text,
            lang=lang_hint(langs[0]) if isinstance(langs, list) and langs else None,
            created_at=parse_time(record.get("createdAt") or post["indexedAt"]),
            is_reply=bool(record.get("reply")),  # reposts are never search results
            is_own_account=bool(own) and ((handle or "").lower() in own or did in own),
            addressed=_addressed(record, text, own),
        )

    return parse


def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    posts, _ = _read(body)
    return parse_items(NAME, posts, _parser(frozenset(own_accounts)))


def _key(post: Any) -> ItemKey:
    indexed = parse_time(post["indexedAt"])
    created = dict_or_empty(post.get("record")).get("createdAt")
    sort_at = min(indexed, parse_time(created)) if created else indexed
    return ItemKey(time_key(sort_at), time_key(indexed), str(post["uri"]), sort_at)


def _expiry(jwt: str, default_s: float) -> float:
    """Seconds until a JWT's `exp` (read, not verified: the server verifies it)."""
    try:
        payload = jwt.split(".")[1]
        claims = safejson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) - time.time()
    except (IndexError, ValueError, KeyError, TypeError):
        return default_s


class BlueskySource(SignedInSweep):
    name = NAME

    def __init__(
        self,
        session: requests.Session,
        *,
        query: str,
        credentials: Callable[[], Mapping[str, Any]],
        service_url: str = "https://bsky.social",
        **options: Unpack[SweepOptions],
    ) -> None:
        super().__init__(session, credentials=credentials, **options)
        self.query = query
        self.base = service_url.rstrip("/")
        self._cache_key = f"{NAME}:{self.base}"

    # -- session ---------------------------------------------------------------------
    def _store(self, body: Any) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("accessJwt"), str):
            raise SourceAuthError(NAME, "the session answer has no access token")
        access, refresh = body["accessJwt"], str_or_none(body.get("refreshJwt"))
        self.tokens.put(self._cache_key + ":access", access, _expiry(access, 1800))
        if refresh:
            self.tokens.put(self._cache_key + ":refresh", refresh, _expiry(refresh, 86400))
        return access

    def _login(self) -> str:
        refresh = self.tokens.get(self._cache_key + ":refresh")
        if refresh:
            response = send(
                self.session,
                NAME,
                "POST",
                self.base + REFRESH_SESSION,
                headers={"Authorization": f"Bearer {refresh}"},
            )
            if response.status_code == 200:
                return self._store(check_response(NAME, response))
            self.tokens.drop(self._cache_key + ":refresh")  # expired or revoked: log in anew
        secret = self.credentials()
        login = {
            "identifier": credential(NAME, secret, "identifier", "handle"),
            "password": credential(NAME, secret, "app_password", "password"),
        }
        response = send(self.session, NAME, "POST", self.base + CREATE_SESSION, json=login)
        if response.status_code == 400:  # e.g. AuthFactorTokenRequired: use an app password
            raise SourceAuthError(NAME, "login refused (HTTP 400); use an app password")
        return self._store(check_response(NAME, response))

    def _access(self) -> str:
        return self.tokens.get(self._cache_key + ":access") or self._login()

    # -- search ----------------------------------------------------------------------
    def reached(self, mark: Mark, item: ItemKey) -> bool:
        return item.order < time_key(parse_time(mark.key) - SLACK)

    def request(self, state: SweepState) -> RawPage:
        params: dict[str, Any] = {"q": self.query, "sort": "latest", "limit": self.page_size}
        if state.mark:
            params["since"] = time_key(parse_time(state.mark.key) - SLACK)
        elif state.floor:
            params["since"] = state.floor
        if state.page:
            params["cursor"] = state.page
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._access()}"}
            response = send(
                self.session, NAME, "GET", self.base + SEARCH, params=params, headers=headers
            )
            if attempt == 0 and _expired(response):
                self.tokens.drop(self._cache_key + ":access")
                continue
            break
        body = check_response(NAME, response)
        self.budget.note(response.headers)
        posts, cursor = _read(body)
        return RawPage(posts, _parser(self.own), _key, cursor)


def _expired(response: requests.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code != 400:
        return False
    try:
        return dict_or_empty(safejson.response_json(response)).get("error") in EXPIRED
    except ValueError:
        return False


def brand_query(ctx: SourceContext) -> str:
    """Bluesky's search has no OR: one word catches the most (triage reads the rest)."""
    if ctx.settings.bluesky_query:
        return ctx.settings.bluesky_query
    terms = brand_terms(ctx.brand)
    return next((t for t in terms if t.isalnum()), f'"{ctx.brand.name}"')


def build(ctx: SourceContext) -> BlueskySource:
    return BlueskySource(
        ctx.session,
        query=brand_query(ctx),
        credentials=ctx.secret(NAME, ctx.settings.bluesky_secret, "BLUESKY_SECRET"),
        service_url=ctx.settings.bluesky_service_url,
        own_accounts=ctx.own_accounts(NAME),
        lookback=ctx.lookback,
        clock=ctx.clock,
    )
