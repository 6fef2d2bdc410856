"""Meta's Graph API, shared by the `facebook` and `instagram` sources and the webhook.

- `GraphApi`: GET with the Page token (as a Bearer header, so it never sits in a URL) and
  `appsecret_proof`; Graph errors become typed errors; throttling is read from the error
  codes (4, 17, 32, 613, 80001...) and from the usage headers (`X-App-Usage`,
  `X-Business-Use-Case-Usage`), because Meta rarely answers 429.
- `EdgeSweep`: a newest-first list edge (`/{page-id}/tagged`, `/{ig-user-id}/tags`...)
  read as a sweep (sweep.py), paged with Graph's cursors or its `paging.next` URL.
- `CommentsEdge`: comments on the account's recent posts or media, read through the
  post list with the comments nested (one request per page of posts).
- `Rotation`: one source over several edges, read one after the other; its cursor says
  which edge is being read and holds each edge's own cursor.
- `WebhookEvent`: what one change of a webhook notification asks for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from socialcare import safejson
from socialcare.errors import (
    ConfigError,
    SourceAuthError,
    SourcePayloadError,
    SourceRateLimited,
    SourceUnavailable,
)
from socialcare.models import Mention
from socialcare.observability import logger
from socialcare.sources.auth import credential
from socialcare.sources.base import (
    ITEM_ERRORS,
    RateBudget,
    check_response,
    dict_or_empty,
    epoch_time,
    parse_items,
    parse_time,
    retry_after_seconds,
    send,
    str_or_none,
    time_key,
)
from socialcare.sources.ports import Page, Source
from socialcare.sources.sweep import ItemKey, RawPage, SweepSource, SweepState, digest

if TYPE_CHECKING:
    import requests

    from socialcare.sources.context import SourceContext

GRAPH_URL = "https://graph.facebook.com/v25.0"
# Graph error codes (developers.facebook.com/docs/graph-api/guides/error-handling and
# .../overview/rate-limiting): throttling, refused credentials, temporary failures.
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
AUTH_CODES = frozenset({10, 102, 190, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
USAGE_LIMIT = 95.0  # percent of a usage budget at which we stop before Meta does
SECRET_KEYS = ("page_access_token", "access_token")


# ------------------------------------------------------------------ errors and usage
def graph_error(body: Any) -> dict[str, Any] | None:
    """The `error` object of a Graph error envelope, else None."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return dict(body["error"])
    return None


def graph_object(source: str, body: Any) -> dict[str, Any]:
    """A Graph answer or webhook notification as an object; an error body is no page."""
    if not isinstance(body, dict):
        raise SourcePayloadError(source, f"page is a {type(body).__name__}, not an object")
    if (error := graph_error(body)) is not None:
        raise SourcePayloadError(source, f"an error, not a page: {describe(error)}")
    return body


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # 1e400 reads as infinity
        return None


def describe(error: Mapping[str, Any]) -> str:
    """Code, subcode and type only: Graph messages can quote ids and names."""
    code, sub = _int(error.get("code")), _int(error.get("error_subcode"))
    kind = str(error.get("type") or "GraphError")[:40]
    return f"Graph error {code}{f'/{sub}' if sub else ''} ({kind})"


def _json_header(value: str | None) -> Any:
    if not value:
        return None
    try:
        return safejson.loads(value)
    except ValueError:
        return None


def usage(headers: Mapping[str, str]) -> tuple[float, float | None]:
    """The highest share of a Graph usage budget spent (percent) and, when Meta says so,
    the seconds until access returns.

    `X-App-Usage: {"call_count": 28, "total_time": 25, "total_cputime": 25}` (app and user
    tokens); `X-Business-Use-Case-Usage: {"<id>": [{"type": "pages", "call_count": ...,
    "estimated_time_to_regain_access": <minutes>}]}` (Page and Instagram tokens).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    buckets: list[Mapping[str, Any]] = []
    app = _json_header(lowered.get("x-app-usage"))
    if isinstance(app, dict):
        buckets.append(app)
    buc = _json_header(lowered.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            if isinstance(entries, list):
                buckets += [e for e in entries if isinstance(e, dict)]
    peak, regain = 0.0, None
    for bucket in buckets:
        for name in ("call_count", "total_time", "total_cputime"):
            value = bucket.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                peak = max(peak, float(value))
        minutes = bucket.get("estimated_time_to_regain_access")
        if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
            regain = max(regain or 0.0, float(minutes) * 60)
    return peak, regain


def check_graph(source: str, response: requests.Response) -> Any:
    """The JSON body of a Graph answer, or the typed error it stands for."""
    try:
        body = safejson.response_json(response)
    except ValueError:
        body = None
    error = graph_error(body)
    if error is None:
        return check_response(source, response)  # 429, 401/403, 5xx, HTML pages...
    code = _int(error.get("code"))
    what = f"{describe(error)}, HTTP {response.status_code}"
    if code in THROTTLE_CODES:
        wait = usage(response.headers)[1] or retry_after_seconds(response.headers)
        raise SourceRateLimited(source, wait, kind="rate_limit")
    if code in AUTH_CODES:
        raise SourceAuthError(source, f"credentials refused: {what}")
    if code in TRANSIENT_CODES or response.status_code >= 500:
        raise SourceUnavailable(source, what)
    raise SourcePayloadError(source, what)


class GraphBudget(RateBudget):
    """Stop before the request Meta would refuse: a page whose usage headers say a budget
    is nearly spent is kept (and queued); the next request raises SourceRateLimited."""

    def note(self, headers: Mapping[str, str]) -> None:
        super().note(headers)
        peak, regain = usage(headers)
        if peak >= USAGE_LIMIT:
            self._stop = SourceRateLimited(self.source, regain, kind="rate_limit")


def appsecret_proof(app_secret: str, token: str) -> str:
    """HMAC-SHA256 of the token with the app secret: Meta then refuses a stolen token
    used without the secret (and Page Public Content Access requires it)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def connect(ctx: SourceContext, source: str, account: str, setting: str) -> GraphApi:
    """The Graph client of a polling source; `account` (the Page or IG account id, from
    `setting`) must be configured."""
    if not account:
        raise ConfigError(f"the {source} source needs {setting} (the account to read)")
    secret = ctx.secret(source, ctx.settings.meta_secret, "META_SECRET")
    return GraphApi(ctx.session, source, ctx.settings.meta_graph_url, secret)


class GraphApi:
    """GETs against graph.facebook.com/<version> for one source, with the Meta secret
    (`{"app_secret", "verify_token", "page_access_token"}`) read when first needed.

    Make one per run or per webhook delivery: its budget remembers a throttle.
    """

    def __init__(
        self,
        session: requests.Session,
        source: str,
        base_url: str,
        secret: Callable[[], Mapping[str, Any]],
        proof: bool = True,  # appsecret_proof: Meta's Graph; Threads' API documents none
    ) -> None:
        self.session = session
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.proof = proof
        self.budget = GraphBudget(source)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        self.budget.check()
        secret = self.secret()
        token = credential(self.source, secret, *SECRET_KEYS)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        app_secret = secret.get("app_secret")
        if self.proof and isinstance(app_secret, str) and app_secret.strip():
            query["appsecret_proof"] = appsecret_proof(app_secret.strip(), token)
        url = f"{self.base_url}/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {token}"}
        response = send(self.session, self.source, "GET", url, params=query, headers=headers)
        body = check_graph(self.source, response)
        self.budget.note(response.headers)
        return body


# ------------------------------------------------------------------ pages of items
def list_items(source: str, body: Any) -> list[Any]:
    """The `data` list of a Graph list answer; anything else is a payload error."""
    if not isinstance(body, dict):
        raise SourcePayloadError(source, f"page is a {type(body).__name__}, not an object")
    if (error := graph_error(body)) is not None:
        raise SourcePayloadError(source, f"an error, not a page: {describe(error)}")
    data = body.get("data")
    if not isinstance(data, list):
        raise SourcePayloadError(source, "'data' is not a list")
    return data


def next_page(body: Any) -> str | None:
    """The query of the next page (JSON), from `paging.cursors.after` or `paging.next`.

    Graph gives `paging.next` only when there is a next page; cursor-paged edges carry
    `cursors.after`, time-paged ones (feeds) `until`/`__paging_token` in the URL. The
    token is dropped: cursors are stored, and tokens never are.
    """
    paging = dict_or_empty(body.get("paging")) if isinstance(body, dict) else {}
    link = paging.get("next")
    if not isinstance(link, str) or not link:
        return None
    after = dict_or_empty(paging.get("cursors")).get("after")
    if isinstance(after, str) and after:
        return json.dumps({"after": after})
    query = parse_qs(urlparse(link).query, keep_blank_values=True)
    params = {k: v[-1] for k, v in query.items() if k not in ("access_token", "appsecret_proof")}
    return json.dumps(params, sort_keys=True)


def _page_params(page: str | None) -> dict[str, Any]:
    if not page:
        return {}
    try:
        params = json.loads(page)
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def epoch(key: str) -> int:
    """Whole seconds (rounded down) of a time_key, as Graph's `since` wants them."""
    return int(parse_time(key).timestamp())


# ------------------------------------------------------------------ polling
class EdgeSweep(SweepSource):
    """A newest-first Graph list edge read as a sweep.

    `order` names the item's time field the edge sorts by (created_time, tagged_time,
    timestamp). Time-paged edges also get `since`, so Graph sends only what is new; the
    sweep filters either way.
    """

    def __init__(
        self,
        name: str,
        api: GraphApi,
        path: str,
        fields: str,
        parse: Callable[[Any], Mention],
        *,
        order: Sequence[str],
        time_paged: bool,
        lookback: timedelta,
        params: Mapping[str, Any] | None = None,  # fixed query parameters (a search's q)
        clock: Callable[[], datetime] | None = None,
        page_size: int = 50,
    ) -> None:
        self.name = name
        super().__init__(lookback, clock)
        self.api = api
        self.path = path
        self.fields = fields
        self.parse = parse
        self.order = tuple(order)
        self.time_paged = time_paged
        self.page_size = page_size
        self.params = dict(params or {})

    def key(self, item: Any) -> ItemKey:
        stamp = next(item[f] for f in self.order if item.get(f))
        at = parse_time(stamp)
        order = time_key(at)
        return ItemKey(order, order, str(self.parse(item).post_id), at)

    def request(self, state: SweepState) -> RawPage:
        params: dict[str, Any] = {"fields": self.fields, "limit": self.page_size, **self.params}
        bound = state.mark.key if state.mark else state.floor
        if self.time_paged and bound:
            params["since"] = epoch(bound)
        params.update(_page_params(state.page))
        body = self.api.get(self.path, params)
        return RawPage(list_items(self.name, body), self.parse, self.key, next_page(body))


MAX_SEEN = 200  # digests of comments kept across sweeps (those at the boundary)
MAX_NESTED_PAGES = 4  # further pages of one post's comments read per sweep
CLOCK_SKEW = timedelta(minutes=2)  # Meta's clock and ours


@dataclass
class CommentsState:
    since: str | None = None  # comments before this were read by an earlier sweep
    seen: list[str] = field(default_factory=list)  # digests read at/after `since`
    page: str | None = None  # next page of posts in this sweep (JSON query)
    start: str | None = None  # this sweep's start, less the skew: the next `since`
    fresh: list[str] = field(default_factory=list)  # digests read at/after `start`

    def dumps(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v}
        return json.dumps({"v": 1, **data}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def loads(cls, source: str, cursor: str | None) -> CommentsState:
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
            return cls(
                since=data.get("since"),
                seen=list(data.get("seen", [])),
                page=data.get("page"),
                start=data.get("start"),
                fresh=list(data.get("fresh", [])),
            )
        except (ValueError, TypeError, AttributeError):
            logger.warning("unreadable cursor, starting over", extra={"source": source})
            return cls()


class CommentsEdge:
    """Comments on the account's own posts (or media) from the last `posts_window`.

    Graph has no list of "new comments": a sweep reads the recent posts with their
    comments nested (newest first where Graph allows it) and hands out the comments made
    since the previous sweep began. Comments made during a sweep are read by the next one;
    the digests of those already handed out keep them from being handed out twice.
    """

    def __init__(
        self,
        name: str,
        api: GraphApi,
        path: str,
        *,
        post_fields: str,
        comment_time: str,
        comment_fields: str,
        parse: Callable[[Any], Mention],
        nested: str = "limit(50)",
        follow: Mapping[str, str] | None = None,
        lookback: timedelta,
        posts_window: timedelta = timedelta(days=14),
        clock: Callable[[], datetime] | None = None,
        page_size: int = 25,
    ) -> None:
        self.name = name
        self.api = api
        self.path = path
        self.post_fields = post_fields
        self.comment_time = comment_time
        self.comment_fields = comment_fields
        # Graph field expansion: the post list with each post's comments inside it.
        self.comments_field = f"comments.{nested}{{{comment_fields}}}"
        self.follow = dict(follow or {})  # the same modifiers as query parameters
        self.parse = parse
        self.lookback = lookback
        self.posts_window = posts_window
        self.clock = clock or (lambda: datetime.now(UTC))
        self.page_size = page_size

    def _time(self, comment: Any) -> str | None:
        try:
            return time_key(parse_time(comment[self.comment_time]))
        except ITEM_ERRORS:
            return None

    def _comments(self, post: Any, since: str) -> list[Any]:
        """The post's nested comments, following their pages while they are recent.

        Each comment gets `_post` (the post's id and permalink): Instagram comments have no
        link of their own.
        """
        post = dict_or_empty(post)
        nested = dict_or_empty(post.get("comments"))
        found: list[Any] = []
        post_id = str_or_none(post.get("id"))
        parent = {"id": post_id, "permalink": post.get("permalink") or post.get("permalink_url")}
        for _ in range(MAX_NESTED_PAGES + 1):
            batch = nested.get("data")
            if not isinstance(batch, list):
                break
            found += [{**c, "_post": parent} if isinstance(c, dict) else c for c in batch]
            recent = any((self._time(c) or since) >= since for c in batch)
            following = next_page(nested)
            if not (recent and following and post_id):
                break
            params = {"fields": self.comment_fields, "limit": 50, **self.follow}
            params.update(_page_params(following))
            nested = dict_or_empty(self.api.get(f"{post_id}/comments", params))
        return found

    def fetch_page(self, cursor: str | None) -> Page:
        state = CommentsState.loads(self.name, cursor)
        now = self.clock()
        if state.page is None:  # a new sweep
            state.start = time_key(now - CLOCK_SKEW)
            state.fresh = []
        since = state.since or time_key(now - self.lookback)
        params: dict[str, Any] = {
            "fields": f"id,{self.post_fields},{self.comments_field}",
            "limit": self.page_size,
            "since": int((now - self.posts_window).timestamp()),
        }
        params.update(_page_params(state.page))
        body = self.api.get(self.path, params)
        posts = list_items(self.name, body)
        kept: list[Any] = []
        seen = set(state.seen)
        for post in posts:
            for comment in self._comments(post, since):
                stamp = self._time(comment)
                if stamp is None:
                    kept.append(comment)  # counted as unreadable by parse_items
                    continue
                try:
                    mark = digest(self.parse(comment).post_id)
                except ITEM_ERRORS:
                    kept.append(comment)
                    continue
                if stamp < since or mark in seen:
                    continue
                kept.append(comment)
                if state.start and stamp >= state.start and len(state.fresh) < MAX_SEEN:
                    state.fresh.append(mark)
        mentions, invalid = parse_items(self.name, kept, self.parse)
        following = next_page(body)
        if following and posts:
            state.page = following
            return Page(mentions, state.dumps(), has_more=True, invalid=invalid)
        done = CommentsState(since=state.start, seen=state.fresh)
        return Page(mentions, done.dumps(), has_more=False, invalid=invalid)


class Rotation:
    """One platform source over several edges, read in turn within a run.

    Cursor: `{"edge": <edge being read>, "cursors": {<edge>: <its cursor>}}`. A run that
    stops (rate limit, page limit) continues with the same edge next time; a run ends
    after the last edge's sweep completes.
    """

    def __init__(self, name: str, edges: Sequence[tuple[str, Source]]) -> None:
        self.name = name
        self.edges = dict(edges)
        self.order = [n for n, _ in edges]

    def fetch_page(self, cursor: str | None) -> Page:
        state: dict[str, Any] = {}
        if cursor:
            try:
                loaded = json.loads(cursor)
                state = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                logger.warning("unreadable cursor, starting over", extra={"source": self.name})
        edge = state.get("edge")
        current = edge if isinstance(edge, str) and edge in self.edges else self.order[0]
        stored = state.get("cursors")
        cursors = {
            k: v for k, v in (stored.items() if isinstance(stored, dict) else []) if k in self.edges
        }
        page = self.edges[current].fetch_page(cursors.get(current))
        if page.cursor:
            cursors[current] = page.cursor
        following, more = current, page.has_more
        if not page.has_more:
            index = self.order.index(current)
            more = index + 1 < len(self.order)
            following = self.order[index + 1] if more else self.order[0]
        out = json.dumps({"v": 1, "edge": following, "cursors": cursors}, sort_keys=True)
        return Page(page.mentions, out, has_more=more, invalid=page.invalid)


# ------------------------------------------------------------------ webhooks
@dataclass(frozen=True)
class WebhookEvent:
    """One change of a webhook notification.

    `mention` is what the notification itself says (its text may be missing: Page
    `mention` and Instagram `mentions` changes carry ids only); `fetch` completes it from
    the Graph API; `ignored` says why a change is acknowledged and dropped.
    """

    source: str
    field: str
    mention: Mention | None = None
    fetch: Callable[[Any], Mention] | None = None  # given the source's reader (GraphApi...)
    ignored: str | None = None


def webhook_entries(source: str, body: Any) -> list[Any]:
    entries = body.get("entry") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise SourcePayloadError(source, "webhook notification has no 'entry' list")
    return entries


def event_mentions(events: list[WebhookEvent]) -> tuple[list[Mention], int]:
    """What `parse` shows of a notification: the mentions it carries, and how many
    changes were unreadable."""
    mentions = [e.mention for e in events if e.mention is not None]
    return mentions, sum(1 for e in events if e.ignored == "unreadable")


def changes(entry: Any) -> list[tuple[str, dict[str, Any]]]:
    """(field, value) of an entry: `changes[]` (Facebook Login) or a flat `field`/`value`
    (Instagram Login); anything else (e.g. `messaging`) gives ("other", {})."""
    if not isinstance(entry, dict):
        return [("other", {})]
    found: list[tuple[str, dict[str, Any]]] = []
    items = entry.get("changes")
    if isinstance(items, list):
        for change in items:
            change = dict_or_empty(change)
            found.append((str(change.get("field") or "other"), dict_or_empty(change.get("value"))))
    elif "field" in entry:
        found.append((str(entry.get("field") or "other"), dict_or_empty(entry.get("value"))))
    return found or [("other", {})]


def entry_time(entry: Any) -> datetime | None:
    """When Meta sent the change (entry.time: epoch seconds, sometimes milliseconds)."""
    value = entry.get("time") if isinstance(entry, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return epoch_time(value, per_second=1000 if value > 10**11 else 1)
        except ValueError:  # 1e308: no time; the change's own created_time may do
            return None
    return None
