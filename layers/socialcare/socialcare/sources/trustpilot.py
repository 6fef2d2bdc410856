"""Trustpilot: the business unit's service reviews, newest first.

With business-user credentials (API key + secret + a business user's login) the source
reads the private endpoint, `/v1/private/business-units/{id}/reviews`, which adds the
consumer's e-mail (and an order reference, not read): identity can then match on
e-mail, the strongest signal after a linked handle. With an API key alone it reads the public
endpoint (no e-mail). API access is a paid Trustpilot add-on.

Cursor: a sweep (sweep.py) whose mark is the newest review's `createdAt` (and the review
ids at that instant). Pages are numbered (`page=N`), so a review arriving mid-sweep
shifts older ones onto the next page: the sweep's `bottom` drops what it already handed
out. No rate-limit headers are documented; a 429 stops the run.

Placement: every review read is a review of our business unit (both endpoints are the
unit's own list), so each is `addressed`, with its `stars`.

Identity: besides the e-mail, `referenceId` (the company's own invitation or order
reference) is offered to the CRM as the review's handle (`trustpilot:<reference>`, lower
case): a CRM that links its references finds the customer by it; others find nobody.

Webhooks (the fast path; polling is the backstop): Trustpilot POSTs `{"events": [...]}`
to `/trustpilot/<url-secret>`. It documents no signature, so the secret in the URL is the
authorisation (`webhook_tokens` in the source's secret: the current one and the one being
rotated out, compared in constant time), and each `service-review-created`/`-updated`
event is a thin notification: the review is read back by id (the private API gives the
e-mail), so a forged event can inject nothing. `-deleted` and unknown events are
acknowledged and ignored. A review seen both ways has the same post id: decided once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Unpack

import requests

from socialcare.errors import ConfigError, SocialcareError, SourceAuthError, SourcePayloadError
from socialcare.models import Mention
from socialcare.sources.auth import SignedInSweep, SweepOptions, credential
from socialcare.sources.base import (
    ITEM_ERRORS,
    check_response,
    dict_or_empty,
    lang_hint,
    parse_items,
    parse_time,
    send,
    str_or_none,
    time_key,
)
from socialcare.sources.context import SourceContext
from socialcare.sources.graph import event_mentions
from socialcare.sources.placement import star_rating
from socialcare.sources.sweep import ItemKey, RawPage, SweepState
from socialcare.sources.webhooks import Reply, WebhookEvent

if TYPE_CHECKING:
    from socialcare.sources.push import PushDeps, PushRequest

NAME = "trustpilot"
TOKEN_PATH = "/v1/oauth/oauth-business-users-for-applications/accesstoken"  # noqa: S105 - a path
WEB = "https://www.trustpilot.com/reviews/"
READ_EVENTS = frozenset({"service-review-created", "service-review-updated"})
REVIEW_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # goes into a URL path: nothing else


def _read(body: Any) -> tuple[list[Any], bool]:
    """(reviews, whether the page links a next page)."""
    if not isinstance(body, dict):
        raise SourcePayloadError(NAME, f"page is a {type(body).__name__}, not an object")
    reviews = body.get("reviews")
    if not isinstance(reviews, list):
        raise SourcePayloadError(NAME, "page has no 'reviews' list")
    links = body.get("links")
    rels = (
        {str(dict_or_empty(link).get("rel")) for link in links}
        if isinstance(links, list)
        else set()
    )
    return reviews, "next-page" in rels


def _email(review: Mapping[str, Any]) -> str | None:
    consumer = dict_or_empty(review.get("consumer"))
    for value in (consumer.get("email"), review.get("consumerEmail"), review.get("referralEmail")):
        if isinstance(value, str) and "@" in value:
            return value.strip()
    return None


def _parser(own: Collection[str]) -> Callable[[Any], Mention]:
    def parse(review: Any) -> Mention:
        if not isinstance(review, dict):
            raise TypeError("review is not an object")
        review_id = str_or_none(review["id"])
        if not review_id:
            raise ValueError("review has no id")
        consumer = dict_or_empty(review.get("consumer"))
        title, text = review.get("title") or "", review.get("text") or ""
        if not isinstance(title, str) or not isinstance(text, str):
            raise TypeError("review title or text is not a string")
        consumer_id = str_or_none(consumer.get("id"))
        # A webhook's consumer has `name` where the REST API has `displayName`.
        name = consumer.get("displayName") or consumer.get("name")
        return Mention(
            source=NAME,
            post_id=review_id,
            url=WEB + review_id,
            author_id=consumer_id,
            handle=str_or_none(review.get("referenceId")),
            display_name=str_or_none(name),
            location=str_or_none(consumer.get("displayLocation")),
            email=_email(review),
            text=f"{title}\n\n{text}" if title and text else title or text,
            lang=lang_hint(review.get("language")),
            created_at=parse_time(review["createdAt"]),
            is_own_account=bool(own) and consumer_id in own,
            addressed=True,
            stars=star_rating(review.get("stars")),
        )

    return parse


def parse_page(body: Any, own_accounts: Collection[str] = ()) -> tuple[list[Mention], int]:
    """A page of reviews, one review, or a webhook body (as its events say it)."""
    if isinstance(body, dict) and "events" in body:
        return event_mentions(push_events(body, own_accounts))
    if isinstance(body, dict) and {"id", "createdAt", "stars"} <= body.keys():  # one review
        return parse_items(NAME, [body], _parser(frozenset(own_accounts)))
    reviews, _ = _read(body)
    return parse_items(NAME, reviews, _parser(frozenset(own_accounts)))


def _key(review: Any) -> ItemKey:
    created = parse_time(review["createdAt"])
    return ItemKey(time_key(created), time_key(created), str(review["id"]), created)


class TrustpilotSource(SignedInSweep):
    name = NAME

    def __init__(
        self,
        session: requests.Session,
        *,
        business_unit_id: str,
        credentials: Callable[[], Mapping[str, Any]],
        api_url: str = "https://api.trustpilot.com",
        **options: Unpack[SweepOptions],
    ) -> None:
        super().__init__(session, credentials=credentials, **options)
        self.unit = business_unit_id
        self.base = api_url.rstrip("/")
        self._cache_key = f"{NAME}:{self.base}:{business_unit_id}"

    @property
    def private(self) -> bool:
        """Business-user credentials given: read the endpoint that carries e-mails."""
        return all(str_or_none(self.secret.get(k)) for k in ("api_secret", "username", "password"))

    def _token(self, api_key: str) -> str:
        token = self.tokens.get(self._cache_key)
        if token:
            return token
        response = send(
            self.session,
            NAME,
            "POST",
            self.base + TOKEN_PATH,
            auth=(api_key, credential(NAME, self.secret, "api_secret")),
            data={
                "grant_type": "password",
                "username": credential(NAME, self.secret, "username"),
                "password": credential(NAME, self.secret, "password"),
            },
        )
        if response.status_code == 400:
            raise SourceAuthError(NAME, "business user login refused (HTTP 400)")
        body = dict_or_empty(check_response(NAME, response))
        token = str_or_none(body.get("access_token"))
        if not token:
            raise SourceAuthError(NAME, "the login answer has no access token")
        try:
            ttl = float(body.get("expires_in") or 3600)  # Trustpilot sends it as a string
        except ValueError:
            ttl = 3600.0
        self.tokens.put(self._cache_key, token, ttl)
        return token

    def request(self, state: SweepState) -> RawPage:
        api_key = credential(NAME, self.secret, "api_key")
        page = int(state.page or 1)
        params = {"perPage": self.page_size, "page": page, "orderBy": "createdat.desc"}
        path = f"/v1/business-units/{self.unit}/reviews"
        for attempt in range(2):
            headers = {"apikey": api_key}
            if self.private:
                path = f"/v1/private/business-units/{self.unit}/reviews"
                headers["Authorization"] = f"Bearer {self._token(api_key)}"
            response = send(
                self.session, NAME, "GET", self.base + path, params=params, headers=headers
            )
            if attempt == 0 and self.private and response.status_code == 401:
                self.tokens.drop(self._cache_key)
                continue
            break
        body = check_response(NAME, response)
        self.budget.note(response.headers)
        reviews, linked_next = _read(body)
        more = linked_next or len(reviews) >= self.page_size
        return RawPage(reviews, _parser(self.own), _key, str(page + 1) if more else None)

    def review(self, review_id: str) -> Mention:
        """One review, read back by id (a webhook's thin notification): the private
        endpoint (with e-mail) when business credentials are given, else the public one."""
        api_key = credential(NAME, self.secret, "api_key")
        for attempt in range(2):
            headers = {"apikey": api_key}
            path = f"/v1/reviews/{review_id}"
            if self.private:
                path = f"/v1/private/reviews/{review_id}"
                headers["Authorization"] = f"Bearer {self._token(api_key)}"
            response = send(self.session, NAME, "GET", self.base + path, headers=headers)
            if attempt == 0 and self.private and response.status_code == 401:
                self.tokens.drop(self._cache_key)
                continue
            break
        body = dict_or_empty(check_response(NAME, response))
        unit = str_or_none(dict_or_empty(body.get("businessUnit")).get("id"))
        if unit and unit != self.unit:
            raise SourcePayloadError(NAME, "the review is not on our business unit")
        return _parser(self.own)(body)


# ------------------------------------------------------------------ webhooks
def push_check(request: PushRequest, deps: PushDeps) -> Reply | None:
    """The URL's secret against `webhook_tokens` (a list, for rotation), constant time."""
    from socialcare.hashing import same
    from socialcare.sources.push import refused
    from socialcare.sources.webhooks import not_configured

    try:
        tokens = deps.secret(NAME).get("webhook_tokens")
    except (SocialcareError, AttributeError):
        return Reply(500, "try again")
    tokens = (
        [t for t in tokens if isinstance(t, str) and t.strip()] if isinstance(tokens, list) else []
    )
    if not tokens:
        return not_configured("webhook_tokens")
    matches = [same(t.strip(), request.token) for t in tokens]  # every one: constant time
    return None if any(matches) else refused("url_secret")


def _event(event: Any, own: Collection[str]) -> WebhookEvent:
    event = dict_or_empty(event)
    name = str(event.get("eventName") or "")
    if name not in READ_EVENTS:
        return WebhookEvent(
            NAME, "review", ignored="deleted" if name.endswith("-deleted") else "event"
        )
    data = dict_or_empty(event.get("eventData"))
    review_id = str_or_none(data.get("id"))
    if not review_id or not REVIEW_ID.fullmatch(review_id):
        return WebhookEvent(NAME, "review", ignored="unreadable")
    try:
        thin = _parser(own)(data)
    except ITEM_ERRORS:
        return WebhookEvent(NAME, "review", ignored="unreadable")
    return WebhookEvent(NAME, "review", thin, fetch=lambda source: source.review(review_id))


def push_events(body: Any, own: Collection[str] = ()) -> list[WebhookEvent]:
    """The events of a webhook body (`{"events": [...]}`; one POST can carry several)."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise SourcePayloadError(NAME, "webhook body has no 'events' list")
    own = frozenset(own)
    return [_event(event, own) for event in events]


def build(ctx: SourceContext) -> TrustpilotSource:
    if not ctx.settings.trustpilot_business_unit_id:
        raise ConfigError("the trustpilot source needs TRUSTPILOT_BUSINESS_UNIT_ID")
    return TrustpilotSource(
        ctx.session,
        business_unit_id=ctx.settings.trustpilot_business_unit_id,
        credentials=ctx.secret(NAME, ctx.settings.trustpilot_secret, "TRUSTPILOT_SECRET"),
        api_url=ctx.settings.trustpilot_api_url,
        own_accounts=ctx.own_accounts(NAME),
        lookback=ctx.lookback,
        clock=ctx.clock,
    )
