"""What the vendor adapters (HubSpot, Zendesk, Salesforce) share: one HTTP client per
vendor with a rate limiter shared by the container, `Retry-After` honoured, the vendors'
failures turned into the project's typed errors, the name-key tokens their custom fields
hold, and the outreach note they write.

Failures: a refused credential is a CrmAuthError (counted as CrmAuthFailed: an alarm);
throttling that outlasts a short wait, 5xx and timeouts after retries, and bodies of the
wrong shape are CrmErrors. Both send the message back to its queue: an outage never
reads as "no match". Error messages name the vendor, the operation and the status or the
vendor's error code, never a URL, a query or a vendor's message (they quote names and
e-mail addresses).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from pydantic import ValidationError

from socialcare.errors import CrmAuthError, CrmError, what_failed
from socialcare.http import make_session
from socialcare.identity.blocking import KEYS_VERSION
from socialcare.observability import count
from socialcare.safejson import response_json

_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class HttpOptions:
    timeout_s: float = 5.0
    retries: int = 2  # after the first try: 5xx, timeouts and throttling
    backoff_s: float = 0.3
    # A vendor asking us to wait longer than this (Retry-After, a used-up window) sends
    # the message back to its queue instead: a Lambda must not sleep its timeout away.
    max_wait_s: float = 5.0


class Limiter:
    """A token bucket: at most `rate` requests per `per_s` seconds, and a pause the vendor
    asked for (Retry-After, a used-up window) that every request of the container waits
    out. `acquire` never sleeps longer than `max_wait_s`: it raises CrmError instead."""

    def __init__(self, rate: float, per_s: float) -> None:
        self.rate, self.per_s = rate, per_s
        self._tokens = rate
        self._stamp = time.monotonic()
        self._until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def acquire(self, vendor: str, max_wait_s: float) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(
                self.rate, self._tokens + (now - self._stamp) * self.rate / self.per_s
            )
            self._stamp = now
            wait = max(self._until - now, (1 - self._tokens) * self.per_s / self.rate, 0.0)
            if wait > max_wait_s:
                raise CrmError(f"{vendor} rate limit: next request in {wait:.0f} s; retried later")
            self._tokens -= 1  # may go negative: the requests after this one wait longer
        if wait:
            time.sleep(wait)


_LIMITERS: dict[tuple[str, float, float], Limiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter(name: str, rate: float, per_s: float) -> Limiter:
    """The container's one limiter for `name` (a vendor, or a vendor's search) at this
    rate: every adapter, composite part and retry of this container shares it."""
    with _LIMITERS_LOCK:
        return _LIMITERS.setdefault((name, rate, per_s), Limiter(rate, per_s))


def reset_limiters() -> None:
    """Forget every limiter and pause (tests, and a demo run after a throttled one)."""
    with _LIMITERS_LOCK:
        _LIMITERS.clear()


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class VendorApi:
    """One vendor's REST API over `requests`. Subclasses set `vendor`, the credential
    (`authorize`) and, where the vendor differs, `refresh`, `throttle_wait`, `observe` and
    `error_code`."""

    vendor = "CRM"
    credential_hint = "the CRM token"

    def __init__(self, base_url: str, options: HttpOptions, limiter: Limiter) -> None:
        self.base = base_url.rstrip("/")
        self.options = options
        self.limiter = limiter
        # Our own retry loop below: a search sent as POST is safe to repeat, a POST that
        # creates a note is not, and throttling is waited out whatever the method.
        self.session = make_session(timeout_s=options.timeout_s, retries=0)
        self.session.headers["Accept"] = "application/json"

    # ------------------------------------------------------------------ vendor hooks

    def authorize(self) -> None:
        """Set the credential on the session (once; Salesforce fetches a token)."""

    def refresh(self) -> bool:
        """After a 401: get a fresh credential and say whether one was had."""
        return False

    def throttle_wait(self, response: requests.Response) -> float | None:
        """Seconds the vendor asks us to wait when the response is throttling, or None."""
        if response.status_code == 429:
            return retry_after(response.headers.get("Retry-After")) or self.options.backoff_s
        return None

    def observe(self, response: requests.Response) -> None:
        """Read the vendor's quota headers (pause before the window runs out)."""

    def error_code(self, body: Any) -> str | None:
        """The vendor's error code in an error body (never its message)."""
        return None

    # ------------------------------------------------------------------ requests

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base}{path}"

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        safe: bool = True,
        missing: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One request, parsed. `safe`: may be repeated after a 5xx or a timeout (reads,
        and searches sent as POST); a create is sent once, but throttling — which the
        vendor answers before doing anything — is waited out for every request.
        `missing`: a 404 is the answer None (a record that is not there)."""
        self.authorize()
        tries, refreshed = 0, False
        while True:
            tries += 1
            self.limiter.acquire(self.vendor, self.options.max_wait_s)
            try:
                response = self.session.request(method, self.url(path), **kwargs)
            except requests.RequestException as exc:
                if safe and tries <= self.options.retries:
                    self._backoff(tries)
                    continue
                raise CrmError(f"{self.vendor} {what} unreachable: {type(exc).__name__}") from exc
            self.observe(response)
            status = response.status_code
            if status == 401 and not refreshed and self.refresh():
                refreshed = True  # an expired session: once more with the new one
                continue
            wait = self.throttle_wait(response)
            if wait is not None:
                self.limiter.pause(wait)
                if tries <= self.options.retries and wait <= self.options.max_wait_s:
                    continue
                raise CrmError(
                    f"{self.vendor} {what} throttled (HTTP {status}{self._code(response)}); "
                    f"retry in {wait:.0f} s"
                )
            if status in (401, 403):
                raise self.refused(f"HTTP {status}{self._code(response)} on {what}")
            if status == 404 and missing:
                return None
            if status >= 500 and safe and tries <= self.options.retries:
                self._backoff(tries)
                continue
            if status >= 400:
                raise CrmError(f"{self.vendor} {what} answered HTTP {status}{self._code(response)}")
            return self._json(response, what)

    def refused(self, detail: str) -> CrmAuthError:
        # One series for every vendor (the alarm's); which vendor: the error's line.
        count("CrmAuthFailedTotal")
        return CrmAuthError(
            f"{self.vendor} refused the credentials ({detail}): check {self.credential_hint}"
        )

    def _backoff(self, tries: int) -> None:
        time.sleep(self.options.backoff_s * 2 ** (tries - 1))

    def _code(self, response: requests.Response) -> str:
        try:
            code = self.error_code(response_json(response))
        except ValueError:
            return ""
        # A vendor's body is untrusted: a code that is not a short word (true, a list,
        # a paragraph) is no code.
        return f" {code}" if isinstance(code, str) and _CODE.fullmatch(code) else ""

    def _json(self, response: requests.Response, what: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response_json(response)
        except ValueError as exc:
            raise CrmError(f"{self.vendor} {what} answered with a body that is not JSON") from exc

    @contextmanager
    def reading(self, what: str) -> Iterator[None]:
        """A body of the wrong shape is a CrmError naming the fields, never the values."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
            raise CrmError(
                f"{self.vendor} {what} has an unexpected shape ({what_failed(exc)})"
            ) from exc

    def pages(
        self, first: Callable[[], Any], following: Callable[[Any], Any | None], limit: int = 50
    ) -> Iterator[Any]:
        """Each page: `first()`, then `following(page)` until it gives None. A listing
        longer than `limit` pages is a CrmError, never a silently short answer."""
        page = first()
        for _ in range(limit):
            yield page
            page = following(page)
            if page is None:
                return
        raise CrmError(f"{self.vendor}: more than {limit} pages; narrow the query")


# ---------------------------------------------------------------------- name keys


def key_token(name_key: str) -> str:
    """A name key ("1:hnsn+srn") as one plain word ("sc1ohnsnesrn"), which a vendor's
    search matches exactly as a token: keys hold only consonants, digits and "*", so the
    vowels a, e, o stand in for "*", "+", ":" without ambiguity."""
    return "sc" + name_key.translate(_TOKEN)


_TOKEN = str.maketrans({"*": "a", "+": "e", ":": "o"})


def key_tokens(name_keys: set[str]) -> str:
    """The value a CRM's name-keys field holds: the tokens of a customer's keys."""
    return " ".join(sorted(key_token(f"{KEYS_VERSION}:{k}") for k in name_keys))


def holds_token(value: object, token: str) -> bool:
    """Whether a stored name-keys value holds `token` as a whole word: vendors' token
    searches may be looser than that, and a key is only trusted when it is exact."""
    return isinstance(value, str) and token in value.replace(";", " ").split()


# ---------------------------------------------------------------------- the outreach note

NOTE_PREFIX = "socialcare:"
_TAGS = re.compile(r"<[^>]*>")
_NOTE = re.compile(
    r"^socialcare: (?P<channel>[a-z_]+) outreach, template (?P<kind>[a-z_]+), at (?P<at>\S+)"
)


def outreach_note(interaction: Mapping[str, object]) -> tuple[str, datetime]:
    """The text of the note that records our outreach, and its time: channel, time and
    template only. Never the post's text or link (the link leads to the text)."""
    at = interaction.get("at")
    when = datetime.fromisoformat(str(at)) if at else datetime.now(UTC)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    channel = str(interaction.get("channel") or "email")
    kind = str(interaction.get("kind") or "social_outreach")
    stamp = when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    text = (
        f"{NOTE_PREFIX} {channel} outreach, template {kind}, at {stamp}. "
        "A private offer of help after a public post; the post is not kept."
    )
    return text, when


def parse_note(text: object) -> tuple[str, str] | None:
    """(channel, template) of one of our notes, or None for anyone else's."""
    if not isinstance(text, str):
        return None
    found = _NOTE.match(_TAGS.sub("", text).strip())  # HubSpot may keep a note as HTML
    return (found["channel"], found["kind"]) if found else None


def parse_time(value: object) -> datetime:
    """A vendor's timestamp: ISO 8601 (with Z or an offset, Salesforce's +0000) or epoch
    milliseconds; naive times read as UTC."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    text = str(value).replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):  # Salesforce: 2026-01-01T10:00:00.000+0000
        text = f"{text[:-2]}:{text[-2:]}"
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def iso_z(when: datetime) -> str:
    """UTC, seconds, with Z: what the vendors' date filters take."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
