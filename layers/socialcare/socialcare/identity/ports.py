"""The CRM port: how identity and the mailer ask the company's systems."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from socialcare.models import Customer, Interaction


class Crm(Protocol):
    def find_by_handle(self, platform: str, handle: str) -> list[Customer]: ...

    def find_by_email(self, email: str) -> list[Customer]: ...

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        """The best `limit` customers for a name by the project's score (blocking.best),
        best first, from every customer sharing a name key with it; or `limit` that
        each score at least blocking.STRONG, one at least ACCEPT (then the match is
        ambiguous whatever the rest are). May raise blocking.TooManyCandidates."""
        ...

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]: ...

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None: ...
