"""The ports between the business logic and the outside world.

Each has an HTTP/AWS adapter (socialcare.adapters) and an in-memory fake
(socialcare.adapters.memory) for unit tests of logic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from socialcare.models import Customer, Interaction, Mention


@dataclass
class Page:
    """One page of mentions and the cursor to store once they are safely queued."""

    mentions: list[Mention]
    cursor: str | None
    has_more: bool = False
    invalid: int = 0  # post items that could not be read (counted, never silently dropped)
    notes: list[str] = field(default_factory=list)


class Source(Protocol):
    name: str

    def fetch_page(self, cursor: str | None) -> Page: ...


class Crm(Protocol):
    def find_by_handle(self, platform: str, handle: str) -> list[Customer]: ...

    def find_by_email(self, email: str) -> list[Customer]: ...

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]: ...

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]: ...

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None: ...


@dataclass(frozen=True)
class Email:
    """A rendered e-mail: what the mailer hands to the mail port."""

    to: str
    sender: str
    reply_to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


class Queue(Protocol):
    def send_all(self, messages: Sequence[BaseModel], delay_s: int = 0) -> None: ...


class State(Protocol):
    def get_cursor(self, source: str) -> str | None: ...

    def put_cursor(self, source: str, cursor: str) -> None: ...

    def claim(self, key: str, owner: str, ttl_s: int, *, reentrant: bool = False) -> bool:
        """Take `key` for `owner` unless it is held (by anyone, or by others if reentrant)."""
        ...

    def holder(self, key: str) -> dict[str, str] | None: ...

    def update(self, key: str, owner: str, **attrs: str) -> None: ...

    def release(self, key: str, owner: str) -> None: ...

    def incr(self, key: str, ttl_s: int, by: int = 1) -> int: ...
