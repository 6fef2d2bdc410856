"""Access tokens per container: platforms limit logins (Bluesky: 30 sessions per 5 min),
so a warm Lambda reuses its token until it expires or the platform refuses it.

Tokens live only in memory; they are never logged or stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from socialcare.errors import SourceAuthError
from socialcare.sources.sweep import SweepSource

if TYPE_CHECKING:
    import requests


class TokenCache:
    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        token, expires = self._tokens.get(key, ("", 0.0))
        return token if token and time.monotonic() < expires else None

    def put(self, key: str, token: str, ttl_s: float) -> None:
        # Renew a minute early, so a token does not expire between check and use.
        self._tokens[key] = (token, time.monotonic() + max(0.0, ttl_s - 60))

    def drop(self, key: str) -> None:
        self._tokens.pop(key, None)

    def clear(self) -> None:
        self._tokens.clear()


TOKENS = TokenCache()


def credential(source: str, secret: Mapping[str, Any], *names: str) -> str:
    """The first non-empty string among `names` in a source's secret, else an auth error.

    A secret still holding its placeholder is a dead channel: say so loudly
    (SourceAuthFailed), not as a crash.
    """
    for name in names:
        value = secret.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise SourceAuthError(source, f"the source secret has no {' or '.join(names)}")


class SweepOptions(TypedDict, total=False):
    """The keyword options every signed-in source takes (its own come first)."""

    own_accounts: Collection[str]
    lookback: timedelta
    clock: Callable[[], datetime] | None
    tokens: TokenCache
    page_size: int


class SignedInSweep(SweepSource):
    """A sweep over an API that wants a login: the secret is read once per container
    (lazily, so a disabled source never asks for it) and tokens are cached."""

    def __init__(
        self,
        session: requests.Session,
        *,
        credentials: Callable[[], Mapping[str, Any]],
        own_accounts: Collection[str] = (),
        lookback: timedelta = timedelta(hours=72),
        clock: Callable[[], datetime] | None = None,
        tokens: TokenCache = TOKENS,
        page_size: int = 100,
    ) -> None:
        super().__init__(lookback, clock)
        self.session = session
        self.credentials = credentials
        self.own = frozenset(own_accounts)
        self.tokens = tokens
        self.page_size = page_size
        self._secret: Mapping[str, Any] | None = None

    @property
    def secret(self) -> Mapping[str, Any]:
        if self._secret is None:
            self._secret = self.credentials()
        return self._secret
