"""Choose the CRM adapter: by kind (`CrmKind`, `--crm-kind`) or, without one, by URL.

- `http`, `sqlite` (or no kind: `http(s)://...`, `sqlite:///path`): the HTTP contract,
  a SQLite directory;
- `hubspot`, `zendesk`, `salesforce`: the vendor's REST API (hubspot.py, zendesk.py,
  salesforce.py);
- `<crm>+<helpdesk>`, e.g. `hubspot+zendesk`, `salesforce+zendesk`: the CRM finds people,
  the help desk holds the conversations (composite.py).

Vendor options (custom property names, limits, where the note goes) come as one JSON
object per vendor (`CrmOptions`: `{"hubspot": {...}, "zendesk": {...}}`); each vendor's
credential is presented its own way (a HubSpot bearer token, Zendesk's agent/token Basic,
Salesforce's client secret exchanged for an access token).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from socialcare.errors import ConfigError
from socialcare.identity.ports import Crm

CRMS = ("hubspot", "zendesk", "salesforce")  # vendors that can answer every question of the port
HELP_DESKS = ("zendesk",)  # vendors that can hold the conversations of a composite
COMPOSABLE = ("hubspot", "salesforce")  # CRMs that can read a customer by id for a help desk
KINDS = ("http", "sqlite", *CRMS, *(f"{c}+{h}" for c in COMPOSABLE for h in HELP_DESKS))


@dataclass(frozen=True)
class CrmConfig:
    url: str
    kind: str = ""  # "" chooses by URL: http(s):// or sqlite:///
    token: str = ""
    help_desk_url: str = ""  # a composite's help desk; default: url (one stand-in serves both)
    help_desk_token: str = ""  # default: token
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 5.0
    retries: int = 2
    backoff_s: float = 0.3


def parse_kind(kind: str) -> tuple[str, str | None]:
    """(crm, help desk or None) of a kind; a ConfigError naming the kinds otherwise."""
    if kind not in KINDS:
        raise ConfigError(f"CRM kind must be one of {', '.join(KINDS)}; got {kind[:40]!r}")
    crm, _, helpdesk = kind.partition("+")
    return crm, helpdesk or None


def parse_options(text: str) -> dict[str, Any]:
    """CrmOptions: a JSON object of per-vendor objects ("" is none)."""
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise ConfigError("CRM options are not JSON") from exc
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError('CRM options must be {"<vendor>": {...}, ...}')
    return value


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


def _options(model: type[BaseModel], config: CrmConfig, vendor: str) -> Any:
    try:
        return model.model_validate(config.options.get(vendor, {}))
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        raise ConfigError(f"CRM options for {vendor}: invalid {fields or 'object'}") from exc


def _vendor(vendor: str, url: str, token: str, config: CrmConfig) -> Any:
    from socialcare.identity.vendor import HttpOptions

    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"the {vendor} CRM needs an https:// URL of its API")
    if not token:
        raise ConfigError(f"the {vendor} CRM needs a credential (SOCIALCARE_CRM_TOKEN)")
    http = HttpOptions(
        timeout_s=config.timeout_s, retries=config.retries, backoff_s=config.backoff_s
    )
    if vendor == "hubspot":
        from socialcare.identity.hubspot import HubSpotCrm, HubSpotOptions

        return HubSpotCrm(url, token, _options(HubSpotOptions, config, vendor), http)
    if vendor == "salesforce":
        from socialcare.identity.salesforce import SalesforceCrm, SalesforceOptions

        return SalesforceCrm(url, token, _options(SalesforceOptions, config, vendor), http)
    from socialcare.identity.zendesk import ZendeskCrm, ZendeskOptions

    return ZendeskCrm(url, token, _options(ZendeskOptions, config, vendor), http)


def build_crm(config: CrmConfig) -> Crm:
    if not config.kind or config.kind in ("http", "sqlite"):
        if config.kind == "sqlite" and not config.url.startswith("sqlite:"):
            raise ConfigError("the sqlite CRM kind needs a sqlite:///path URL")
        return crm_from_url(
            config.url,
            config.token,
            timeout_s=config.timeout_s,
            retries=config.retries,
            backoff_s=config.backoff_s,
        )
    crm_kind, helpdesk_kind = parse_kind(config.kind)
    crm = _vendor(crm_kind, config.url, config.token, config)
    if helpdesk_kind is None:
        return crm
    from socialcare.identity.composite import CompositeCrm

    helpdesk = _vendor(
        helpdesk_kind,
        config.help_desk_url or config.url,
        config.help_desk_token or config.token,
        config,
    )
    return CompositeCrm(crm, helpdesk)
