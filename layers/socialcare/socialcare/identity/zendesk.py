"""Zendesk Support behind the CRM port, and as the help desk of a composite
(`hubspot+zendesk`): end users are the customers, the tickets they requested are the
conversations, and our outreach is a private note.

Set-up (docs/identity.md, "Zendesk"): an API token (agent e-mail `/token`); user fields
for the name keys, do-not-contact, the city and handles that have no identity type of
Zendesk's own; X and Facebook handles are the users' linked identities.

The outreach note goes on a new ticket, created solved and tagged `socialcare_outreach`
(so no trigger writes to the customer, and agents can filter it), or, configured as
`latest_ticket`, as a private comment on the customer's latest ticket, tagged
`socialcare_noted`. Searches are checked again here: a user is only found by an e-mail,
handle or name-key token that is on the user exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlparse

import requests
from pydantic import BaseModel, ConfigDict, Field

from socialcare.errors import CrmError
from socialcare.identity.blocking import TooManyCandidates, search_by_keys
from socialcare.identity.vendor import (
    HttpOptions,
    VendorApi,
    holds_token,
    key_token,
    limiter,
    outreach_note,
    parse_note,
    parse_time,
    retry_after,
)
from socialcare.models import Customer, Interaction

PAGE = 100
OPEN = frozenset({"new", "open", "pending", "hold"})  # not solved or closed
NOTED_TAG = "socialcare_noted"
# The channel a ticket came through, as the contact policy names channels; web forms, the
# API and the rest are plain tickets.
VIA = {"email": "email", "voice": "phone", "sms": "sms", "chat": "chat"}
VIA |= {"native_messaging": "chat", "chat_transcript": "chat"}


class ZendeskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_email: str = ""  # the token's agent; default agent@<subdomain>
    # Platforms whose handles are Zendesk identities; others are in user fields.
    identity_types: dict[str, str] = Field(
        default_factory=lambda: {"x": "twitter", "facebook": "facebook"}
    )
    handle_fields: dict[str, str] = Field(default_factory=dict)  # socialcare_<platform>_handle
    name_keys_field: str = "socialcare_name_keys"
    do_not_contact_field: str = "socialcare_do_not_contact"
    city_field: str = "city"
    outreach: Literal["new_ticket", "latest_ticket"] = "new_ticket"
    outreach_tag: str = "socialcare_outreach"
    requests_per_minute: int = Field(default=200, ge=1)  # Team plan; 700 on Enterprise

    def handle_field(self, platform: str) -> str:
        return self.handle_fields.get(platform, f"socialcare_{platform}_handle")


def _quoted(value: str) -> str:
    """A value as one phrase of Zendesk's search syntax: no quote can end it early."""
    return '"' + value.replace("\\", " ").replace('"', " ") + '"'


class ZendeskApi(VendorApi):
    vendor = "Zendesk"
    credential_hint = "the API token and its agent e-mail (HelpDeskTokenSecret or CrmTokenSecret)"

    def __init__(self, base_url: str, token: str, options: ZendeskOptions, http: HttpOptions):
        super().__init__(base_url, http, limiter("zendesk", options.requests_per_minute, 60.0))
        subdomain = (urlparse(self.base).hostname or "zendesk").split(".")[0]
        self.session.auth = (f"{options.agent_email or f'agent@{subdomain}'}/token", token)

    def observe(self, response: requests.Response) -> None:
        # The minute's allowance is spent: pause until it resets, before a 429.
        headers = response.headers
        remaining = headers.get("ratelimit-remaining") or headers.get("X-Rate-Limit-Remaining")
        if remaining == "0":
            self.limiter.pause(retry_after(headers.get("ratelimit-reset")) or 60.0)

    def error_code(self, body: Any) -> str | None:
        error = body.get("error") if isinstance(body, dict) else None
        return error if isinstance(error, str) else None


class ZendeskCrm:
    def __init__(
        self,
        base_url: str,
        token: str,
        options: ZendeskOptions | None = None,
        http: HttpOptions | None = None,
    ) -> None:
        self.options = options or ZendeskOptions()
        self.api = ZendeskApi(base_url, token, self.options, http or HttpOptions())

    # ------------------------------------------------------------------ users

    def _listing(self, path: str, key: str, what: str, **params: Any) -> Iterator[Any]:
        """Every item of a listing under `key` (and its sideloads), page by page through
        `next_page`; yields (page, items)."""

        def following(page: Any) -> Any | None:
            with self.api.reading(what):
                nxt = page.get("next_page")
            return self.api.call("GET", nxt, what) if nxt else None

        first = lambda: self.api.call("GET", path, what, params={"per_page": PAGE, **params})  # noqa: E731
        for page in self.api.pages(first, following):
            with self.api.reading(what):
                yield page, list(page[key])

    def _users(self, query: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """(user, their identities) for every user a search finds."""
        found = []
        for page, users in self._listing(
            "/api/v2/users/search.json", "users", "user search", query=query, include="identities"
        ):
            with self.api.reading("user search"):
                identities = list(page.get("identities") or [])
                for user in users:
                    own = [i for i in identities if i["user_id"] == user["id"]]
                    found.append((user, own))
        return found

    def _customer(self, user: dict[str, Any], identities: list[dict[str, Any]]) -> Customer:
        o = self.options
        with self.api.reading("user"):
            fields = user.get("user_fields") or {}
            types = {kind: platform for platform, kind in o.identity_types.items()}
            handles = {
                f"{types[i['type']]}:{str(i['value']).lstrip('@').lower()}"
                for i in identities
                if i.get("type") in types
            }
            handles |= {
                f"{platform}:{str(value).lstrip('@').lower()}"
                for platform, field in o.handle_fields.items()
                if (value := fields.get(field))
            }
            return Customer(
                id=str(user["id"]),
                name=user.get("name") or "",
                email=user.get("email") or None,
                language=(user.get("locale") or "")[:2].lower() or None,
                city=fields.get(o.city_field) or None,
                handles=sorted(handles),
                do_not_contact=bool(fields.get(o.do_not_contact_field)),
            )

    # ------------------------------------------------------------------ the port

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        wanted = handle.lstrip("@").lower()
        kind = self.options.identity_types.get(platform)
        if kind:  # a linked identity: free text finds it, the identity must then hold it
            found = self._users(f"role:end-user {_quoted(wanted)}")
            return [
                self._customer(user, ids)
                for user, ids in found
                if any(
                    i.get("type") == kind and str(i.get("value")).lstrip("@").lower() == wanted
                    for i in ids
                )
            ]
        field = self.options.handle_field(platform)
        return [
            self._customer(user, ids)
            for user, ids in self._users(f"{field}:{_quoted(wanted)}")
            if str((user.get("user_fields") or {}).get(field) or "").lstrip("@").lower() == wanted
        ]

    def find_by_email(self, email: str) -> list[Customer]:
        wanted = email.strip().lower()
        return [
            self._customer(user, ids)
            for user, ids in self._users(f"email:{_quoted(wanted)}")
            if str(user.get("email") or "").lower() == wanted
            or any(i.get("type") == "email" and str(i.get("value")).lower() == wanted for i in ids)
        ]

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        field = self.options.name_keys_field

        def by_key(key: str, most: int) -> list[Customer]:
            token = key_token(key)
            page = self.api.call(
                "GET",
                "/api/v2/users/search.json",
                "user search",
                params={"query": f"{field}:{token}", "per_page": most, "include": "identities"},
            )
            with self.api.reading("user search"):
                users, identities = list(page["users"]), list(page.get("identities") or [])
            if len(users) >= most or page.get("next_page"):
                raise TooManyCandidates(f"a name key matched {most}+ users")
            return [
                self._customer(u, [i for i in identities if i.get("user_id") == u.get("id")])
                for u in users
                if holds_token((u.get("user_fields") or {}).get(field), token)
            ]

        return search_by_keys(name, by_key, limit)

    def customer(self, customer_id: str) -> Customer | None:
        body = self.api.call(
            "GET", f"/api/v2/users/{int(customer_id)}.json", "user read", missing=True
        )
        if body is None:
            return None
        with self.api.reading("user read"):
            return self._customer(body["user"], [])

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        """The user's requested tickets that are open or changed since `since` (ours read
        as our outreach), and our notes on the tickets we noted."""
        found: list[Interaction] = []
        path = f"/api/v2/users/{int(customer_id)}/tickets/requested.json"
        for _, tickets in self._listing(path, "tickets", "ticket list", sort_by="updated_at"):
            for ticket in tickets:
                found += self._ticket(ticket, since)
        return sorted(found, key=lambda i: i.at)

    def _ticket(self, ticket: dict[str, Any], since: datetime) -> list[Interaction]:
        """A ticket as a conversation: by the channel it came through, at its last
        activity, open until solved. One of ours (tagged) is our outreach and nothing else."""
        with self.api.reading("ticket"):
            tags = set(ticket.get("tags") or [])
            created = parse_time(ticket["created_at"])
            if self.options.outreach_tag in tags:
                ours = parse_note(ticket.get("description")) or ("email", "social_outreach")
                if created < since:
                    return []
                return [Interaction(channel=ours[0], kind=ours[1], at=created)]
            is_open = ticket["status"] in OPEN
            changed = parse_time(ticket.get("updated_at") or ticket["created_at"])
            via = str((ticket.get("via") or {}).get("channel") or "")
            found = []
            if is_open or changed >= since:
                channel = VIA.get(via, "ticket")
                found.append(Interaction(channel=channel, kind="ticket", at=changed, open=is_open))
        if NOTED_TAG in tags:
            found += self._notes(ticket["id"], since)
        return found

    def _notes(self, ticket_id: Any, since: datetime) -> list[Interaction]:
        found = []
        path = f"/api/v2/tickets/{int(ticket_id)}/comments.json"
        for _, comments in self._listing(path, "comments", "comment list"):
            for comment in comments:
                with self.api.reading("comment"):
                    ours = None if comment.get("public") else parse_note(comment.get("body"))
                    at = parse_time(comment["created_at"])
                if ours and at >= since:
                    found.append(Interaction(channel=ours[0], kind=ours[1], at=at))
        return found

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        self._record({"requester_id": int(customer_id)}, int(customer_id), interaction)

    def _record(
        self, requester: dict[str, Any], user_id: int | None, interaction: dict[str, object]
    ) -> None:
        text, _ = outreach_note(interaction)
        note = {"body": text, "public": False}
        if self.options.outreach == "latest_ticket" and user_id is not None:
            latest = self.api.call(
                "GET",
                f"/api/v2/users/{user_id}/tickets/requested.json",
                "ticket list",
                params={"sort_by": "updated_at", "sort_order": "desc", "per_page": 1},
            )
            with self.api.reading("ticket list"):
                tickets = list(latest["tickets"])
            if tickets:
                ticket = {"comment": note, "additional_tags": [NOTED_TAG]}
                with self.api.reading("ticket list"):
                    path = f"/api/v2/tickets/{int(tickets[0]['id'])}.json"
                self.api.call("PUT", path, "ticket note", safe=False, json={"ticket": ticket})
                return
        ticket = {
            **requester,
            "subject": "socialcare: private offer of help sent",
            "comment": note,
            "status": "solved",
            "tags": [self.options.outreach_tag],
        }
        self.api.call(
            "POST", "/api/v2/tickets.json", "ticket create", safe=False, json={"ticket": ticket}
        )

    # ------------------------------------------------------------------ as a help desk

    def _users_of(self, customer: Customer) -> list[str]:
        return [c.id for c in self.find_by_email(customer.email)] if customer.email else []

    def conversations(self, customer: Customer, since: datetime) -> list[Interaction]:
        """A CRM customer's tickets, found by their e-mail address (a composite)."""
        return sorted(
            (i for uid in self._users_of(customer) for i in self.interactions(uid, since)),
            key=lambda i: i.at,
        )

    def record(self, customer: Customer, interaction: dict[str, object]) -> None:
        """Our note for a CRM customer; a customer Zendesk does not know yet is created by
        the ticket itself (requester by e-mail), as a ticket from them would."""
        users = self._users_of(customer)
        if users:
            self._record({"requester_id": int(users[0])}, int(users[0]), interaction)
        elif customer.email:
            requester = {
                "requester": {"email": customer.email, "name": customer.name or customer.email}
            }
            self._record(requester, None, interaction)
        else:
            raise CrmError("Zendesk: a customer without an e-mail address has no tickets")

    # ------------------------------------------------------------------ crm-check

    def check(self) -> Iterator[tuple[str, str | None]]:
        try:
            me = self.api.call("GET", "/api/v2/users/me.json", "who am I")
            with self.api.reading("who am I"):
                role = me["user"]["role"]
            yield "API token", None if role in ("agent", "admin") else f"the token's user is {role}"
            fields = self.api.call("GET", "/api/v2/user_fields.json", "user fields")
            with self.api.reading("user fields"):
                keys = {f["key"] for f in fields["user_fields"]}
        except CrmError as exc:
            yield "API token", str(exc)
            return
        o = self.options
        wanted = [o.name_keys_field, o.do_not_contact_field, o.city_field]
        wanted += [o.handle_field(p) for p in sorted(o.handle_fields)]
        for key in wanted:
            yield f"user field {key}", None if key in keys else "missing"
