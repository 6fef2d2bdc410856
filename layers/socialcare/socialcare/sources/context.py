"""What a source needs to be built: settings, an HTTP session, its secret, the brand."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from socialcare.brand import Brand
from socialcare.errors import ConfigError
from socialcare.settings import FetchSettings

SecretReader = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class SourceContext:
    settings: FetchSettings
    session: requests.Session
    secrets: SecretReader  # secret id (ARN or name) -> its JSON object
    brand: Brand
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def lookback(self) -> timedelta:
        """How far back a source's first run reads: older posts would be stale anyway."""
        return timedelta(hours=self.settings.max_post_age_hours)

    def own_accounts(self, source: str) -> frozenset[str]:
        return frozenset(a.lower().lstrip("@") for a in self.brand.own_accounts.get(source, []))

    def secret(self, source: str, ref: str, setting: str) -> Callable[[], Mapping[str, Any]]:
        """Read the source's secret when first needed (inside the run, so a refused or
        missing credential is counted as SourceAuthFailed, not a cold-start crash)."""
        if not ref:
            raise ConfigError(f"the {source} source needs {setting} (its Secrets Manager secret)")
        read: dict[str, Mapping[str, Any]] = {}

        def secret() -> Mapping[str, Any]:
            if ref not in read:  # once per run: a source asks on every request
                read[ref] = self.secrets(ref)
            return read[ref]

        return secret


def brand_terms(brand: Brand) -> list[str]:
    """The brand's names as people write them (brand.toml: name, aliases, products)."""
    seen: dict[str, str] = {}
    for term in brand.names:
        if term.strip():
            seen.setdefault(term.strip().lower(), term.strip())
    return list(seen.values())


def quoted(term: str) -> str:
    """A search term; anything but a plain word is quoted as a phrase."""
    return term if re.fullmatch(r"\w+", term) else '"' + term.replace('"', "") + '"'


def csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]
