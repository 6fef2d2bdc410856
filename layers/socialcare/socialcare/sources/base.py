"""What every source shares: status handling, rate-limit headers, tolerant item parsing."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from socialcare.errors import (
    SourceAuthError,
    SourcePayloadError,
    SourceRateLimited,
    SourceUnavailable,
    what_failed,
)
from socialcare.models import Mention
from socialcare.observability import logger
from socialcare.safejson import response_json

if TYPE_CHECKING:
    import requests

RESET_HEADERS = ("retry-after", "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset")


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from whichever rate-limit header the platform uses.

    Platforms disagree: Retry-After is seconds or an HTTP date, X's x-rate-limit-reset
    and Bluesky's RateLimit-Reset are epoch seconds, Mastodon's X-RateLimit-Reset is ISO.
    """
    now = time.time() if now is None else now
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in RESET_HEADERS:
        raw = lowered.get(name)
        if not raw:
            continue
        raw = raw.strip()
        try:
            number = float(raw)
        except ValueError:
            number = None
        if number is not None:
            # Small numbers are a delay; epoch timestamps are large.
            return max(0.0, number - now) if number > 1_000_000_000 else max(0.0, number)
        for parse in (parsedate_to_datetime, datetime.fromisoformat):
            try:
                return max(0.0, parse(raw.replace("Z", "+00:00")).timestamp() - now)
            except (TypeError, ValueError):
                continue
    return None


def get_json(
    session: requests.Session,
    source: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    rate_limited: Callable[[requests.Response], bool] | None = None,
) -> Any:
    """GET a JSON document, turning every failure into a typed error naming the source."""
    try:
        response = session.get(url, params=params, headers=headers)
    except network_errors() as exc:
        raise SourceUnavailable(source, f"network error: {type(exc).__name__}") from exc
    return check_response(source, response, rate_limited)


def send(
    session: requests.Session, source: str, method: str, url: str, **kwargs: Any
) -> requests.Response:
    """One HTTP request (the session adds timeouts and retries); network errors are typed."""
    try:
        return session.request(method, url, **kwargs)
    except network_errors() as exc:
        raise SourceUnavailable(source, f"network error: {type(exc).__name__}") from exc


def network_errors() -> type[Exception]:
    """requests' base error, looked up when one is raised: requests is imported with the
    first session (socialcare.http), not with the sources (ReceiveWebhook's cold start)."""
    import requests

    return requests.RequestException


REMAINING_HEADERS = ("x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")


def budget_spent(headers: Mapping[str, str]) -> bool:
    """True when the platform says this was the last request of its window (remaining 0).

    X, Bluesky, Mastodon and Reddit all announce it; Reddit sends a float ("0.0").
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in REMAINING_HEADERS:
        try:
            if float(lowered[name]) <= 0:
                return True
        except (KeyError, ValueError):
            continue
    return False


class RateBudget:
    """Stop a run *before* the request the platform would refuse.

    The page that came with `remaining: 0` is kept and queued (its cursor moves); the next
    `check()` raises SourceRateLimited, so the fetch loop stops and counts the run as
    rate limited, and the next schedule continues from the stored cursor.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._stop: SourceRateLimited | None = None

    def note(self, headers: Mapping[str, str]) -> None:
        if budget_spent(headers):
            self._stop = SourceRateLimited(self.source, retry_after_seconds(headers))

    def check(self) -> None:
        if self._stop is not None:
            raise self._stop


def epoch_time(value: float, per_second: int = 1) -> datetime:
    """An aware datetime from an epoch count (seconds, or milliseconds with 1000); a
    number no clock can hold (-1e20, 1e308, NaN, a 40-digit id) is a ValueError like any
    other unreadable time, never an OverflowError."""
    try:
        return datetime.fromtimestamp(value / per_second, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError("time out of range") from exc


def parse_time(value: Any) -> datetime:
    """An aware datetime from an ISO-8601 string ("...Z", any fraction) or epoch seconds."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(value, int | float):
        return epoch_time(value)
    if not isinstance(value, str):
        raise TypeError("time is not a string")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Python 3.11 reads at most 6 fraction digits; some platforms send 7-9.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        parsed.astimezone(UTC)  # year 1 at +14:00 has no UTC time: cursor keys need one
    except OverflowError as exc:
        raise ValueError("time out of range") from exc
    return parsed


def time_key(value: datetime) -> str:
    """A UTC timestamp that sorts as text (cursor keys compare as strings)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def number_key(value: int) -> str:
    """A non-negative integer id that sorts as text (snowflakes, base-36 ids)."""
    return f"{value:024d}"


def lang_hint(value: Any) -> str | None:
    """The primary language subtag ("en-US" -> "en"); unknown codes are no hint."""
    if not isinstance(value, str) or not value.strip():
        return None
    primary = value.strip().split("-")[0].split("_")[0].lower()
    # X marks undetermined, no-text and special posts with und/zxx/qxx codes.
    if primary in ("und", "zxx", "mul", "mis") or (len(primary) == 3 and primary[0] == "q"):
        return None
    return primary[:16] or None


def dict_or_empty(value: Any) -> dict[str, Any]:
    """A nested object the payload may omit or send as null: read it as empty."""
    return value if isinstance(value, dict) else {}


def check_response(
    source: str,
    response: requests.Response,
    rate_limited: Callable[[requests.Response], bool] | None = None,
) -> Any:
    status = response.status_code
    if status == 429 or (rate_limited is not None and rate_limited(response)):
        raise SourceRateLimited(source, retry_after_seconds(response.headers))
    if status in (401, 403):
        raise SourceAuthError(source, f"credentials refused (HTTP {status})")
    if status >= 500:
        raise SourceUnavailable(source, f"HTTP {status} after retries")
    if status >= 400:
        raise SourcePayloadError(source, f"HTTP {status}")
    try:
        return response_json(response)
    except (ValueError, json.JSONDecodeError) as exc:
        kind = response.headers.get("content-type", "unknown content type").split(";")[0]
        raise SourcePayloadError(
            source, f"not JSON ({kind}, {len(response.content)} bytes)"
        ) from exc


# What reading one post item can raise: the item is counted as unreadable, never its page.
ITEM_ERRORS = (ValidationError, LookupError, TypeError, ValueError, AttributeError, ArithmeticError)


def parse_items(
    source: str, items: Iterable[Any], parse: Callable[[Any], Mention]
) -> tuple[list[Mention], int]:
    """Parse each post item on its own: one bad item is counted, the good ones go on."""
    mentions: list[Mention] = []
    invalid = 0
    for position, item in enumerate(items):
        try:
            mentions.append(parse(item))
        except ITEM_ERRORS as exc:
            invalid += 1
            logger.warning(
                "unreadable post item",
                extra={"source": source, "item": position, "error": what_failed(exc)},
            )
    return mentions, invalid


def require(condition: bool, source: str, what: str) -> None:
    if not condition:
        raise SourcePayloadError(source, what)


def str_or_none(value: Any) -> str | None:
    """A string field as the platform sent it (ids may come as numbers); else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        return str(value).strip() or None
    return None
