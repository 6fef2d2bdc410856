"""A local stand-in for HubSpot's CRM v3 API, with the request and answer shapes of its
public reference (../shared/fixtures/platforms/hubspot/NOTES.md): object search with
filter groups, `after` paging and its 10,000-result ceiling, contacts read by id, notes
created with associations, contact properties, e-mail subscription status; the error
body (`status`, `message`, `correlationId`, `category`), 401 for a wrong token, 429 with
`Retry-After` beyond a request budget, `X-HubSpot-RateLimit-*` headers, and a search
index that lags writes.

It loads the JSON `socialcare crm-import` takes (`{"token", "customers",
"interactions"}`): customers become contacts (with the name-key tokens and handle
properties a company would import), interactions become the activities and tickets
associated with them (not loaded when a help desk holds them).
"""

from __future__ import annotations

import math
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from socialcare.identity.blocking import name_keys
from socialcare.identity.hubspot import HubSpotOptions
from socialcare.identity.names import Name
from socialcare.identity.vendor import key_tokens, outreach_note, parse_time
from socialcare_cli.servers import Answer, VendorStandIn, _json, at_of

KINDS = ("contacts", "notes", "emails", "calls", "communications", "tickets")
_OBJECTS = r"/crm/(?:v3/objects|objects/[0-9-]+)"
STANDARD = {"email", "hs_additional_emails", "firstname", "lastname", "city", "hs_language"}
STANDARD |= {"hs_email_optout", "twitterhandle"}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(value: Any) -> float | None:
    """A filter value or a property as epoch milliseconds, if it is a time or a number."""
    try:
        return parse_time(value).timestamp() * 1000
    except (TypeError, ValueError, OverflowError):
        return None


class HubSpotStandIn(VendorStandIn):
    vendor = "HubSpot"
    prefixes = ("/crm/", "/communication-preferences/")

    def __init__(
        self,
        data: dict[str, Any],
        token: str | None = None,
        *,
        interactions: bool = True,
        options: HubSpotOptions | None = None,
        index_lag_s: float = 0.0,
        budget: tuple[int, float] | None = None,
    ) -> None:
        super().__init__(index_lag_s=index_lag_s, budget=budget)
        self.token = token or data["token"]
        self.options = options or HubSpotOptions()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.ids: dict[str, str] = {}  # the loaded customer id -> contact id
        self.unsubscribed: set[str] = set()  # addresses NOT_SUBSCRIBED to every subscription
        o = self.options
        self.properties = STANDARD | {o.name_keys_property, o.city_property, o.language_property}
        self.properties |= {o.handle_property(p) for p in o.handle_properties}
        self._next = 1000
        now = datetime.now(UTC)
        for customer in data.get("customers", []):
            self.ids[customer["id"]] = self._contact(customer, now)
        if interactions:
            for customer_id, items in (data.get("interactions") or {}).items():
                for item in items:
                    self._activity(self.ids[customer_id], item, at_of(item, now))
        self.route("POST", rf"{_OBJECTS}/(\w+)/search", self._search)
        self.route("GET", rf"{_OBJECTS}/contacts/([^/]+)", self._read)
        self.route("POST", rf"{_OBJECTS}/(notes)", self._create)
        self.route("GET", r"/crm/v3/properties/contacts/([^/]+)", self._property)
        self.route("GET", r"/communication-preferences/v3/status/email/(.+)", self._status)

    # ------------------------------------------------------------------ the account

    def add(
        self,
        kind: str,
        properties: dict[str, Any],
        contact: str | None = None,
        *,
        indexed: bool = False,
    ) -> str:
        """A new object, associated with `contact`; in search after index_lag_s (at once
        when `indexed`: loaded data was written long ago)."""
        self._next += 1
        oid = str(self._next)
        stamp = _iso(datetime.now(UTC))
        self.objects[kind][oid] = {
            "id": oid,
            "properties": {k: None if v is None else str(v) for k, v in properties.items()},
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
            "contacts": {contact} if contact else set(),
            "written": -math.inf if indexed else time.monotonic(),
        }
        return oid

    def _contact(self, customer: dict[str, Any], now: datetime) -> str:
        o = self.options
        given, _, family = (customer.get("name") or "").partition(" ")
        props: dict[str, Any] = {
            "email": customer.get("email"),
            "firstname": given,
            "lastname": family,
            o.city_property: customer.get("city"),
            o.language_property: customer.get("language"),
            o.optout_property: "true" if customer.get("do_not_contact") else "false",
            o.name_keys_property: key_tokens(name_keys(Name.parse(customer.get("name") or ""))),
        }
        for handle in customer.get("handles", []):
            platform, _, value = handle.partition(":")
            props[o.handle_property(platform)] = value
        return self.add("contacts", props, indexed=True)

    def _activity(self, contact: str, item: dict[str, Any], at: datetime) -> None:
        """One interaction of the loaded JSON as the HubSpot object it would be."""
        channel, kind = item.get("channel"), item.get("kind", "")
        stamp = _iso(at)
        if channel == "ticket":
            stage = "1" if item.get("open") else self.options.closed_ticket_stages[0]
            kind_of, props = "tickets", {"subject": kind, "hs_pipeline_stage": stage}
            props.update(createdate=stamp, hs_lastmodifieddate=stamp)
        elif kind == "social_outreach":
            body, _ = outreach_note({"channel": channel, "kind": kind, "at": stamp})
            kind_of, props = "notes", {"hs_timestamp": stamp, "hs_note_body": body}
        elif channel == "email":
            kind_of, props = "emails", {"hs_timestamp": stamp, "hs_email_direction": "EMAIL"}
        elif channel == "phone":
            kind_of, props = "calls", {"hs_timestamp": stamp}
        elif channel in ("sms", "chat"):
            medium = "SMS" if channel == "sms" else "WHATS_APP"
            kind_of = "communications"
            props = {"hs_timestamp": stamp, "hs_communication_channel_type": medium}
        else:  # a letter, a bill: a note an agent logged
            kind_of, props = "notes", {"hs_timestamp": stamp, "hs_note_body": f"{channel}: {kind}"}
        self.add(kind_of, props, contact, indexed=True)

    # ------------------------------------------------------------------ vendor shapes

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get("Authorization") == f"Bearer {self.token}"

    def _error(self, status: int, category: str, message: str, **extra: Any) -> Answer:
        body = {
            "status": "error",
            "message": message,
            "correlationId": secrets.token_hex(8),
            "category": category,
            **extra,
        }
        return _json(status, body)

    def refusal(self) -> Answer:
        return self._error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
        )

    def throttle(self, retry_after_s: int) -> Answer:
        status, headers, body = self._error(
            429,
            "RATE_LIMITS",
            "You have reached your ten_secondly_rolling limit.",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        )
        return status, {**headers, "Retry-After": str(retry_after_s)}, body

    def not_found(self) -> Answer:
        return self._error(404, "OBJECT_NOT_FOUND", "resource not found")

    def _limits(self) -> dict[str, str]:
        if not self.budget:
            return {}
        limit, window = self.budget
        return {
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limit - len(self._spent))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000)),
        }

    def _public(self, obj: dict[str, Any], properties: list[str]) -> dict[str, Any]:
        props = obj["properties"]
        shown = {p: props.get(p) for p in properties}
        shown.update(hs_object_id=obj["id"], lastmodifieddate=obj["updatedAt"])
        shown["createdate"] = props.get("createdate") or obj["createdAt"]
        keep = ("id", "createdAt", "updatedAt", "archived")
        return {**{k: obj[k] for k in keep}, "properties": shown}

    # ------------------------------------------------------------------ search

    def _matches(self, obj: dict[str, Any], f: dict[str, Any]) -> bool:
        name, op = f.get("propertyName"), f.get("operator", "EQ")
        if name == "associations.contact":
            return str(f.get("value")) in obj["contacts"]
        value = obj["properties"].get(name)
        if op == "HAS_PROPERTY":
            return value not in (None, "")
        if op == "NOT_HAS_PROPERTY":
            return value in (None, "")
        if op in ("IN", "NOT_IN"):
            inside = str(value).lower() in {str(v).lower() for v in f.get("values", [])}
            return inside == (op == "IN")
        if value is None:
            return False
        wanted = str(f.get("value"))
        if op == "CONTAINS_TOKEN":
            return wanted.lower() in re.split(r"[;\s,]+", value.lower())
        if op in ("EQ", "NEQ"):
            return (value.lower() == wanted.lower()) == (op == "EQ")
        have, edge = _ms(value), _ms(wanted)
        if have is None or edge is None:
            return False
        return {"GT": have > edge, "GTE": have >= edge, "LT": have < edge, "LTE": have <= edge}[op]

    def _search(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        kind = found[1]
        if kind not in self.objects or not isinstance(body, dict):
            return self._error(400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
        limit = int(body.get("limit") or 10)
        start = int(body.get("after") or 0)
        if limit > 200:
            return self._error(400, "VALIDATION_ERROR", "limit must be at most 200")
        if start + limit > 10_000:
            return self._error(400, "VALIDATION_ERROR", "results beyond 10,000 cannot be paged")
        groups = [g.get("filters", []) for g in body.get("filterGroups", [])]
        hits = [
            obj
            for _, obj in sorted(self.objects[kind].items(), key=lambda kv: int(kv[0]))
            if self.visible(obj["written"])
            and (not groups or any(all(self._matches(obj, f) for f in g) for g in groups))
        ]
        page = hits[start : start + limit]
        answer: dict[str, Any] = {
            "total": len(hits),
            "results": [self._public(o, body.get("properties", [])) for o in page],
        }
        if start + limit < len(hits):
            after = str(start + limit)
            answer["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return _json(200, answer)  # search answers carry no rate-limit headers

    # ------------------------------------------------------------------ records

    def _read(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        obj = self.objects["contacts"].get(found[1])
        if obj is None:
            return self.not_found()
        properties = ",".join(query.get("properties", [])).split(",")
        return _json(200, self._public(obj, [p for p in properties if p]), self._limits())

    def _create(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        props = (body or {}).get("properties") or {}
        if "hs_timestamp" not in props:
            return self._error(400, "VALIDATION_ERROR", "hs_timestamp is required")
        contacts = [
            str(a["to"]["id"])
            for a in (body or {}).get("associations", [])
            if any(t.get("associationTypeId") == 202 for t in a.get("types", []))
        ]
        if any(c not in self.objects["contacts"] for c in contacts):
            return self._error(400, "VALIDATION_ERROR", "association to an unknown contact")
        oid = self.add(found[1], props, contacts[0] if contacts else None)
        obj = self.objects[found[1]][oid]
        return _json(201, self._public(obj, list(props)), self._limits())

    def _property(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        name = found[1]
        if name not in self.properties:
            return self._error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
        return _json(200, {"name": name, "label": name, "type": "string", "fieldType": "text"})

    def _status(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        email = found[1].lower()
        status = "NOT_SUBSCRIBED" if email in self.unsubscribed else "SUBSCRIBED"
        subscription = {"id": "1", "name": "Customer service", "status": status}
        return _json(200, {"recipient": email, "subscriptionStatuses": [subscription]})

    # ------------------------------------------------------------------ for the tests

    def notes_of(self, contact: str) -> list[str]:
        return [
            o["properties"].get("hs_note_body") or ""
            for o in self.objects["notes"].values()
            if contact in o["contacts"]
        ]
