"""Local HTTP servers for the demo and the tests: a replay source, a CRM that speaks the
socialcare contract (docs/crm-api.yaml), and the base the vendor stand-ins share
(`VendorStandIn`: standin_hubspot.py, standin_zendesk.py, standin_salesforce.py). Real HTTP
on 127.0.0.1, real `requests`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from socialcare.identity.blocking import KEYS_VERSION, name_keys
from socialcare.identity.names import Name


class _Handler(BaseHTTPRequestHandler):
    route: Callable[
        [str, str, dict[str, list[str]], bytes, dict[str, str]], tuple[int, dict[str, str], bytes]
    ]

    def _serve(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = type(self).route(
            self.command, url.path, parse_qs(url.query), body, dict(self.headers.items())
        )
        try:
            self.send_response(status)
            headers.setdefault("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout), as clients do

    do_GET = do_POST = do_PUT = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: request lines would contain handles and e-mail addresses


@contextmanager
def serve(route: Callable[..., tuple[int, dict[str, str], bytes]], port: int = 0) -> Iterator[str]:
    """Serve `route(method, path, query, body, headers)` on 127.0.0.1; yields the base URL."""
    handler = type("Handler", (_Handler,), {"route": staticmethod(route)})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    # A short poll interval makes shutdown quick (tests start many servers).
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _json(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return status, dict(headers or {}), json.dumps(body).encode()


def materialise(post: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Sample posts carry `minutes_ago` instead of a date, so the demo never goes stale."""
    out = {k: v for k, v in post.items() if k != "minutes_ago"}
    if "minutes_ago" in post:
        out["created_at"] = (now - timedelta(minutes=post["minutes_ago"])).isoformat()
    return out


Answer = tuple[int, dict[str, str], bytes]


class Scripted:
    """Scripted answers for the next requests (`fail_next`); None means answer normally."""

    fail_next: list[Answer | None]

    def scripted(self) -> Answer | None:
        return self.fail_next.pop(0) if self.fail_next else None


class ReplayPages(Scripted):
    """Pages of posts: GET /?after=<position> -> {"posts", "cursor", "has_more"}."""

    def __init__(self, posts: list[dict[str, Any]], page_size: int = 5) -> None:
        self.posts = posts
        self.page_size = page_size
        self.requests: list[str | None] = []
        self.fail_next = []

    def __call__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> tuple[int, dict[str, str], bytes]:
        after = query.get("after", [None])[0]
        self.requests.append(after)
        if (scripted := self.scripted()) is not None:
            return scripted
        start = int(after) if after else 0
        chunk = self.posts[start : start + self.page_size]
        now = datetime.now(UTC)
        end = start + len(chunk)
        return _json(
            200,
            {
                "posts": [materialise(p, now) for p in chunk],
                "cursor": str(end),
                "has_more": end < len(self.posts),
            },
        )


class ContractCrm(Scripted):
    """The socialcare CRM contract over an in-memory directory (customers + interactions)."""

    def __init__(
        self,
        customers: list[dict[str, Any]],
        interactions: dict[str, list[dict[str, Any]]] | None = None,
        token: str = "demo-token",  # noqa: S107 - the sample CRM's own token
    ) -> None:
        self.customers = customers
        self.interactions = interactions or {}
        self.token = token
        self.recorded: list[tuple[str, dict[str, Any]]] = []
        self.fail_next = []
        self.calls = 0
        self.delay_s = 0.0

    def __call__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> tuple[int, dict[str, str], bytes]:
        self.calls += 1
        if self.delay_s:  # a slow CRM, for client timeouts
            time.sleep(self.delay_s)
        if (scripted := self.scripted()) is not None:
            return scripted
        if headers.get("Authorization") != f"Bearer {self.token}":
            return _json(401, {"error": "unauthorized"})
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "GET" and parts == ["customers"]:
            return _json(200, {"customers": self._find(query)})
        if len(parts) == 3 and parts[0] == "customers" and parts[2] == "interactions":
            customer_id = parts[1]
            if method == "POST":
                item = json.loads(body or b"{}")
                self.recorded.append((customer_id, item))
                self.interactions.setdefault(customer_id, []).append(item)
                return _json(201, item)
            since = datetime.fromisoformat(query.get("since", ["1970-01-01T00:00:00+00:00"])[0])
            return _json(
                200,
                {
                    "interactions": [
                        i
                        for i in self._materialised(customer_id)
                        if i.get("open") or datetime.fromisoformat(i["at"]) >= since
                    ]
                },
            )
        return _json(404, {"error": "not found"})

    def _materialised(self, customer_id: str) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        out = []
        for item in self.interactions.get(customer_id, []):
            item = dict(item)
            if "hours_ago" in item:
                item["at"] = (now - timedelta(hours=item.pop("hours_ago"))).isoformat()
            out.append(item)
        return out

    def _find(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        if "handle" in query:
            handle = query["handle"][0].lower()
            return [c for c in self.customers if handle in c.get("handles", [])]
        if "email" in query:
            email = query["email"][0].lower()
            return [c for c in self.customers if (c.get("email") or "").lower() == email]
        if "name_key" in query:
            # An exact match on the keys stored beside each customer, as a CRM with
            # exact-only search answers it (the proxy stores `socialcare name-keys`).
            wanted = query["name_key"][0]
            limit = int(query.get("limit", ["10"])[0])
            found = [c for c in self.customers if wanted in self._keys(c.get("name") or "")]
            return found[:limit]
        return []

    @staticmethod
    def _keys(name: str) -> set[str]:
        return {f"{KEYS_VERSION}:{k}" for k in name_keys(Name.parse(name))}


# ---------------------------------------------------------------------- vendor stand-ins

Handler = Callable[[re.Match[str], dict[str, list[str]], Any], Answer]


def at_of(item: dict[str, Any], now: datetime) -> datetime:
    """An interaction's time: the sample CRM's `hours_ago` (so the demo never ages) or `at`."""
    if "hours_ago" in item:
        return now - timedelta(hours=float(item["hours_ago"]))
    at = datetime.fromisoformat(str(item["at"]).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class VendorStandIn(Scripted):
    """What the vendor stand-ins share: routes by method and path pattern, the vendor's
    credential check and error shapes, scripted answers (`fail_next`), a slow mode
    (`delay_s`), a request budget per window answered with 429 and Retry-After beyond it
    (`budget`), and a search index that lags writes by `index_lag_s`."""

    vendor = "vendor"
    prefixes: tuple[str, ...] = ("/",)

    def __init__(self, *, index_lag_s: float = 0.0, budget: tuple[int, float] | None = None):
        self.fail_next = []
        self.calls = 0
        self.delay_s = 0.0
        self.index_lag_s = index_lag_s
        self.budget = budget  # (requests, per seconds)
        self.requests: list[tuple[str, str]] = []
        self._spent: list[float] = []
        self._lock = threading.RLock()
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern), handler))

    def answers(self, path: str) -> bool:
        return path.startswith(self.prefixes)

    def unauthenticated(self, method: str, path: str, body: bytes) -> Answer | None:
        """The answer to a request that needs no credential (a token endpoint), or None."""
        return None

    def authorized(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def refusal(self) -> Answer:
        raise NotImplementedError

    def throttle(self, retry_after_s: int) -> Answer:
        return _json(429, {"error": "rate limited"}, {"Retry-After": str(retry_after_s)})

    def not_found(self) -> Answer:
        return _json(404, {"error": "not found"})

    def visible(self, created: float) -> bool:
        """Whether a record written at `created` (monotonic) is in the search index yet."""
        return time.monotonic() - created >= self.index_lag_s

    def _over_budget(self) -> int | None:
        if not self.budget:
            return None
        limit, window = self.budget
        now = time.monotonic()
        self._spent = [t for t in self._spent if now - t < window]
        if len(self._spent) >= limit:
            return max(1, round(window - (now - self._spent[0])))
        self._spent.append(now)
        return None

    def __call__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> Answer:
        self.calls += 1
        self.requests.append((method, path))
        if self.delay_s:
            time.sleep(self.delay_s)
        if (scripted := self.scripted()) is not None:
            return scripted
        if (answer := self.unauthenticated(method, path, body)) is not None:
            return answer
        if not self.authorized(headers):
            return self.refusal()
        if (wait := self._over_budget()) is not None:
            return self.throttle(wait)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return _json(400, {"error": "body is not JSON"})
        for verb, pattern, handler in self.routes:
            found = pattern.fullmatch(unquote(path))
            if verb == method and found:
                with self._lock:
                    return handler(found, query, payload)
        return self.not_found()


class Composite:
    """Several vendor stand-ins on one port; their paths do not collide."""

    def __init__(self, *parts: VendorStandIn) -> None:
        self.parts = parts

    def __call__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> Answer:
        for part in self.parts:
            if part.answers(path):
                return part(method, path, query, body, headers)
        return _json(404, {"error": "not found"})
