"""A local stand-in for Zendesk Support's API, with the request and answer shapes of its
public reference (../shared/fixtures/platforms/zendesk/NOTES.md): user search
(`/api/v2/users/search.json`, the search syntax's `key:value` terms and free text, with
`include=identities`), users and their requested tickets, ticket comments, tickets
created with a private comment or given one; offset paging with `next_page` URLs (100 a
page at most), `{"error": ...}` bodies, 401 for a wrong agent token, 429 with
`Retry-After` beyond a request budget, `X-Rate-Limit-*` and `ratelimit-*` headers, and a
search index that lags writes.

It loads the JSON `socialcare crm-import` takes: customers become end users (X and
Facebook handles as identities, others in user fields, the name-key tokens in a user
field), interactions become tickets they requested, by the channel they came through.
The credential is the JSON's `token` with any agent e-mail (`<email>/token:<token>`).
"""

from __future__ import annotations

import base64
import math
import re
import shlex
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from socialcare.identity.blocking import name_keys
from socialcare.identity.names import Name
from socialcare.identity.vendor import key_tokens, outreach_note
from socialcare.identity.zendesk import ZendeskOptions
from socialcare_cli.servers import Answer, VendorStandIn, _json, at_of

VIA = {"sms": "sms", "phone": "voice", "email": "email", "chat": "chat", "ticket": "web"}
MAX_PAGE = 100


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZendeskStandIn(VendorStandIn):
    vendor = "Zendesk"
    prefixes = ("/api/v2/",)

    def __init__(
        self,
        data: dict[str, Any],
        token: str | None = None,
        *,
        options: ZendeskOptions | None = None,
        index_lag_s: float = 0.0,
        budget: tuple[int, float] | None = None,
        base_url: str = "",
    ) -> None:
        super().__init__(index_lag_s=index_lag_s, budget=budget)
        self.token = token or data["token"]
        self.options = options or ZendeskOptions()
        self.base_url = base_url  # for next_page links; set once the port is known
        self.users: dict[int, dict[str, Any]] = {}
        self.identities: list[dict[str, Any]] = []
        self.tickets: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.ids: dict[str, str] = {}  # the loaded customer id -> user id
        self._next = 360_000
        now = datetime.now(UTC)
        for customer in data.get("customers", []):
            self.ids[customer["id"]] = str(self._user(customer))
        for customer_id, items in (data.get("interactions") or {}).items():
            for item in items:
                self._loaded_ticket(int(self.ids[customer_id]), item, at_of(item, now))
        self.route("GET", r"/api/v2/users/search\.json", self._search)
        self.route("GET", r"/api/v2/users/me\.json", self._me)
        self.route("GET", r"/api/v2/users/(\d+)\.json", self._read)
        self.route("GET", r"/api/v2/user_fields\.json", self._fields)
        self.route("GET", r"/api/v2/users/(\d+)/tickets/requested\.json", self._requested)
        self.route("GET", r"/api/v2/tickets/(\d+)/comments\.json", self._comments)
        self.route("POST", r"/api/v2/tickets\.json", self._create)
        self.route("PUT", r"/api/v2/tickets/(\d+)\.json", self._update)

    def _id(self) -> int:
        self._next += 1
        return self._next

    # ------------------------------------------------------------------ the account

    def _user(self, customer: dict[str, Any], *, indexed: bool = True) -> int:
        o = self.options
        uid = self._id()
        fields: dict[str, Any] = {
            o.city_field: customer.get("city"),
            o.do_not_contact_field: bool(customer.get("do_not_contact")),
            o.name_keys_field: key_tokens(name_keys(Name.parse(customer.get("name") or ""))),
        }
        if customer.get("email"):
            self._identity(uid, "email", customer["email"])
        for handle in customer.get("handles", []):
            platform, _, value = handle.partition(":")
            if platform in o.identity_types:
                self._identity(uid, o.identity_types[platform], value)
            else:
                fields[o.handle_field(platform)] = value
        stamp = _iso(datetime.now(UTC))
        self.users[uid] = {
            "id": uid,
            "url": f"{self.base_url}/api/v2/users/{uid}.json",
            "name": customer.get("name") or "",
            "email": customer.get("email"),
            "role": "end-user",
            "locale": customer.get("language") or "da",
            "created_at": stamp,
            "updated_at": stamp,
            "user_fields": fields,
            "written": -math.inf if indexed else time.monotonic(),
        }
        return uid

    def _identity(self, uid: int, kind: str, value: str) -> None:
        self.identities.append(
            {"id": self._id(), "user_id": uid, "type": kind, "value": value, "verified": True}
        )

    def _ticket(self, requester: int, at: datetime, **fields: Any) -> dict[str, Any]:
        tid = self._id()
        ticket = {
            "id": tid,
            "requester_id": requester,
            "submitter_id": requester,
            "created_at": _iso(at),
            "updated_at": _iso(at),
            "tags": [],
            "via": {"channel": "web"},
            **fields,
        }
        self.tickets[tid] = ticket
        return ticket

    def _loaded_ticket(self, uid: int, item: dict[str, Any], at: datetime) -> None:
        channel, kind = item.get("channel", ""), item.get("kind", "")
        if kind == "social_outreach":  # ours, made as the adapter makes them
            body, _ = outreach_note({"channel": channel, "kind": kind, "at": at.isoformat()})
            self._ticket(
                uid,
                at,
                subject="socialcare: private offer of help sent",
                description=body,
                status="solved",
                tags=[self.options.outreach_tag],
                via={"channel": "api"},
            )
            return
        self._ticket(
            uid,
            at,
            subject=kind,
            description=kind,
            status="open" if item.get("open") else "solved",
            via={"channel": VIA.get(channel, "api")},
        )

    # ------------------------------------------------------------------ vendor shapes

    def authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        try:
            user, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        agent = user.removesuffix("/token")
        return scheme == "Basic" and agent != user and "@" in agent and secret == self.token

    def refusal(self) -> Answer:
        return _json(401, {"error": "Couldn't authenticate you"})

    def throttle(self, retry_after_s: int) -> Answer:
        headers = {"Retry-After": str(retry_after_s), **self._limits()}
        return _json(429, {"error": "APIRateLimitExceeded", "description": "Rate limit"}, headers)

    def not_found(self) -> Answer:
        return _json(404, {"error": "RecordNotFound", "description": "Not found"})

    def _limits(self) -> dict[str, str]:
        limit, window = self.budget or (700, 60.0)
        left = str(max(0, limit - len(self._spent)))
        return {
            "X-Rate-Limit": str(limit),
            "X-Rate-Limit-Remaining": left,
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": left,
            "ratelimit-reset": str(int(window)),
        }

    def _page(
        self, key: str, items: list[Any], path: str, query: dict[str, list[str]], **extra: Any
    ) -> Answer:
        """Offset paging as Zendesk's: `page` and `per_page` (at most 100), `next_page`."""
        per_page = min(int(query.get("per_page", ["100"])[0]), MAX_PAGE)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        params = {k: v[0] for k, v in query.items() if k != "page"}

        def link(number: int) -> str:
            return f"{self.base_url}{path}?{urlencode({**params, 'page': number})}"

        body = {
            key: chunk,
            **extra,
            "next_page": link(page + 1) if page * per_page < len(items) else None,
            "previous_page": link(page - 1) if page > 1 else None,
            "count": len(items),
        }
        return _json(200, body, self._limits())

    def _public(self, user: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in user.items() if k != "written"}

    # ------------------------------------------------------------------ users

    def _matches(self, user: dict[str, Any], term: str) -> bool:
        key, colon, value = term.partition(":")
        own = [i for i in self.identities if i["user_id"] == user["id"]]
        if colon and key == "role":
            return bool(user["role"] == value)
        if colon and key == "email":
            return any(i["type"] == "email" and i["value"].lower() == value.lower() for i in own)
        if colon and key in user["user_fields"]:
            stored = str(user["user_fields"].get(key) or "").lower()
            return value.lower() in stored.split()
        words = {w.lower() for w in re.split(r"\s+", user["name"])}
        words |= {str(i["value"]).lower() for i in own}
        return term.lower() in words

    def _search(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        try:
            terms = shlex.split(query.get("query", [""])[0])
        except ValueError:
            return _json(400, {"error": "InvalidSearch", "description": "unbalanced quotes"})
        hits = [
            self._public(u)
            for uid, u in sorted(self.users.items())
            if self.visible(u["written"]) and terms and all(self._matches(u, t) for t in terms)
        ]
        extra: dict[str, Any] = {}
        if "identities" in query.get("include", [""])[0].split(","):
            ids = {u["id"] for u in hits}
            extra["identities"] = [i for i in self.identities if i["user_id"] in ids]
        return self._page("users", hits, "/api/v2/users/search.json", query, **extra)

    def _me(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        return _json(200, {"user": {"id": 1, "name": "Agent", "role": "agent"}}, self._limits())

    def _read(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        user = self.users.get(int(found[1]))
        return _json(200, {"user": self._public(user)}) if user else self.not_found()

    def _fields(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        o = self.options
        keys = {o.name_keys_field, o.do_not_contact_field, o.city_field}
        keys |= {f for u in self.users.values() for f in u["user_fields"]}
        return _json(200, {"user_fields": [{"key": k, "type": "text"} for k in sorted(keys)]})

    # ------------------------------------------------------------------ tickets

    def _requested(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        uid = int(found[1])
        if uid not in self.users:
            return self.not_found()
        order = query.get("sort_by", ["created_at"])[0]
        tickets = sorted(
            (t for t in self.tickets.values() if t["requester_id"] == uid),
            key=lambda t: (t.get(order) or "", t["id"]),
            reverse=query.get("sort_order", ["asc"])[0] == "desc",
        )
        return self._page("tickets", tickets, f"/api/v2/users/{uid}/tickets/requested.json", query)

    def _comments(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        tid = int(found[1])
        if tid not in self.tickets:
            return self.not_found()
        path = f"/api/v2/tickets/{tid}/comments.json"
        return self._page("comments", self.comments.get(tid, []), path, query)

    def _comment(self, tid: int, comment: dict[str, Any], author: int) -> None:
        self.comments.setdefault(tid, []).append(
            {
                "id": self._id(),
                "author_id": author,
                "body": comment.get("body", ""),
                "public": bool(comment.get("public", True)),
                "created_at": _iso(datetime.now(UTC)),
            }
        )

    def _create(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        ticket = (body or {}).get("ticket") or {}
        comment = ticket.get("comment") or {}
        requester = ticket.get("requester_id")
        if requester is None and isinstance(ticket.get("requester"), dict):
            person = ticket["requester"]  # a new end user, as Zendesk makes one
            requester = self._user(
                {"name": person.get("name"), "email": person.get("email")}, indexed=False
            )
        if requester not in self.users or not comment.get("body"):
            return _json(422, {"error": "RecordInvalid", "description": "Record validation errors"})
        made = self._ticket(
            requester,
            datetime.now(UTC),
            subject=ticket.get("subject", ""),
            description=comment["body"],
            status=ticket.get("status", "new"),
            tags=list(ticket.get("tags", [])),
            via={"channel": "api"},
        )
        self._comment(made["id"], comment, 1)
        return _json(201, {"ticket": made}, self._limits())

    def _update(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        ticket = self.tickets.get(int(found[1]))
        if ticket is None:
            return self.not_found()
        change = (body or {}).get("ticket") or {}
        if change.get("comment"):
            self._comment(ticket["id"], change["comment"], 1)
        ticket["tags"] = sorted(set(ticket["tags"]) | set(change.get("additional_tags", [])))
        ticket["updated_at"] = _iso(datetime.now(UTC))
        return _json(200, {"ticket": ticket}, self._limits())
