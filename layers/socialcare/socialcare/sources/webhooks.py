"""Meta webhooks: Page `feed` and `mention`, Instagram `mentions` and `comments`, onto
MentionsQueue. The main path for both platforms (polling is the backstop).

The order of the checks is the point:
1. GET is Meta's subscription handshake: `hub.mode=subscribe`, `hub.verify_token`
   compared in constant time with the stored verify token, `hub.challenge` echoed.
2. POST: the `X-Hub-Signature-256` header must be `sha256=` + HMAC-SHA256 of the raw
   body bytes under the app secret (constant-time compare) before anything is parsed;
   a missing or wrong signature gets 401 and nothing is queued.
3. Each change becomes a Mention; where the notification carries only ids, its text and
   author are read from the Graph API with the Page token. Unknown fields, verbs and items
   (reactions, removals) are acknowledged and counted as ignored.
4. 200 once every mention is on the queue. A failed send, or a Graph read that may pass
   later (throttled, unavailable, token refused), answers 500 so Meta delivers again;
   triage decides a post delivered twice `duplicate`.

Nothing of the body (text, names, ids) is logged; metrics carry fixed dimension values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from socialcare import safejson
from socialcare.errors import (
    RetryableError,
    SocialcareError,
    SourceAuthError,
    SourcePayloadError,
    SourceRateLimited,
    SourceUnavailable,
)
from socialcare.hashing import same, utf8
from socialcare.models import Mention
from socialcare.observability import count, logger
from socialcare.ports import Queue
from socialcare.sources import platform
from socialcare.sources.graph import GraphApi, WebhookEvent

SIGNATURE_HEADER = "x-hub-signature-256"
MAX_BODY_BYTES = 1_000_000  # Meta's notifications are a few kB; batches stay far below
MAX_CHALLENGE_CHARS = 256
OBJECTS = {"page": "facebook", "instagram": "instagram"}  # notification object -> source


@dataclass(frozen=True)
class Reply:
    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"


@dataclass
class WebhookDeps:
    queue: Queue
    secret: Callable[[], Mapping[str, Any]]  # the Meta secret (cached by the caller)
    graph: Callable[[str], GraphApi]  # a client for a source, new per delivery
    sources: frozenset[str]  # platforms whose notifications are read
    own: Mapping[str, frozenset[str]] = field(default_factory=dict)  # per source


def raw_body(body: str | None, is_base64_encoded: bool) -> bytes:
    """The bytes Meta signed. Function URLs pass text bodies as they came and others
    base64-encoded; re-serialising JSON would change them (Meta escapes non-ASCII)."""
    if not body:
        return b""
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return b""  # cannot be what Meta signed: the signature check refuses it
    return utf8(body)  # a lone surrogate (bad UTF-8 is base64) cannot be what Meta signed


def signature_ok(app_secret: str, raw: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`."""
    if not app_secret or not header:
        return False
    expected = "sha256=" + hmac.new(utf8(app_secret), raw, hashlib.sha256).hexdigest()
    return same(expected, header.strip().lower())


def secret_value(secret: Callable[[], Mapping[str, Any]], name: str) -> str | None:
    """A value of a webhook's secret; None when it cannot be read (logged, counted)."""
    try:
        value = secret().get(name)
    except (SocialcareError, AttributeError) as exc:
        logger.error("webhook secret unreadable", extra={"error": type(exc).__name__})
        return None
    return value.strip() if isinstance(value, str) else ""


def not_configured(what: str) -> Reply:
    # Meta keeps delivering (and retries this one) until someone fills the secret in.
    logger.error("webhook secret not filled in", extra={"missing": what})
    count("SourceAuthFailedTotal")
    return Reply(500, "not configured")


def _tally(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def rejected(reason: str) -> None:
    count("WebhookRejected")  # why: the log line (a metric per reason would be a series each)
    logger.warning("webhook rejected", extra={"reason": reason})


def _lowered(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def subscribe(query: Mapping[str, str] | None, deps: WebhookDeps) -> Reply:
    """Meta's verification request (GET): echo the challenge if the token matches."""
    return handshake(query, deps.secret)


def handshake(query: Mapping[str, str] | None, secret: Callable[[], Mapping[str, Any]]) -> Reply:
    """The `hub.challenge` handshake (Meta's apps, the Threads app) against `verify_token`."""
    query = query or {}
    mode, token = query.get("hub.mode"), query.get("hub.verify_token") or ""
    challenge = query.get("hub.challenge") or ""
    if mode != "subscribe" or not challenge or len(challenge) > MAX_CHALLENGE_CHARS:
        rejected("handshake")
        return Reply(400, "bad request")
    expected = secret_value(secret, "verify_token")
    if expected is None:
        return Reply(500, "try again")
    if not expected:
        return not_configured("verify_token")
    if not same(expected, token):
        rejected("verify_token")
        logger.warning("webhook verification refused: wrong verify token")
        return Reply(403, "forbidden")
    logger.info("webhook subscription verified")
    return Reply(200, challenge)


def events_of(body: Any, deps: WebhookDeps) -> list[WebhookEvent]:
    """The changes of a notification, by its `object` (page, instagram)."""
    if not isinstance(body, dict):
        raise SourcePayloadError("webhook", "notification is not an object")
    source = OBJECTS.get(str(body.get("object")))
    if source is None:
        return [WebhookEvent("meta", "other", ignored="object")]  # user, permissions...
    if source not in deps.sources:
        return [WebhookEvent(source, "other", ignored="disabled")]
    events: list[WebhookEvent] = platform(source).webhook_events(body, deps.own.get(source, ()))
    return events


def receive(raw: bytes, headers: Mapping[str, str] | None, deps: WebhookDeps) -> Reply:
    """A notification (POST): verify, read, complete from Graph, queue."""
    if len(raw) > MAX_BODY_BYTES:
        rejected("too_large")
        return Reply(413, "too large")
    if not deps.sources:
        rejected("disabled")
        return Reply(404, "not found")
    app_secret = secret_value(deps.secret, "app_secret")
    if app_secret is None:
        return Reply(500, "try again")
    if not app_secret:
        return not_configured("app_secret")
    signature = _lowered(headers).get(SIGNATURE_HEADER)
    if not signature_ok(app_secret, raw, signature):
        rejected("signature" if signature else "unsigned")
        logger.warning("webhook refused: bad signature", extra={"signed": bool(signature)})
        return Reply(401, "invalid signature")

    try:
        events = events_of(safejson.loads(raw), deps)
    except (ValueError, SourcePayloadError) as exc:  # signed by Meta, yet not readable
        rejected("malformed")
        logger.warning("webhook notification unreadable", extra={"error": type(exc).__name__})
        return Reply(400, "malformed notification")

    clients: dict[str, GraphApi] = {}
    return deliver(
        events, lambda source: clients.setdefault(source, deps.graph(source)), deps.queue
    )


def deliver(events: list[WebhookEvent], client: Callable[[str], Any], queue: Queue) -> Reply:
    """Complete each event (read back where it is thin), queue them all, answer.

    Shared by every push route: `client(source)` is what an event's `fetch` reads with.
    """
    mentions: list[tuple[WebhookEvent, Mention]] = []
    again = False
    skipped: dict[str, int] = {}  # why events were not queued: in the log line, not metrics
    for event in events:
        if event.ignored or event.mention is None:
            why = event.ignored or "unreadable"
            skipped[why] = skipped.get(why, 0) + 1
            continue
        mention = event.mention
        if event.fetch is not None:
            try:
                mention = event.fetch(client(event.source))
            except SourceAuthError:
                count("SourceAuthFailedTotal")
                logger.warning("Graph refused the token", extra={"source": event.source})
                again = True
                continue
            except (SourceRateLimited, SourceUnavailable) as exc:
                count("WebhookFailed")  # Meta delivers again
                logger.warning(
                    "webhook fetch failed",
                    extra={"source": event.source, "error": type(exc).__name__},
                )
                again = True
                continue
            except (SourcePayloadError, ValidationError, KeyError, TypeError, ValueError):
                # Deleted, private, not ours to read or an odd answer: polling may find it.
                skipped["unfetchable"] = skipped.get("unfetchable", 0) + 1
                continue
        mentions.append((event, mention))

    try:
        queue.send_all([m for _, m in mentions])
    except RetryableError as exc:
        count("WebhookFailed")
        logger.error("webhook mentions not queued", extra={"error": type(exc).__name__})
        return Reply(500, "try again")
    count("Fetched", len(mentions))  # the funnel counts both paths; per source: the log
    logger.info(
        "webhook notification handled",
        extra={
            "changes": len(events),
            "queued": len(mentions),
            "by_source": _tally(event.source for event, _ in mentions),
            "not_queued": skipped,
            "retry": again,
        },
    )
    if again:
        return Reply(500, "partly failed; deliver again")
    return Reply(200, "ok")
