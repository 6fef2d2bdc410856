"""ReceiveWebhook's push routes beside Meta's: `/trustpilot/<url-secret>`, `/threads` and
`/google` (Pub/Sub push), each open only while its source is enabled.

The order of the checks is the point, as on Meta's route (webhooks.py):
1. a closed route answers 404 and a body over MAX_BODY_BYTES 413, before anything else;
2. the platform's own check comes before the body is parsed: Trustpilot's secret in the
   URL (Trustpilot signs nothing), Threads' `X-Hub-Signature-256`, Google's OIDC token;
   a refused one gets 401 and nothing is read or queued;
3. every event is a thin notification: its post is read back from the platform's API by
   id, so a forged body can inject nothing;
4. 200 once every mention is on the queue; a read that may pass later answers 500 so the
   platform delivers again (webhooks.deliver).

Each platform module offers `push_check(request, deps)` (None when authorised, else the
Reply) and `push_events(body, own)`; Threads also `push_handshake` (GET).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from socialcare import safejson
from socialcare.errors import ConfigError, SourcePayloadError
from socialcare.function_url import Request
from socialcare.observability import count, logger
from socialcare.ports import Queue
from socialcare.sources import platform
from socialcare.sources.webhooks import MAX_BODY_BYTES, Reply, deliver, raw_body, rejected

ROUTES = frozenset({"trustpilot", "threads", "google"})


@dataclass(frozen=True)
class PushRequest:
    method: str
    raw: bytes
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str] = field(default_factory=dict)
    token: str = ""  # the path segment after /<source>/ (Trustpilot's URL secret)


@dataclass
class PushDeps:
    queue: Queue
    sources: frozenset[str]  # routes that are open (their sources are enabled)
    secret: Callable[[str], Mapping[str, Any]]  # a source's secret, cached by the caller
    reader: Callable[[str], Any]  # a source's API client (its polling Source), per delivery
    own: Mapping[str, frozenset[str]] = field(default_factory=dict)
    settings: Any = None  # PushSettings: Google's audience and service account
    keys: Any = None  # Google's signing keys (oidc.KeySet), cached per container


def request_of(method: str, raw: bytes, headers: Any, query: Any, token: str = "") -> PushRequest:
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    return PushRequest(method, raw, lowered, dict(query or {}), token)


def refused(reason: str) -> Reply:
    rejected(reason)
    return Reply(401, "unauthorized")


def handle_url_request(request: Request, deps: PushDeps) -> Reply:
    """A Function URL request on `/<name>` (GET or POST) or `/<name>/<token>` (POST)."""
    # Only the leading slash goes: "/trustpilot/<secret>/" is no route (its secret is not
    # the secret), as a router matching whole segments would have it.
    name, _, token = request.path.removeprefix("/").partition("/")
    if "/" in token or (token and request.method != "POST"):
        return Reply(404, "not found")
    raw = raw_body(request.body, request.is_base64_encoded)
    return handle(
        name, request_of(request.method, raw, request.headers, request.query, token), deps
    )


def handle(name: str, request: PushRequest, deps: PushDeps) -> Reply:
    if name not in ROUTES or name not in deps.sources:
        rejected("disabled")
        return Reply(404, "not found")
    if len(request.raw) > MAX_BODY_BYTES:
        rejected("too_large")
        return Reply(413, "too large")
    try:
        return _answer(name, request, deps)
    except ConfigError as exc:  # a parameter left empty (GOOGLE_LOCATIONS, …): say which
        logger.error("push route not configured", extra={"source": name, "error": str(exc)})
        count("SourceAuthFailedTotal")  # the alarm an operator already watches
        return Reply(500, "not configured")


def _answer(name: str, request: PushRequest, deps: PushDeps) -> Reply:
    module = platform(name)
    if request.method == "GET":
        handshake = getattr(module, "push_handshake", None)
        return handshake(request, deps) if handshake else Reply(405, "method not allowed")
    denied: Reply | None = module.push_check(request, deps)
    if denied is not None:
        return denied
    try:
        events = module.push_events(safejson.loads(request.raw), deps.own.get(name, frozenset()))
    except (ValueError, SourcePayloadError) as exc:  # authenticated, yet not readable
        rejected("malformed")
        logger.warning("push body unreadable", extra={"source": name, "error": type(exc).__name__})
        return Reply(400, "malformed notification")
    readers: dict[str, Any] = {}
    return deliver(events, lambda s: readers.setdefault(s, deps.reader(s)), deps.queue)
