"""A local stand-in for Meta's Graph API, for the tests (and anyone trying the Facebook and
Instagram sources without a Meta app): serves list edges with Graph's paging, objects by
id, Instagram's `mentioned_media`/`mentioned_comment`, Graph error envelopes and the
usage headers, behind a Page token and `appsecret_proof` like the real API.

Paging: cursor edges (`/tagged`, `/tags`, `/media`) answer `paging.cursors.after` plus a
`next` URL; time-paged edges (`/feed`, `/visitor_posts`) answer a `next` URL with
`until`/`__paging_token` and no cursors. Both `next` URLs carry `access_token`, as Graph's
do when the token came as a parameter: a source must not store them.

Also: `sign(app_secret, body)` (the X-Hub-Signature-256 value Meta sends) and
`fresh(obj)` (Graph times moved so the newest is a few minutes old).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from socialcare_cli.platforms import FakePlatform, Response, TimeFields

TIME_FIELDS = ("tagged_time", "created_time", "timestamp")
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S+0000"
TIME_PAGED = ("feed", "visitor_posts")


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def graph_error(code: int, message: str, status: int = 400, subcode: int | None = None) -> Response:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode:
        error["error_subcode"] = subcode
    return status, {"Content-Type": "application/json"}, json.dumps({"error": error}).encode()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def item_time(item: dict[str, Any]) -> datetime:
    for name in TIME_FIELDS:
        if isinstance(item.get(name), str):
            return _parse(item[name])
    return datetime.fromtimestamp(0, UTC)


# Graph writes ISO times (also `time` in webhook changes); webhooks give epoch seconds.
GRAPH_TIMES = TimeFields(
    frozenset({*TIME_FIELDS, "time"}),
    frozenset({"created_time", "time"}),
    _parse,
    lambda at: at.strftime(GRAPH_TIME),
)
shift, newest, fresh = GRAPH_TIMES.shift, GRAPH_TIMES.newest, GRAPH_TIMES.fresh


def _token(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode()


def _index(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        return 0


class FakeGraph(FakePlatform):
    """graph.facebook.com/<version>, for one Page token and app secret."""

    def __init__(self, token: str, app_secret: str, page_size: int = 2) -> None:
        super().__init__(page_size)
        self.token = token
        self.app_secret = app_secret
        self.edges: dict[str, list[dict[str, Any]]] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.mentioned: dict[str, dict[str, Any]] = {}  # IG media/comment ids -> object
        self.usage: dict[str, Any] | None = None  # sent as X-App-Usage when set
        self.business_usage: dict[str, Any] | None = None  # X-Business-Use-Case-Usage

    # ---------------------------------------------------------------- content
    def add(self, edge: str, items: list[dict[str, Any]]) -> None:
        """Items on an edge (`<id>/<edge>`), kept newest first; each is also an object."""
        listed = self.edges.setdefault(edge, [])
        listed += items
        listed.sort(key=item_time, reverse=True)
        for item in items:
            self.put(item)

    def put(self, item: dict[str, Any]) -> None:
        if "id" in item:
            self.objects[str(item["id"])] = item
        for comment in item.get("comments", {}).get("data", []):
            self.put(comment)

    def add_page(self, edge: str, page: dict[str, Any]) -> None:
        self.add(edge, list(page.get("data", [])))

    # ---------------------------------------------------------------- answers
    def _json(self, status: int, body: Any) -> Response:
        headers = {"Content-Type": "application/json"}
        if self.usage is not None:
            headers["X-App-Usage"] = json.dumps(self.usage)
        if self.business_usage is not None:
            headers["X-Business-Use-Case-Usage"] = json.dumps(self.business_usage)
        return status, headers, json.dumps(body).encode()

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> Response:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = auth.split(" ", 1)[1] if " " in auth else (query.get("access_token") or [""])[0]
        if token != self.token:
            return graph_error(
                190, "Error validating access token: Session has expired.", subcode=463
            )
        proof = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if (query.get("appsecret_proof") or [""])[0] != proof:
            return graph_error(100, "Invalid appsecret_proof provided in the API argument")
        parts = re.sub(r"^/v\d+\.\d+", "", path).strip("/").split("/")
        one = {k: v[-1] for k, v in query.items()}
        if len(parts) == 2 and "/".join(parts) in self.edges:
            return self._list("/".join(parts), self.edges["/".join(parts)], one, parts[1])
        if len(parts) == 2 and parts[1] == "comments" and parts[0] in self.objects:
            comments = self.objects[parts[0]].get("comments", {}).get("data", [])
            return self._list("/".join(parts), comments, one, "comments")
        if len(parts) == 1:
            return self._object(parts[0], one.get("fields", ""))
        return graph_error(100, "Unsupported get request.", subcode=33)

    def _object(self, object_id: str, fields: str) -> Response:
        asked = re.match(r"mentioned_(media|comment)\.(?:media|comment)_id\((\w+)\)", fields)
        if asked:
            found = self.mentioned.get(asked.group(2))
            if found is None:
                return graph_error(100, "Unsupported get request.", subcode=33)
            return self._json(200, {f"mentioned_{asked.group(1)}": found, "id": object_id})
        found = self.objects.get(object_id)
        if found is None:
            return graph_error(100, "Unsupported get request.", subcode=33)
        return self._json(200, {k: v for k, v in found.items() if k != "comments"})

    def _list(
        self, edge: str, items: list[dict[str, Any]], query: dict[str, str], kind: str
    ) -> Response:
        if since := query.get("since"):
            items = [i for i in items if item_time(i).timestamp() >= int(since)]
        time_paged = kind in TIME_PAGED
        start = _index(query.get("__paging_token" if time_paged else "after"))
        size = min(int(query.get("limit") or 25), self.page_size)
        chunk = items[start : start + size]
        end = start + len(chunk)
        paging: dict[str, Any] = {}
        if not time_paged:
            paging["cursors"] = {"before": _token(start), "after": _token(end)}
        if end < len(items):
            params = {
                "access_token": self.token,
                "limit": str(size),
                **{k: v for k, v in query.items() if k in ("fields", "since")},
            }
            if time_paged:
                params["until"] = str(int(item_time(chunk[-1]).timestamp()))
                params["__paging_token"] = _token(end)
            else:
                params["after"] = _token(end)
            paging["next"] = f"https://graph.facebook.com/v25.0/{edge}?{urlencode(params)}"
        return self._json(200, {"data": chunk, "paging": paging})
