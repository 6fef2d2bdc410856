"""The CRM over the project's HTTP contract (docs/crm-api.yaml).

Every failure (5xx and 429 after retries, timeouts, unreadable bodies) is a CrmError,
which sends the message back to its queue: a CRM outage must never read as "no match".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from pydantic import ValidationError

from socialcare.errors import CrmError
from socialcare.http import make_session
from socialcare.identity.blocking import search_by_keys
from socialcare.models import Customer, Interaction
from socialcare.safejson import response_json


class HttpCrm:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.3,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._session = make_session(
            timeout_s=timeout_s,
            retries=retries,
            backoff_s=backoff_s,
            retry_statuses=(429, 500, 502, 503, 504),
        )
        self._session.headers["Authorization"] = f"Bearer {token}"

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._session.request(method, f"{self._base}{path}", **kwargs)
        except requests.RequestException as exc:
            raise CrmError(f"CRM {method} unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise CrmError(f"CRM {method} answered HTTP {response.status_code}")
        try:
            return response_json(response)
        except ValueError as exc:
            raise CrmError(f"CRM {method} answered with a body that is not JSON") from exc

    def _customers(self, params: dict[str, Any]) -> list[Customer]:
        body = self._request("GET", "/customers", params=params)
        try:
            return [Customer.model_validate(c) for c in body["customers"]]
        except (KeyError, TypeError, ValidationError) as exc:
            raise CrmError("CRM customer list has an unexpected shape") from exc

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        return self._customers({"handle": f"{platform}:{handle.lower().lstrip('@')}"})

    def find_by_email(self, email: str) -> list[Customer]:
        return self._customers({"email": email.strip().lower()})

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        """One exact `name_key` search per key of the name, scored here (blocking.py):
        the CRM needs no fuzzy search of its own, and cannot make a name match unsafe."""
        return search_by_keys(
            name, lambda key, most: self._customers({"name_key": key, "limit": most}), limit
        )

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        body = self._request(
            "GET",
            f"/customers/{quote(customer_id, safe='')}/interactions",
            params={"since": since.isoformat()},
        )
        try:
            return [Interaction.model_validate(i) for i in body["interactions"]]
        except (KeyError, TypeError, ValidationError) as exc:
            raise CrmError("CRM interaction list has an unexpected shape") from exc

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        self._request(
            "POST", f"/customers/{quote(customer_id, safe='')}/interactions", json=interaction
        )
