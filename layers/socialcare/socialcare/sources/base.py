"""What every source shares: status handling, rate-limit headers, tolerant item parsing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from pydantic import ValidationError

from socialcare.errors import (
    SourceAuthError,
    SourcePayloadError,
    SourceRateLimited,
    SourceUnavailable,
)
from socialcare.models import Mention
from socialcare.observability import logger

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
    except requests.RequestException as exc:
        raise SourceUnavailable(source, f"network error: {type(exc).__name__}") from exc
    return check_response(source, response, rate_limited)


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
        return response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        kind = response.headers.get("content-type", "unknown content type").split(";")[0]
        raise SourcePayloadError(
            source, f"not JSON ({kind}, {len(response.content)} bytes)"
        ) from exc


def parse_items(
    source: str, items: Iterable[Any], parse: Callable[[Any], Mention]
) -> tuple[list[Mention], int]:
    """Parse each post item on its own: one bad item is counted, the good ones go on."""
    mentions: list[Mention] = []
    invalid = 0
    for item in items:
        try:
            mentions.append(parse(item))
        except (ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
            invalid += 1
            logger.warning(
                "unreadable post item", extra={"source": source, "error": type(exc).__name__}
            )
    return mentions, invalid


def require(condition: bool, source: str, what: str) -> None:
    if not condition:
        raise SourcePayloadError(source, what)
