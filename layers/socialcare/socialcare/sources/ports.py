"""The port every source of mentions implements, and the page it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from socialcare.models import Mention


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
