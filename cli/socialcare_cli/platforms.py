"""Local stand-ins for the platforms' APIs, for the demo and the tests.

Each serves post items in the platform's own response shapes with the platform's own
paging (X `since_id`/`next_token`, Bluesky offset cursors, Reddit `after`, Trustpilot
page numbers, Mastodon `min_id`/`max_id` with a Link header), logins and auth errors, so
the real source classes run their real `requests` code against them
(`servers.serve(fake)`). Posts can be added between runs (`add`) to check that a sweep
stopped half-way skips nothing and repeats nothing; `fail_next` scripts the next answers
(429, 5xx, HTML error pages...), `None` meaning "answer normally".
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

Response = tuple[int, dict[str, str], bytes]

TIME_KEYS = {"created_at", "createdAt", "indexedAt"}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso(value: datetime, ms: bool = True) -> str:
    text = value.astimezone(UTC).isoformat(timespec="milliseconds" if ms else "seconds")
    return text.replace("+00:00", "Z")


class IdClock:
    """Ids whose high bits are a time (snowflakes, Bluesky TIDs). When sample posts are moved
    in time their ids are re-minted with them, so that an id and its post's time agree as
    they do on the platform: sources ask for ids after "now minus the lookback"."""

    def token(self, value: Any) -> str | None:
        """The time-based id inside a post's `id` (or `uri`) value, if it holds one."""
        raise NotImplementedError

    def moved(self, token: str, delta: timedelta) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Snowflake(IdClock):
    """A decimal id with the milliseconds since `epoch_ms` above its `bits` low bits."""

    bits: int
    epoch_ms: int = 0

    def token(self, value: Any) -> str | None:
        # small counters (old account ids) are not times: before 2008 no platform minted these
        ok = isinstance(value, str) and value.isdigit() and self.time(value).year >= 2008
        return value if ok else None

    def time(self, token: str) -> datetime:
        return datetime.fromtimestamp(((int(token) >> self.bits) + self.epoch_ms) / 1000, UTC)

    def mint(self, at: datetime, low: int = 0) -> str:
        return str(((round(at.timestamp() * 1000) - self.epoch_ms) << self.bits) | low)

    def moved(self, token: str, delta: timedelta) -> str:
        return str(int(token) + (round(delta.total_seconds() * 1000) << self.bits))


TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable


@dataclass(frozen=True)
class Tid(IdClock):
    """An AT Protocol record key: 13 base32-sortable characters of 64 bits, microseconds
    since 1970 above a 10-bit clock id; found as the last part of an at:// `uri`."""

    def token(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.startswith("at://"):
            return None
        rkey = value.rsplit("/", 1)[1]
        ok = len(rkey) == 13 and set(rkey) <= set(TID_ALPHABET) and rkey[0] in TID_ALPHABET[:16]
        return rkey if ok else None

    @staticmethod
    def decode(token: str) -> int:
        number = 0
        for char in token:
            number = number * 32 + TID_ALPHABET.index(char)
        return number

    @staticmethod
    def encode(number: int) -> str:
        return "".join(TID_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(13)))

    def time(self, token: str) -> datetime:
        return datetime.fromtimestamp((self.decode(token) >> 10) / 1_000_000, UTC)

    def moved(self, token: str, delta: timedelta) -> str:
        micros = round(delta.total_seconds() * 1_000_000)
        return self.encode(self.decode(token) + (micros << 10))


MASTODON_IDS = Snowflake(bits=16)
X_IDS = Snowflake(bits=22, epoch_ms=1288834974657)
BLUESKY_TIDS = Tid()


@dataclass(frozen=True)
class TimeFields:
    """Where a platform's payloads keep post times: keys holding time strings (read with
    `parse`, written with `write`), keys holding epoch seconds, and the time-based ids
    (`ids`, read from the `id` or `uri` of any object that carries a time)."""

    text: frozenset[str]
    epoch: frozenset[str]
    parse: Callable[[str], datetime]
    write: Callable[[datetime], str]
    ids: IdClock | None = None

    def shift(self, obj: Any, delta: timedelta) -> Any:
        """A copy with every post time moved by `delta` (sample data that never goes stale),
        and every time-based id re-minted with it, wherever the id appears (references,
        URLs, paging metadata)."""
        moved = self._move_times(obj, delta)
        if self.ids is None:
            return moved
        renamed = {t: self.ids.moved(t, delta) for t in self._tokens(obj)}
        if not renamed:
            return moved
        ids = "|".join(map(re.escape, sorted(renamed, key=len, reverse=True)))
        pattern = re.compile(f"(?<![0-9A-Za-z])(?:{ids})(?![0-9A-Za-z])")
        return _map_strings(moved, lambda s: pattern.sub(lambda m: renamed[m.group(0)], s))

    def _move_times(self, obj: Any, delta: timedelta) -> Any:
        if isinstance(obj, list):
            return [self._move_times(v, delta) for v in obj]
        if not isinstance(obj, dict):
            return obj
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in self.text and isinstance(value, str):
                out[key] = self.write(self.parse(value) + delta)
            elif key in self.epoch and isinstance(value, int | float):
                out[key] = type(value)(value + delta.total_seconds())
            else:
                out[key] = self._move_times(value, delta)
        return out

    def _tokens(self, obj: Any) -> set[str]:
        """The time-based ids of every object in `obj` that has a time of its own."""
        found: set[str] = set()
        if isinstance(obj, list):
            for value in obj:
                found |= self._tokens(value)
        elif isinstance(obj, dict):
            assert self.ids is not None
            if any(key in obj for key in self.text | self.epoch):
                for key in ("id", "uri"):
                    if (token := self.ids.token(obj.get(key))) is not None:
                        found.add(token)
            for value in obj.values():
                found |= self._tokens(value)
        return found

    def newest(self, obj: Any) -> datetime | None:
        """The latest post time anywhere in `obj`."""
        if isinstance(obj, list):
            times = [self.newest(v) for v in obj]
        elif isinstance(obj, dict):
            times = [
                self.parse(v)
                if key in self.text and isinstance(v, str)
                else datetime.fromtimestamp(v, tz=UTC)
                if key in self.epoch and isinstance(v, int | float)
                else self.newest(v)
                for key, v in obj.items()
            ]
        else:
            return None
        found = [t for t in times if t is not None]
        return max(found) if found else None

    def fresh(self, obj: Any, newest_age: timedelta = timedelta(minutes=5)) -> Any:
        """`obj` with its times moved so the newest post is `newest_age` old."""
        latest = self.newest(obj)
        if latest is None:
            return obj
        delta = datetime.now(UTC) - newest_age - latest
        return self.shift(obj, timedelta(seconds=int(delta.total_seconds())))  # ids agree to the ms


def _map_strings(obj: Any, change: Callable[[str], str]) -> Any:
    if isinstance(obj, list):
        return [_map_strings(v, change) for v in obj]
    if isinstance(obj, dict):
        return {k: _map_strings(v, change) for k, v in obj.items()}
    return change(obj) if isinstance(obj, str) else obj


TIMES = TimeFields(frozenset(TIME_KEYS), frozenset({"created_utc"}), _time, _iso)
# Per platform: the same time keys, and the ids that carry a time where a platform has them.
PLATFORM_TIMES = {
    "x": replace(TIMES, ids=X_IDS),
    "mastodon": replace(TIMES, ids=MASTODON_IDS),
    "bluesky": replace(TIMES, ids=BLUESKY_TIDS),
    "reddit": TIMES,  # base-36 ids are counters, not times
    "trustpilot": TIMES,  # hex object ids
}


def fresh(obj: Any, platform: str, newest_age: timedelta = timedelta(minutes=5)) -> Any:
    """A platform's sample pages with the newest post `newest_age` old, ids re-minted."""
    return PLATFORM_TIMES[platform].fresh(obj, newest_age)


class FakePlatform:
    """Request log, scripted answers and an exhaustible rate-limit budget for every fake.

    `fail_next` scripts the answers to the next GET requests (logins are never scripted);
    `exhaust_at=N` makes the N-th GET answer say `remaining: 0`, the way platforms announce
    the last request of a rate-limit window.
    """

    REMAINING = ("x-rate-limit-remaining", "ratelimit-remaining", "x-ratelimit-remaining")

    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.fail_next: list[Response | None] = []
        self.exhaust_at: int | None = None
        # Changes to the JSON bodies of the next normal GET answers (a broken post item...)
        self.edit_next: list[Callable[[Any], None]] = []

    def __call__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> Response:
        self.requests.append((method, path, query))
        if method == "GET" and self.fail_next and (scripted := self.fail_next.pop(0)) is not None:
            return scripted
        status, out, payload = self.route(method, path, query, body, headers)
        if method == "GET" and status == 200 and self.edit_next:
            document = json.loads(payload)
            self.edit_next.pop(0)(document)
            payload = json.dumps(document).encode()
        gets = sum(1 for m, _, _ in self.requests if m == "GET")
        if method == "GET" and gets == self.exhaust_at:
            out = {k: v for k, v in out.items() if k.lower() not in self.REMAINING}
            out.update({name: "0" for name in self.REMAINING}, **{"x-rate-limit-reset": "60"})
        return status, out, payload

    def route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
        headers: dict[str, str],
    ) -> Response:
        raise NotImplementedError

    def searches(self, path_part: str) -> list[dict[str, list[str]]]:
        return [q for m, p, q in self.requests if m == "GET" and path_part in p]


def _one(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    return query.get(name, [default])[0]


def _bearer(headers: dict[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value.split(" ", 1)[1] if " " in value else ""


def _basic(headers: dict[str, str]) -> tuple[str, str]:
    token = _bearer(headers)
    try:
        user, _, password = base64.b64decode(token).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


# -------------------------------------------------------------------------------- X
class FakeX(FakePlatform):
    """GET /2/tweets/search/recent with an app bearer token.

    Newest id first; `since_id`/`start_time` filter; `next_token` continues below the last
    id of the previous page (stable when posts arrive, like X's tokens).
    """

    def __init__(self, pages: Iterable[dict[str, Any]], token: str, page_size: int = 2) -> None:
        super().__init__(page_size)
        self.token = token
        self.tweets: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        for page in pages:
            self.add(page)

    def add(self, page: dict[str, Any]) -> None:
        self.tweets += page.get("data", [])
        for user in page.get("includes", {}).get("users", []):
            self.users[user["id"]] = user
        self.tweets.sort(key=lambda t: int(t["id"]), reverse=True)

    def route(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Response:
        if path != "/2/tweets/search/recent":
            return _json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})
        if _bearer(headers) != self.token:
            problem = {"title": "Unauthorized", "type": "about:blank", "status": 401}
            return _json(401, {**problem, "detail": "Unauthorized"})
        tweets = self.tweets
        if since := _one(query, "since_id"):
            tweets = [t for t in tweets if int(t["id"]) > int(since)]
        if start := _one(query, "start_time"):
            tweets = [t for t in tweets if _time(t["created_at"]) >= _time(start)]
        if token := _one(query, "next_token"):
            tweets = [t for t in tweets if int(t["id"]) < int(token.removeprefix("b"))]
        size = min(int(_one(query, "max_results", "10") or 10), self.page_size)
        page, rest = tweets[:size], tweets[size:]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if page and rest:
            meta["next_token"] = "b" + page[-1]["id"]
        body_out: dict[str, Any] = {"meta": meta}
        if page:
            body_out["data"] = page
            authors = {t.get("author_id") for t in page}
            body_out["includes"] = {"users": [u for i, u in self.users.items() if i in authors]}
        limits = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449"}
        return _json(200, body_out, limits)


# -------------------------------------------------------------------------------- Bluesky
def sort_at(post: dict[str, Any]) -> datetime:
    indexed = _time(post["indexedAt"])
    created = post.get("record", {}).get("createdAt")
    return min(indexed, _time(created)) if created else indexed


class FakeBluesky(FakePlatform):
    """A PDS: createSession/refreshSession with an app password, and searchPosts.

    Search sorts by sortAt (the earlier of createdAt and indexedAt), newest first; `since`
    is inclusive; the cursor is an offset, as the AppView's search service gives it, so
    posts arriving mid-sweep shift later pages.
    """

    def __init__(
        self, pages: Iterable[dict[str, Any]], identifier: str, password: str, page_size: int = 2
    ) -> None:
        super().__init__(page_size)
        self.identifier, self.password = identifier, password
        self.posts: list[dict[str, Any]] = []
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.logins = 0
        for page in pages:
            self.add(page)

    def add(self, page: dict[str, Any]) -> None:
        self.posts += page.get("posts", [])
        self.posts.sort(key=sort_at, reverse=True)

    def expire_sessions(self) -> None:
        self.access.clear()

    def _session(self) -> Response:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access.add(access)
        self.refresh.add(refresh)
        did = "did:plc:lynetdemo0000000000000"
        return _json(
            200, {"accessJwt": access, "refreshJwt": refresh, "did": did, "handle": self.identifier}
        )

    def route(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Response:
        if path == "/xrpc/com.atproto.server.createSession" and method == "POST":
            login = json.loads(body or b"{}")
            if login.get("identifier") != self.identifier or login.get("password") != self.password:
                message = "Invalid identifier or password"
                return _json(401, {"error": "AuthenticationRequired", "message": message})
            self.logins += 1
            return self._session()
        if path == "/xrpc/com.atproto.server.refreshSession" and method == "POST":
            if _bearer(headers) not in self.refresh:
                return _json(400, {"error": "ExpiredToken", "message": "Token has expired"})
            self.refresh.discard(_bearer(headers))
            return self._session()
        if path != "/xrpc/app.bsky.feed.searchPosts":
            return _json(404, {"error": "MethodNotImplemented"})
        if _bearer(headers) not in self.access:
            return _json(400, {"error": "ExpiredToken", "message": "Token has expired"})
        posts = self.posts
        if since := _one(query, "since"):
            posts = [p for p in posts if sort_at(p) >= _time(since)]
        offset = int(_one(query, "cursor", "0") or 0)
        size = min(int(_one(query, "limit", "25") or 25), self.page_size)
        page = posts[offset : offset + size]
        out: dict[str, Any] = {"posts": page}
        if offset + size < len(posts):
            out["cursor"] = str(offset + size)
        limits = {"RateLimit-Limit": "3000", "RateLimit-Remaining": "2999"}
        return _json(200, out, limits)


# -------------------------------------------------------------------------------- Reddit
class FakeReddit(FakePlatform):
    """POST /api/v1/access_token (client credentials), GET [/r/<subs>]/search?sort=new."""

    def __init__(
        self, pages: Iterable[dict[str, Any]], client_id: str, secret: str, page_size: int = 2
    ) -> None:
        super().__init__(page_size)
        self.client = (client_id, secret)
        self.children: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        for page in pages:
            self.add(page)

    def add(self, page: dict[str, Any]) -> None:
        self.children += page["data"]["children"]
        self.children.sort(key=lambda c: int(c["data"]["id"], 36), reverse=True)

    def route(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Response:
        if path == "/api/v1/access_token" and method == "POST":
            if _basic(headers) != self.client:
                return _json(401, {"message": "Unauthorized", "error": 401})
            token = secrets.token_urlsafe(16)
            self.tokens.add(token)
            scope = "*"
            return _json(
                200,
                {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": scope},
            )
        if not path.endswith("/search"):
            return _json(404, {"message": "Not Found", "error": 404})
        if _bearer(headers) not in self.tokens:
            return _json(401, {"message": "Unauthorized", "error": 401})
        children = self.children
        if after := _one(query, "after"):
            below = int(after.split("_", 1)[1], 36)
            children = [c for c in children if int(c["data"]["id"], 36) < below]
        size = min(int(_one(query, "limit", "25") or 25), self.page_size)
        page = children[:size]
        last = page[-1]["data"]["name"] if page and len(children) > size else None
        listing = {
            "kind": "Listing",
            "data": {"after": last, "dist": len(page), "children": page, "before": None},
        }
        limits = {
            "x-ratelimit-used": "1",
            "x-ratelimit-remaining": "599.0",
            "x-ratelimit-reset": "500",
        }
        return _json(200, listing, limits)


# -------------------------------------------------------------------------------- Trustpilot
class FakeTrustpilot(FakePlatform):
    """A business unit's reviews: public (API key) and private (business user, with e-mail)."""

    def __init__(
        self,
        pages: Iterable[dict[str, Any]],
        unit: str,
        api_key: str,
        api_secret: str = "",
        username: str = "",
        password: str = "",
        page_size: int = 2,
    ) -> None:
        super().__init__(page_size)
        self.unit, self.api_key = unit, api_key
        self.business = (api_secret, username, password)
        self.reviews: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        for page in pages:
            self.add(page)

    def add(self, page: dict[str, Any]) -> None:
        self.reviews += page["reviews"]
        self.reviews.sort(key=lambda r: _time(r["createdAt"]), reverse=True)

    def route(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Response:
        apikey = next((v for k, v in headers.items() if k.lower() == "apikey"), "")
        if path.endswith("/accesstoken") and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            user, secret = _basic(headers)
            login = (secret, form.get("username"), form.get("password"))
            if user != self.api_key or login != self.business or not all(self.business):
                return _json(401, {"fault": {"faultstring": "Invalid credentials"}})
            token = secrets.token_urlsafe(16)
            self.tokens.add(token)
            return _json(
                200, {"access_token": token, "expires_in": "359999", "token_type": "Bearer"}
            )
        one = re.fullmatch(r"/v1/(private/)?reviews/([^/]+)", path)
        if one:  # one review by id: what a webhook's thin notification is read back with
            private = bool(one.group(1))
            if apikey != self.api_key or (private and _bearer(headers) not in self.tokens):
                return _json(401, {"fault": {"faultstring": "Invalid ApiKey"}})
            found = [r for r in self.reviews if r.get("id") == one.group(2)]
            if not found:
                return _json(404, {"message": "Not found"})
            return _json(200, found[0] if private else _public(found[0]))
        private = path == f"/v1/private/business-units/{self.unit}/reviews"
        if not private and path != f"/v1/business-units/{self.unit}/reviews":
            return _json(404, {"message": "Not found"})
        if apikey != self.api_key or (private and _bearer(headers) not in self.tokens):
            return _json(401, {"fault": {"faultstring": "Invalid ApiKey"}})
        page = int(_one(query, "page", "1") or 1)
        size = min(int(_one(query, "perPage", "20") or 20), self.page_size)
        chunk = self.reviews[(page - 1) * size : page * size]
        if not private:  # the public endpoint carries no e-mail or order reference
            chunk = [_public(r) for r in chunk]
        links = [{"href": f"{path}?{urlencode({'page': page})}", "method": "GET", "rel": "self"}]
        if page * size < len(self.reviews):
            links.append(
                {
                    "href": f"{path}?{urlencode({'page': page + 1})}",
                    "method": "GET",
                    "rel": "next-page",
                }
            )
        return _json(200, {"reviews": chunk, "links": links})


def _public(review: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in review.items() if k not in ("referralEmail", "referenceId")}
    out["consumer"] = {k: v for k, v in review.get("consumer", {}).items() if k != "email"}
    return out


# -------------------------------------------------------------------------------- Mastodon
class FakeMastodon(FakePlatform):
    """One instance: hashtag timelines (min_id/max_id, Link header) and v2 status search."""

    def __init__(
        self,
        base_url: str,
        tags: dict[str, list[dict[str, Any]]],
        search: list[dict[str, Any]] | None = None,
        token: str = "",
        page_size: int = 2,
    ) -> None:
        super().__init__(page_size)
        self.base_url, self.token = base_url, token
        self.tags = {
            t: sorted(s, key=lambda x: int(x["id"]), reverse=True) for t, s in tags.items()
        }
        self.search = sorted(search or [], key=lambda x: int(x["id"]), reverse=True)

    def add(self, statuses: list[dict[str, Any]], tag: str = "lynet") -> None:
        merged = self.tags.get(tag, []) + statuses
        self.tags[tag] = sorted(merged, key=lambda x: int(x["id"]), reverse=True)

    def _window(self, statuses: list[dict[str, Any]], query: Any) -> list[dict[str, Any]]:
        size = min(int(_one(query, "limit", "20") or 20), self.page_size)
        if max_id := _one(query, "max_id"):
            statuses = [s for s in statuses if int(s["id"]) < int(max_id)]
        if min_id := _one(query, "min_id"):
            # the statuses just after min_id (oldest first), returned newest first
            after = [s for s in statuses if int(s["id"]) > int(min_id)]
            return after[-size:]
        return statuses[:size]

    def route(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Response:
        limits = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "299",
            "X-RateLimit-Reset": _iso(datetime.now(UTC) + timedelta(minutes=5)),
        }
        if path.startswith("/api/v1/timelines/tag/"):
            tag = path.rsplit("/", 1)[1].lower()
            if tag not in self.tags:
                return _json(404, {"error": "Record not found"})
            page = self._window(self.tags[tag], query)
            if page:
                url = f"{self.base_url}{path}"
                newest, oldest = page[0]["id"], page[-1]["id"]
                limits["Link"] = (
                    f'<{url}?max_id={oldest}>; rel="next", <{url}?min_id={newest}>; rel="prev"'
                )
            return _json(200, page, limits)
        if path == "/api/v2/search":
            if not self.token or _bearer(headers) != self.token:
                return _json(401, {"error": "The access token is invalid"})
            page = self._window(self.search, query) if _one(query, "type") == "statuses" else []
            return _json(200, {"accounts": [], "statuses": page, "hashtags": []}, limits)
        return _json(404, {"error": "Record not found"})


# -------------------------------------------------------------------------------- Threads
class FakeThreads(FakePlatform):
    """graph.threads.net/v1.0: a post by id, `/{user-id}/mentions` and `keyword_search`
    (newest first, `since`), for the account's user token (a Bearer header)."""

    def __init__(
        self, posts: Iterable[dict[str, Any]], user: str, token: str, found: Iterable[str] = ()
    ) -> None:
        super().__init__(page_size=25)
        self.posts = {p["id"]: p for p in posts}
        self.user, self.token = user, token
        self.found = set(found)  # ids keyword_search finds (mentions lists the others)

    def route(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Response:
        if _bearer(headers) != self.token:
            error = {
                "message": "Invalid OAuth access token.",
                "type": "OAuthException",
                "code": 190,
            }
            return _json(401, {"error": error})
        parts = path.strip("/").split("/")[1:]  # after the version
        since = int(_one(query, "since", "0") or 0)
        if parts in ([self.user, "mentions"], ["keyword_search"]):
            wanted = parts == ["keyword_search"]
            items = [p for i, p in self.posts.items() if (i in self.found) == wanted]
            items = [p for p in items if _time(_colon(p["timestamp"])).timestamp() >= since]
            items.sort(key=lambda p: _time(_colon(p["timestamp"])), reverse=True)
            return _json(200, {"data": items})
        if len(parts) == 1 and parts[0] in self.posts:
            return _json(200, self.posts[parts[0]])
        error = {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100}
        return _json(400, {"error": error})


def _colon(stamp: str) -> str:
    """Threads writes offsets as +0000; fromisoformat before 3.11 wants +00:00."""
    return stamp[:-2] + ":" + stamp[-2:] if re.search(r"[+-]\d{4}$", stamp) else stamp


# -------------------------------------------------------------------------------- Google
class FakeGoogle(FakePlatform):
    """Business Profile API v4 (a location's reviews, one review by name), Google's OAuth
    token endpoint (refresh tokens) and a JWKS at /oauth2/v3/certs (the keys given)."""

    def __init__(
        self,
        reviews: Iterable[dict[str, Any]],
        client: tuple[str, str, str],
        jwks: dict[str, Any],
    ) -> None:
        super().__init__(page_size=50)
        self.reviews = sorted(reviews, key=lambda r: _time(r["updateTime"]), reverse=True)
        self.client, self.jwks = client, jwks
        self.tokens: set[str] = set()

    def route(self, method: str, path: str, query: Any, body: bytes, headers: Any) -> Response:
        if path == "/oauth2/v3/certs":
            return _json(200, self.jwks)
        if path == "/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            given = (form.get("client_id"), form.get("client_secret"), form.get("refresh_token"))
            if given != self.client or form.get("grant_type") != "refresh_token":
                return _json(400, {"error": "invalid_grant"})
            token = "ya29." + secrets.token_urlsafe(16)
            self.tokens.add(token)
            return _json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
        if _bearer(headers) not in self.tokens:
            return _json(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        name = path.removeprefix("/v4/")
        if name.endswith("/reviews"):
            location = name.removesuffix("/reviews")
            found = [r for r in self.reviews if r["name"].startswith(location + "/")]
            return _json(200, {"reviews": found, "totalReviewCount": len(found)})
        found = [r for r in self.reviews if r["name"] == name]
        if found:
            return _json(200, found[0])
        return _json(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
