"""Choose the CRM adapter by URL: `http(s)://...` (the HTTP contract, docs/crm-api.yaml)
or `sqlite:///path` (a SQLite directory). Native adapters (HubSpot, ...) plug in here.
"""

from __future__ import annotations

from socialcare.errors import ConfigError
from socialcare.identity.ports import Crm


def crm_from_url(
    url: str,
    token: str = "",
    *,
    timeout_s: float = 5.0,
    retries: int = 2,
    backoff_s: float = 0.3,
) -> Crm:
    if url.startswith(("http://", "https://")):
        if not token:
            raise ConfigError("the HTTP CRM needs a bearer token (SOCIALCARE_CRM_TOKEN)")
        from socialcare.identity.http_crm import HttpCrm

        return HttpCrm(url, token, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s)
    if url.startswith("sqlite:"):
        from socialcare.identity.sqlite_crm import SqliteCrm

        return SqliteCrm.from_url(url)
    raise ConfigError(f"CRM URL must be http(s)://... or sqlite:///path, got {url[:40]!r}")
