"""The `replay` source: serves recorded, already-normalised pages from a URL.

Page shape: {"posts": [Mention fields...], "cursor": "<position>", "has_more": bool}.
The demo and the tests use it; platform sources sit behind the same port.
"""

from __future__ import annotations

from typing import Any

import requests

from socialcare.models import Mention
from socialcare.sources.base import get_json, parse_items, require
from socialcare.sources.ports import Page


class ReplaySource:
    name = "replay"

    def __init__(self, session: requests.Session, url: str) -> None:
        self._session = session
        self._url = url

    def fetch_page(self, cursor: str | None) -> Page:
        body = get_json(
            self._session, self.name, self._url, params={"after": cursor} if cursor else None
        )
        require(
            isinstance(body, dict) and isinstance(body.get("posts"), list),
            self.name,
            "page has no 'posts' list",
        )
        mentions, invalid = parse_items(self.name, body["posts"], _parse)
        next_cursor = body.get("cursor")
        return Page(
            mentions=mentions,
            cursor=str(next_cursor) if next_cursor else cursor,
            has_more=bool(body.get("has_more")),
            invalid=invalid,
        )


def _parse(item: Any) -> Mention:
    if not isinstance(item, dict):
        raise TypeError("post item is not an object")
    return Mention.model_validate({"source": "replay", **item})
