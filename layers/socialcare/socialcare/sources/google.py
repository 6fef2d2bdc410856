"""Google Business Profile reviews: Pub/Sub push notifications (the main path) and polling
of each location's reviews (the backstop), through the Business Profile API v4.

Polling: `GET /v4/{location}/reviews?orderBy=updateTime desc` per location (GOOGLE_LOCATIONS),
paged with `nextPageToken`, read as a sweep (sweep.py) on `updateTime`; one location after
the other (graph.Rotation). An edited review comes again, under the same post id (its
resource name): triage decides it `duplicate`.

Push: Google publishes NEW_REVIEW / UPDATED_REVIEW to a Pub/Sub topic whose push
subscription POSTs to ReceiveWebhook's `/google` route with a Google-signed OIDC token
(`Authorization: Bearer`), checked by oidc.py (signature against Google's keys, `iss`,
`aud` = GOOGLE_PUSH_AUDIENCE, `email` = GOOGLE_PUSH_EMAIL) before the body is read. The
message (`message.data`, base64 JSON) names the review; it is read back by name, and only
for one of our locations, so a forged push can inject nothing.

Reviews: `starRating` ONE..FIVE becomes `stars`; `comment` is absent for star-only reviews,
which are skipped (no text to read); Google's machine translation ("(Translated by
Google) ...") is cut off, keeping what the reviewer wrote. No e-mail, place or reviewer id
is published, so the careful name rule, which needs a place or handle beside the name,
never accepts a Google reviewer alone. The one stable key is the review's own id: Google
keeps one review per account and place, and an edit keeps its id. It is offered to the
CRM as the handle (`google:<review id>`, lower case): a customer an agent already linked
to their review is found again when they edit it or the poll reads it. Every review is of
our location: `addressed`.

Credentials (GOOGLE_SECRET): an OAuth client and a profile manager's refresh token with the
`business.manage` scope; the access token is cached per container.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from socialcare import safejson
from socialcare.errors import ConfigError, SourceAuthError, SourcePayloadError
from socialcare.models import Mention
from socialcare.sources.auth import TOKENS, TokenCache, credential
from socialcare.sources.base import (
    ITEM_ERRORS,
    check_response,
    dict_or_empty,
    parse_items,
    parse_time,
    send,
    str_or_none,
    time_key,
)
from socialcare.sources.context import SourceContext, csv
from socialcare.sources.graph import Rotation, WebhookEvent, event_mentions
from socialcare.sources.placement import star_rating
from socialcare.sources.ports import Source
from socialcare.sources.sweep import ItemKey, RawPage, SweepSource, SweepState
from socialcare.sources.webhooks import Reply

if TYPE_CHECKING:
    from socialcare.sources.push import PushDeps, PushRequest

NAME = "google"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
LOCATION = re.compile(r"accounts/\d{1,40}/locations/\d{1,40}")
REVIEW = re.compile(r"(accounts/\d{1,40}/locations/\d{1,40})/reviews/[A-Za-z0-9_-]{1,200}")
READ_TYPES = frozenset({"NEW_REVIEW", "UPDATED_REVIEW"})
TRANSLATED = "(Translated by Google)"
ORIGINAL = "(Original)"


def own_words(comment: str) -> str:
    """The reviewer's own text: Google appends (or, for some, puts first) a translation."""
    if comment.lstrip().startswith(TRANSLATED) and ORIGINAL in comment:
        return comment.split(ORIGINAL, 1)[1].strip()
    return comment.split(TRANSLATED, 1)[0].strip()


def has_text(review: Any) -> bool:
    comment = review.get("comment") if isinstance(review, dict) else None
    return not (isinstance(review, dict) and "name" in review and not comment)


def _parser(own: Collection[str]) -> Callable[[Any], Mention]:
    def parse(review: Any) -> Mention:
        if not isinstance(review, dict):
            raise TypeError("review is not an object")
        name = str_or_none(review.get("name"))
        if not name or not REVIEW.fullmatch(name):
            raise ValueError("review has no resource name")
        comment = review.get("comment")
        if not isinstance(comment, str):
            raise TypeError("review comment is not a string")
        reviewer = dict_or_empty(review.get("reviewer"))
        anonymous = reviewer.get("isAnonymous") is True
        return Mention(
            source=NAME,
            post_id=name,
            handle=name.rsplit("/", 1)[1],  # the review's id: see the module's note
            display_name=None if anonymous else str_or_none(reviewer.get("displayName")),
            text=own_words(comment),
            created_at=parse_time(review.get("createTime") or review["updateTime"]),
            addressed=True,  # a review of our location
            stars=star_rating(STARS.get(str(review.get("starRating")))),
            is_own_account=bool(own) and str(reviewer.get("displayName", "")).lower() in own,
        )

    return parse


def _reviews(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise SourcePayloadError(NAME, f"page is a {type(body).__name__}, not an object")
    reviews = body.get("reviews", [])  # a location without reviews sends none
    if not isinstance(reviews, list):
        raise SourcePayloadError(NAME, "'reviews' is not a list")
    return reviews


def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    """A reviews page, one review, or a Pub/Sub push body (what it names: no text)."""
    own = frozenset(a.lower() for a in own_accounts)
    if isinstance(body, dict) and "message" in body:
        return event_mentions(push_events(body, own))
    if isinstance(body, dict) and "name" in body and "reviews" not in body:
        body = {"reviews": [body]}
    reviews = [r for r in _reviews(body) if has_text(r)]  # star-only: nothing to read
    return parse_items(NAME, reviews, _parser(own))


# ------------------------------------------------------------------ the API
class GoogleApi:
    """The Business Profile API with a profile manager's OAuth token (refreshed, cached)."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        token_url: str,
        secret: Callable[[], Mapping[str, Any]],
        locations: Collection[str],
        tokens: TokenCache = TOKENS,
    ) -> None:
        self.session, self.base, self.token_url = session, base_url.rstrip("/"), token_url
        self.secret, self.locations, self.tokens = secret, frozenset(locations), tokens

    def _token(self) -> str:
        secret = self.secret()
        client = credential(NAME, secret, "client_id")
        key = f"{NAME}:{self.token_url}:{client}"
        if token := self.tokens.get(key):
            return token
        form = {
            "client_id": client,
            "client_secret": credential(NAME, secret, "client_secret"),
            "refresh_token": credential(NAME, secret, "refresh_token"),
            "grant_type": "refresh_token",
        }
        response = send(self.session, NAME, "POST", self.token_url, data=form)
        if response.status_code == 400:  # invalid_grant: the refresh token was revoked
            raise SourceAuthError(NAME, "refresh token refused (HTTP 400)")
        body = dict_or_empty(check_response(NAME, response))
        token = str_or_none(body.get("access_token"))
        if not token:
            raise SourceAuthError(NAME, "the token answer has no access token")
        ttl = body.get("expires_in")
        self.tokens.put(key, token, float(ttl) if isinstance(ttl, int | float) else 3600.0)
        return token

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token()}"}
        url = f"{self.base}/{path}"
        response = send(self.session, NAME, "GET", url, params=params, headers=headers)
        return check_response(NAME, response)

    def review(self, name: str, own: Collection[str] = ()) -> Mention:
        """One review by resource name, if it is of one of our locations."""
        found = REVIEW.fullmatch(name)
        if not found or found.group(1) not in self.locations:
            raise SourcePayloadError(NAME, "not a review of our locations")
        body = self.get(name)
        if not has_text(body):
            raise SourcePayloadError(NAME, "a star-only review: no text")
        return _parser(own)(body)


# ------------------------------------------------------------------ push
def push_check(request: PushRequest, deps: PushDeps) -> Reply | None:
    from socialcare.sources.oidc import TokenRefused, verify
    from socialcare.sources.push import refused
    from socialcare.sources.webhooks import not_configured

    settings = deps.settings
    if not settings.google_push_audience or not settings.google_push_email:
        return not_configured("GooglePushAudience/GooglePushServiceAccount")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return refused("unsigned")
    try:
        verify(
            token.strip(),
            deps.keys.get,
            audience=settings.google_push_audience,
            email=settings.google_push_email,
        )
    except TokenRefused as exc:
        return refused(f"oidc_{exc.reason}")
    return None


def _thin(name: str, at: datetime) -> Mention:
    return Mention(source=NAME, post_id=name, created_at=at, addressed=True)


def push_events(body: Any, own: Collection[str] = ()) -> list[WebhookEvent]:
    """The review a Pub/Sub push names (`message.data`: base64 JSON; Google's key names
    differ between API versions, so each spelling is read)."""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("data"), str):
        raise SourcePayloadError(NAME, "push body has no message data")
    try:
        data = safejson.loads(base64.b64decode(message["data"], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise SourcePayloadError(NAME, "message data is not base64 JSON") from exc
    data = dict_or_empty(data)
    kind = str(data.get("type") or data.get("notificationType") or data.get("notification_type"))
    if kind not in READ_TYPES:
        return [WebhookEvent(NAME, "review", ignored="event")]
    name = next(
        (
            v
            for k in ("reviewName", "review_name", "reviewResourceName")
            if isinstance(v := data.get(k), str)
        ),
        "",
    )
    if not REVIEW.fullmatch(name):
        return [WebhookEvent(NAME, "review", ignored="unreadable")]
    try:
        at = parse_time(message.get("publishTime") or message.get("publish_time"))
    except ITEM_ERRORS:
        at = datetime.now(UTC)
    own = frozenset(own)
    return [WebhookEvent(NAME, "review", _thin(name, at), fetch=lambda api: api.review(name, own))]


# ------------------------------------------------------------------ polling
def _key(review: Any) -> ItemKey:
    updated = parse_time(review.get("updateTime") or review["createTime"])
    return ItemKey(time_key(updated), time_key(updated), str(review["name"]), updated)


class LocationReviews(SweepSource):
    """One location's reviews, most recently updated first."""

    name = NAME

    def __init__(self, api: GoogleApi, location: str, own: Collection[str], **options: Any):
        super().__init__(**options)
        self.api, self.location, self.own = api, location, frozenset(own)

    def request(self, state: SweepState) -> RawPage:
        params = {"pageSize": 50, "orderBy": "updateTime desc", "pageToken": state.page}
        body = self.api.get(f"{self.location}/reviews", params)
        reviews = [r for r in _reviews(body) if has_text(r)]
        following = str_or_none(dict_or_empty(body).get("nextPageToken"))
        return RawPage(reviews, _parser(self.own), _key, following)


def _locations(ctx: SourceContext) -> list[str]:
    found = csv(ctx.settings.google_locations)
    if not found or not all(LOCATION.fullmatch(loc) for loc in found):
        raise ConfigError("the google source needs GOOGLE_LOCATIONS (accounts/<id>/locations/<id>)")
    return found


def reader(ctx: SourceContext) -> GoogleApi:
    secret = ctx.secret(NAME, ctx.settings.google_secret, "GOOGLE_SECRET")
    settings = ctx.settings
    return GoogleApi(
        ctx.session, settings.google_api_url, settings.google_token_url, secret, _locations(ctx)
    )


def build(ctx: SourceContext) -> Rotation:
    api, own = reader(ctx), ctx.own_accounts(NAME)
    edges: list[tuple[str, Source]] = [
        (loc, LocationReviews(api, loc, own, lookback=ctx.lookback, clock=ctx.clock))
        for loc in _locations(ctx)
    ]
    return Rotation(NAME, edges)
