"""One way to make HTTP sessions: timeouts always, retries with backoff on 5xx/network errors.

urllib3's Retry does the backoff; we only cap Retry-After so a server cannot make a
Lambda sleep past its timeout (the SQS retry takes over from there).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "socialcare/0.1 (+customer care; private e-mail outreach)"


class CappedRetry(Retry):
    max_retry_after_s = 5.0

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after_s)


class TimeoutSession(requests.Session):
    """A Session whose every request has a timeout unless one is given."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(method, url, *args, **kwargs)


def make_session(
    *,
    timeout_s: float = 10.0,
    retries: int = 3,
    backoff_s: float = 0.5,
    retry_statuses: Collection[int] = (500, 502, 503, 504),
    methods: Collection[str] = ("GET", "HEAD"),
) -> TimeoutSession:
    retry = CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_s,
        backoff_max=10,
        status_forcelist=tuple(retry_statuses),
        allowed_methods=frozenset(methods),
        # Only callers that retry 429 wait for Retry-After; sources stop the run instead.
        respect_retry_after_header=429 in retry_statuses,
        raise_on_status=False,  # we turn the final status into a typed error ourselves
    )
    session = TimeoutSession(timeout_s)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
