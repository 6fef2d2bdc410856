"""The pilot audience: while one is set, only its customers are e-mailed. Everyone else is
decided as usual and audited `not_in_pilot`, as if in shadow mode.

The list is one SSM parameter (template parameter `PilotCustomers` names it) holding
{"v": 1, "customers": [...], "emails": [...]}: keyed hashes of CRM customer ids
(Hasher.person) and of e-mail addresses (Hasher.address), so a staff member can be added
by either. `socialcare pilot add|remove|list` edits it; the functions re-read it within a
minute, no redeploy. An unreadable list fails the record (it waits on its queue): a pilot
that cannot be read must not turn into "everyone".
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socialcare import formats
from socialcare.errors import ConfigError, RetryableError


class PilotList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: int = formats.PILOT_LIST
    customers: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)

    def admits(self, customer_hash: str, address_hash: str | None) -> bool:
        return customer_hash in self.customers or (
            address_hash is not None and address_hash in self.emails
        )

    def to_json(self) -> str:
        return self.model_dump_json()


def parse(value: str, name: str = "the pilot list") -> PilotList:
    start_over = f"socialcare pilot clear --parameter {name}"
    try:
        data = json.loads(value)
        found = data.get("v") if isinstance(data, dict) else None
        fix = f"use the socialcare that wrote it, or start over: {start_over}"
        formats.check(name, found, formats.PILOT_LIST, fix)
        return PilotList.model_validate({**data, "v": formats.PILOT_LIST})  # older: migrated
    except (ValueError, TypeError, ValidationError) as exc:
        raise ConfigError(
            f"{name} is not a pilot list ({type(exc).__name__}): {start_over}, then add "
            "the pilot customers again"
        ) from None


class Pilot:
    """The pilot audience through a Powertools SSM provider, cached for a minute."""

    def __init__(self, provider: Any, name: str, max_age_s: int = 60) -> None:
        self._provider, self._name, self._max_age = provider, name, max_age_s

    def admits(self, customer_hash: str, address_hash: str | None) -> bool:
        try:
            value = str(self._provider.get(self._name, max_age=self._max_age))
        except Exception as exc:  # throttled, or the parameter is gone: wait on the queue
            raise RetryableError(
                f"pilot list {self._name} not readable: {type(exc).__name__}"
            ) from exc
        return parse(value, self._name).admits(customer_hash, address_hash)
