"""The ports every organ shares: the queue between functions and the state table.

Organ ports live in their packages (sources.ports, identity.ports, outreach.ports). Each
has an AWS/HTTP adapter and an in-memory fake (socialcare.adapters.memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel


class Queue(Protocol):
    def send_all(self, messages: Sequence[BaseModel], delay_s: int = 0) -> None: ...


class State(Protocol):
    def get_cursor(self, source: str) -> str | None: ...

    def put_cursor(self, source: str, cursor: str) -> None: ...

    def claim(
        self, key: str, owner: str, ttl_s: int, *, reentrant: bool = False, **attrs: str
    ) -> bool:
        """Take `key` for `owner` (with `attrs`) unless it is held (by anyone, or by
        others if reentrant)."""
        ...

    def holder(self, key: str) -> dict[str, str] | None: ...

    def holders(self, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        """`holder` of several keys in one read: the items of those held, by key."""
        ...

    def update(self, key: str, owner: str, *, ttl_s: int | None = None, **attrs: str) -> None:
        """Set `attrs` (and a new expiry) on a key `owner` holds; NotTheHolder if not."""
        ...

    def advance(
        self, key: str, owner: str, *, expect: str, ttl_s: int | None = None, **attrs: str
    ) -> bool:
        """Set `attrs` (and a new expiry) only while `owner` holds `key` in state `expect`."""
        ...

    def release(self, key: str, owner: str, *, expect: str | None = None) -> bool:
        """Delete `key` if `owner` holds it (and it is in state `expect`); False if not."""
        ...

    def incr(self, key: str, ttl_s: int, by: int = 1) -> int: ...


class Inbox(Protocol):
    """A queue drained by hand by a scheduled function (adapters.sqs.SqsInbox)."""

    def receive(self, limit: int) -> list[tuple[str, str]]: ...

    def delete(self, receipts: Sequence[str]) -> None: ...

    def release(self, receipts: Sequence[str]) -> None: ...
