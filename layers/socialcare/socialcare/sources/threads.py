"""Threads (Meta): webhooks for `mentions` and `replies` (the main path) and polling of
`/{user-id}/mentions` and, where the app has `threads_keyword_search`, `keyword_search`
(the backstop), through the Threads Graph API (graph.threads.net).

Webhooks: a POST to ReceiveWebhook's `/threads` route, signed like Meta's
(`X-Hub-Signature-256`: HMAC-SHA256 of the raw body under the Threads app's secret), GET
the `hub.challenge` handshake with its verify token. The body is not Graph's
`{object, entry}`: it is `{app_id, topic, target_id, time, values: {value, field}}`. Each
`mentions` or `replies` value is a thin notification: the post is read back by id with the
account's user token, so a forged one injects nothing; `publish` and `delete` are ignored.

Placement: a mention of our account, and a reply in a thread our account started (the
`replies` field, or a post whose `root_post.owner_id` is ours), is `addressed`. Threads
gives a `username` (the handle) and no display name or language.

Keyword search: 2,200 queries per user per rolling day; the source spends at most the
share of that budget the day has reached so far (SpreadBudget), so a busy morning cannot
starve the evening.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from socialcare.errors import ConfigError, SocialcareError, SourcePayloadError
from socialcare.models import Mention
from socialcare.sources.base import ITEM_ERRORS, dict_or_empty, parse_items, parse_time, str_or_none
from socialcare.sources.context import SourceContext, brand_terms
from socialcare.sources.graph import (
    EdgeSweep,
    GraphApi,
    Rotation,
    WebhookEvent,
    event_mentions,
    graph_object,
    list_items,
)
from socialcare.sources.placement import mentions_handle
from socialcare.sources.ports import Page, Source
from socialcare.sources.webhooks import Reply, handshake, signature_ok

if TYPE_CHECKING:
    from socialcare.sources.push import PushDeps, PushRequest

NAME = "threads"
FIELDS = "id,text,username,permalink,timestamp,media_type,is_reply,root_post,replied_to"
READ_FIELDS = frozenset({"mentions", "replies"})
DAILY_SEARCHES = 2200
SEARCH_SHARE = 0.9  # of the daily budget: other tools of the same user search too


def _parser(own: Collection[str], *, addressed: bool = False) -> Callable[[Any], Mention]:
    def parse(item: Any) -> Mention:
        if not isinstance(item, dict):
            raise TypeError("post item is not an object")
        post_id = str_or_none(item.get("id"))
        if not post_id or not post_id.isdigit():
            raise ValueError("post item has no numeric id")
        text = item.get("text")
        username = str_or_none(item.get("username"))
        root = dict_or_empty(item.get("root_post"))
        permalink = item.get("permalink")
        link = (
            permalink if isinstance(permalink, str) and permalink.startswith("https://") else None
        )
        reply = item.get("is_reply") is True or bool(dict_or_empty(item.get("replied_to")))
        in_our_thread = reply and str_or_none(root.get("owner_id")) in own
        return Mention(
            source=NAME,
            post_id=post_id,
            url=link or f"https://www.threads.net/post/{post_id}",
            author_id=username,
            handle=username,
            text=text if isinstance(text, str) else "",
            created_at=parse_time(item["timestamp"]),
            is_reply=reply,
            is_own_account=bool(own) and (username or "").lower() in own,
            addressed=addressed
            or in_our_thread
            or mentions_handle(text if isinstance(text, str) else "", own),
        )

    return parse


def read_post(api: GraphApi, thin: Mention, own: Collection[str]) -> Mention:
    """A notified post, read back by id: what Threads says, never what the body said."""
    body = graph_object(NAME, api.get(thin.post_id, {"fields": FIELDS}))
    if str_or_none(body.get("id")) != thin.post_id:
        raise SourcePayloadError(NAME, "the post read back is another post")
    return _parser(own, addressed=thin.addressed)(body)


# ------------------------------------------------------------------ webhooks
def push_handshake(request: PushRequest, deps: PushDeps) -> Reply:
    return handshake(request.query, lambda: deps.secret(NAME))


def push_check(request: PushRequest, deps: PushDeps) -> Reply | None:
    from socialcare.sources.push import refused
    from socialcare.sources.webhooks import not_configured

    try:
        app_secret = deps.secret(NAME).get("app_secret")
    except (SocialcareError, AttributeError):
        return Reply(500, "try again")
    if not isinstance(app_secret, str) or not app_secret.strip():
        return not_configured("app_secret")
    header = request.headers.get("x-hub-signature-256")
    if signature_ok(app_secret.strip(), request.raw, header):
        return None
    return refused("signature" if header else "unsigned")


def _event(values: Any, own: Collection[str]) -> WebhookEvent:
    values = dict_or_empty(values)
    field = str(values.get("field") or "other")
    if field not in READ_FIELDS:
        return WebhookEvent(NAME, field, ignored="field")  # publish (ours), delete...
    try:
        thin = _parser(own, addressed=True)(values.get("value"))
    except ITEM_ERRORS:
        return WebhookEvent(NAME, field, ignored="unreadable")
    return WebhookEvent(NAME, field, thin, fetch=lambda api: read_post(api, thin, own))


def push_events(body: Any, own: Collection[str] = ()) -> list[WebhookEvent]:
    """The changes of a Threads notification (`values` is one object, or a list of them)."""
    if not isinstance(body, dict) or "values" not in body:
        raise SourcePayloadError(NAME, "notification has no 'values'")
    values = body["values"]
    own = frozenset(own)
    return [_event(v, own) for v in (values if isinstance(values, list) else [values])]


def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    """A list page (`/mentions`, `keyword_search`), one post, or a webhook body."""
    own = frozenset(a.lower() for a in own_accounts)
    body = graph_object(NAME, body)
    if "values" in body:
        return event_mentions(push_events(body, own))
    if "data" in body:
        return parse_items(NAME, list_items(NAME, body), _parser(own))
    return parse_items(NAME, [body], _parser(own))


# ------------------------------------------------------------------ polling
class SpreadBudget:
    """A search spread over the day: by a given time of day it has spent at most that
    share of the daily budget (one query per page). Its cursor keeps the day's count."""

    def __init__(self, name: str, inner: Source, daily: int, clock: Callable[[], datetime]) -> None:
        self.name, self.inner, self.daily, self.clock = name, inner, daily, clock

    def fetch_page(self, cursor: str | None) -> Page:
        try:
            state = json.loads(cursor) if cursor else {}
            state = state if isinstance(state, dict) else {}
        except ValueError:
            state = {}
        now = self.clock().astimezone(UTC)
        day = now.date().isoformat()
        used = int(state.get("used") or 0) if state.get("day") == day else 0
        elapsed = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
        if used >= 1 + int(self.daily * elapsed / 86_400):
            return Page([], cursor, has_more=False, notes=["search budget spread over the day"])
        page = self.inner.fetch_page(state.get("inner"))
        out = {"day": day, "used": used + 1, "inner": page.cursor}
        return Page(page.mentions, json.dumps(out), page.has_more, page.invalid, page.notes)


def reader(ctx: SourceContext) -> GraphApi:
    """The Threads Graph API with the account's user token: Meta's envelope, errors and
    usage headers (graph.py), without Meta's appsecret_proof."""
    secret = ctx.secret(NAME, ctx.settings.threads_secret, "THREADS_SECRET")
    return GraphApi(ctx.session, NAME, ctx.settings.threads_api_url, secret, proof=False)


def build(ctx: SourceContext) -> Rotation:
    user = ctx.settings.threads_user_id.strip()
    if not user:
        raise ConfigError("the threads source needs THREADS_USER_ID (the account to read)")
    api = reader(ctx)
    own = ctx.own_accounts(NAME) | {user}
    common: dict[str, Any] = {"lookback": ctx.lookback, "clock": ctx.clock}
    edges: list[tuple[str, Source]] = [
        (
            "mentions",
            EdgeSweep(
                NAME,
                api,
                f"{user}/mentions",
                FIELDS,
                _parser(own, addressed=True),
                order=("timestamp",),
                time_paged=True,
                **common,
            ),
        )
    ]
    if ctx.settings.threads_keyword_search:
        query = " ".join(brand_terms(ctx.brand)[:1]) or "lynet"
        search = EdgeSweep(
            NAME,
            api,
            "keyword_search",
            FIELDS,
            _parser(own),
            order=("timestamp",),
            time_paged=True,
            params={"q": query, "search_type": "RECENT"},
            **common,
        )
        budget = int(DAILY_SEARCHES * SEARCH_SHARE)
        edges.append(("keyword_search", SpreadBudget(NAME, search, budget, ctx.clock)))
    return Rotation(NAME, edges)
