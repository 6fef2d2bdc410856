"""In-memory fakes of every port, for unit tests of logic (not for integration tests)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from socialcare.errors import NotTheHolder
from socialcare.identity.blocking import rank
from socialcare.identity.names import Name
from socialcare.models import Customer, Interaction
from socialcare.outreach.ports import Email
from socialcare.outreach.unsubscribe import TokenError
from socialcare.sources.ports import Page


class MemorySource:
    def __init__(self, pages: list[Page], name: str = "memory") -> None:
        self.name = name
        self._pages = pages
        self.calls: list[str | None] = []

    def fetch_page(self, cursor: str | None) -> Page:
        self.calls.append(cursor)
        index = int(cursor) if cursor else 0
        return self._pages[index] if index < len(self._pages) else Page([], cursor)


class MemoryCrm:
    def __init__(
        self,
        customers: list[Customer] | None = None,
        interactions: dict[str, list[Interaction]] | None = None,
    ) -> None:
        self.customers = list(customers or [])
        self.history = dict(interactions or {})
        self.recorded: list[tuple[str, dict[str, object]]] = []

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        return [c for c in self.customers if f"{platform}:{handle}" in c.handles]

    def find_by_email(self, email: str) -> list[Customer]:
        return [c for c in self.customers if (c.email or "").lower() == email.lower()]

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        return rank(Name.parse(name), self.customers, limit)

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        return [i for i in self.history.get(customer_id, []) if i.open or i.at >= since]

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        self.recorded.append((customer_id, interaction))
        self.history.setdefault(customer_id, []).append(Interaction.model_validate(interaction))


class MemoryMailer:
    def __init__(self) -> None:
        self.sent: list[Email] = []

    def send(self, email: Email) -> str:
        self.sent.append(email)
        return f"memory-{len(self.sent)}"


class MemoryQueue:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.delays: list[int] = []

    def send_all(self, messages: Sequence[BaseModel], delay_s: int = 0) -> None:
        self.messages.extend(m.model_dump_json() for m in messages)
        self.delays.extend([delay_s] * len(messages))


class MemoryState:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, str]] = {}
        self.cursors: dict[str, str] = {}

    def get_cursor(self, source: str) -> str | None:
        return self.cursors.get(source)

    def put_cursor(self, source: str, cursor: str) -> None:
        self.cursors[source] = cursor

    def _live(self, key: str) -> dict[str, str] | None:
        item = self.items.get(key)
        if item and int(item["expires_at"]) < time.time():
            return None
        return item

    def claim(
        self, key: str, owner: str, ttl_s: int, *, reentrant: bool = False, **attrs: str
    ) -> bool:
        item = self._live(key)
        if item and not (reentrant and item["owner"] == owner):
            return False
        self.items[key] = {**attrs, "owner": owner, "expires_at": str(int(time.time()) + ttl_s)}
        return True

    def holder(self, key: str) -> dict[str, str] | None:
        return self._live(key)

    def holders(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        return {key: item for key in keys if (item := self._live(key))}

    def update(self, key: str, owner: str, *, ttl_s: int | None = None, **attrs: str) -> None:
        item = self.items.get(key)
        if not item or item["owner"] != owner:  # DynamoDB's condition fails the same way
            raise NotTheHolder(f"{key.split('#')[0]} key is held by another owner")
        item.update(attrs)
        if ttl_s is not None:
            item["expires_at"] = str(int(time.time()) + ttl_s)

    def advance(
        self, key: str, owner: str, *, expect: str, ttl_s: int | None = None, **attrs: str
    ) -> bool:
        item = self._live(key)
        if not item or item["owner"] != owner or item.get("state") != expect:
            return False
        item.update(attrs)
        if ttl_s is not None:
            item["expires_at"] = str(int(time.time()) + ttl_s)
        return True

    def release(self, key: str, owner: str, *, expect: str | None = None) -> bool:
        item = self.items.get(key, {})
        if item.get("owner") != owner or (expect is not None and item.get("state") != expect):
            return False
        del self.items[key]
        return True

    def incr(self, key: str, ttl_s: int, by: int = 1) -> int:
        item = self.items.setdefault(
            key, {"owner": "", "expires_at": str(int(time.time()) + ttl_s), "n": "0"}
        )
        item["n"] = str(int(item["n"]) + by)
        return int(item["n"])


class MemorySealer:
    """Seals by reference: the blob names a plaintext kept here, so an altered or made-up
    blob opens nothing, as a forged ciphertext fails authentication."""

    def __init__(self) -> None:
        self.sealed: dict[bytes, bytes] = {}

    def seal(self, plaintext: bytes) -> bytes:
        ref = secrets.token_bytes(24)
        self.sealed[ref] = plaintext
        return ref

    def open(self, blob: bytes) -> bytes:
        try:
            return self.sealed[blob]
        except KeyError:
            raise TokenError("bad token") from None
