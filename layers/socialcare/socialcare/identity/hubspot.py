"""HubSpot behind the CRM port: contacts through the CRM v3 search API, recent contact from
the activities and tickets associated with a contact, our outreach as a note.

Set-up (docs/identity.md, "HubSpot"): a private app with the scopes
`crm.objects.contacts.read`, `crm.objects.contacts.write` (notes), `tickets` and, when a
subscription is named, `communication_preferences.read`; custom contact properties for
the name keys (`socialcare name-keys --tokens`) and for handles other than X's
(`twitterhandle` is HubSpot's own).

Searches match exactly and are checked again here (an e-mail, a handle, a name-key token
must be on the contact as asked): a loose match of the vendor's never becomes a match of
ours. Name search asks one token per key (blocking.search_by_keys) and scores the answers
with the project's rule. Search is eventually consistent (new contacts show up after
seconds): a contact not yet indexed reads as not found, as it would a moment earlier.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field

from socialcare.errors import CrmAuthError, CrmError
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
)
from socialcare.models import Customer, Interaction

DEFAULT_URL = "https://api.hubapi.com"
PAGE = 100  # results per search page (HubSpot allows 200)
# Activities whose association with a contact tells of contact with customer service.
ACTIVITIES = ("notes", "emails", "calls", "communications")
_CHANNELS = {"SMS": "sms", "WHATS_APP": "chat", "LINKEDIN_MESSAGE": "chat"}


class HubSpotOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Contact property holding each platform's handle; others: socialcare_<platform>_handle
    handle_properties: dict[str, str] = Field(default_factory=lambda: {"x": "twitterhandle"})
    name_keys_property: str = "socialcare_name_keys"
    optout_property: str = "hs_email_optout"
    subscription_id: str = ""  # a subscription type whose NOT_SUBSCRIBED means do not contact
    language_property: str = "hs_language"
    city_property: str = "city"
    closed_ticket_stages: list[str] = Field(default_factory=lambda: ["4"])  # default pipeline
    note_association_type: int = 202  # note -> contact (HUBSPOT_DEFINED)
    api_version: str = "v3"  # or a date version ("2026-03"): /crm/objects/2026-03/...
    requests_per_10s: int = Field(default=100, ge=1)  # 100 (free, starter) to 190 by tier
    searches_per_s: int = Field(default=4, ge=1)

    def handle_property(self, platform: str) -> str:
        return self.handle_properties.get(platform, f"socialcare_{platform}_handle")


class HubSpotApi(VendorApi):
    vendor = "HubSpot"
    credential_hint = "the private app token (CrmTokenSecret / SOCIALCARE_CRM_TOKEN)"

    def __init__(self, base_url: str, token: str, options: HubSpotOptions, http: HttpOptions):
        super().__init__(base_url, http, limiter("hubspot", options.requests_per_10s, 10.0))
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.search_limiter = limiter("hubspot-search", options.searches_per_s, 1.0)

    def observe(self, response: requests.Response) -> None:
        # The ten-second window is used up: wait for the next one rather than get a 429.
        if response.headers.get("X-HubSpot-RateLimit-Remaining") == "0":
            window = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
            self.limiter.pause(int(window) / 1000 if window.isdigit() else 10.0)

    def error_code(self, body: Any) -> str | None:
        if isinstance(body, dict):
            return body.get("category") or body.get("errorType")
        return None


class HubSpotCrm:
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        token: str = "",
        options: HubSpotOptions | None = None,
        http: HttpOptions | None = None,
    ) -> None:
        self.options = options or HubSpotOptions()
        self.api = HubSpotApi(base_url, token, self.options, http or HttpOptions())

    # ------------------------------------------------------------------ paths and search

    def _objects(self, kind: str) -> str:
        version = self.options.api_version
        return f"/crm/v3/objects/{kind}" if version == "v3" else f"/crm/objects/{version}/{kind}"

    @property
    def _contact_properties(self) -> list[str]:
        o = self.options
        handles = sorted({o.handle_property(p) for p in o.handle_properties})
        return [
            "email",
            "hs_additional_emails",
            "firstname",
            "lastname",
            o.city_property,
            o.language_property,
            o.optout_property,
            *handles,
        ]

    def _search_page(
        self, kind: str, groups: list[list[dict[str, Any]]], properties: list[str], **extra: Any
    ) -> Any:
        body = {
            "filterGroups": [{"filters": filters} for filters in groups],
            "properties": properties,
            "limit": PAGE,
            **extra,
        }
        self.api.search_limiter.acquire(self.api.vendor, self.api.options.max_wait_s)
        return self.api.call("POST", f"{self._objects(kind)}/search", f"{kind} search", json=body)

    def _search(
        self, kind: str, groups: list[list[dict[str, Any]]], properties: list[str], **extra: Any
    ) -> Iterator[dict[str, Any]]:
        """Every result of a search, page by page through `after`."""

        def following(page: Any) -> Any | None:
            with self.api.reading(f"{kind} search"):
                after = (page.get("paging") or {}).get("next", {}).get("after")
            return (
                self._search_page(kind, groups, properties, after=after, **extra) if after else None
            )

        first = lambda: self._search_page(kind, groups, properties, **extra)  # noqa: E731
        for page in self.api.pages(first, following):
            with self.api.reading(f"{kind} search"):
                results = list(page["results"])
            yield from results

    def _contacts(self, groups: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return list(self._search("contacts", groups, self._contact_properties))

    def _customer(self, contact: dict[str, Any]) -> Customer:
        o = self.options
        with self.api.reading("contact"):
            props = contact.get("properties") or {}
            name = " ".join(filter(None, (props.get("firstname"), props.get("lastname"))))
            language = (props.get(o.language_property) or "")[:2].lower() or None
            handles = [
                f"{platform}:{str(value).lstrip('@').lower()}"
                for platform in sorted(o.handle_properties)
                if (value := props.get(o.handle_property(platform)))
            ]
            customer = Customer(
                id=str(contact["id"]),
                name=name,
                email=props.get("email") or None,
                language=language,
                city=props.get(o.city_property) or None,
                handles=handles,
                do_not_contact=str(props.get(o.optout_property) or "").lower() == "true",
            )
        if o.subscription_id and customer.email and not customer.do_not_contact:
            customer.do_not_contact = self._unsubscribed(customer.email)
        return customer

    def _unsubscribed(self, email: str) -> bool:
        """The subscription the company named says NOT_SUBSCRIBED for this address."""
        body = self.api.call(
            "GET", f"/communication-preferences/v3/status/email/{email}", "subscription status"
        )
        with self.api.reading("subscription status"):
            return any(
                str(s["id"]) == self.options.subscription_id and s["status"] == "NOT_SUBSCRIBED"
                for s in body["subscriptionStatuses"]
            )

    # ------------------------------------------------------------------ the port

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        prop = self.options.handle_property(platform)
        wanted = handle.lstrip("@").lower()
        # Stored as "name" or "@name"; HubSpot compares strings without case.
        groups = [
            [{"propertyName": prop, "operator": "EQ", "value": v}] for v in (wanted, f"@{wanted}")
        ]
        found = self._search("contacts", groups, [*self._contact_properties, prop])
        return [
            self._customer(c)
            for c in found
            if str((c.get("properties") or {}).get(prop) or "").lstrip("@").lower() == wanted
        ]

    def find_by_email(self, email: str) -> list[Customer]:
        wanted = email.strip().lower()
        groups = [
            [{"propertyName": "email", "operator": "EQ", "value": wanted}],
            [
                {
                    "propertyName": "hs_additional_emails",
                    "operator": "CONTAINS_TOKEN",
                    "value": wanted,
                }
            ],
        ]
        found = []
        for contact in self._contacts(groups):
            props = contact.get("properties") or {}
            others = str(props.get("hs_additional_emails") or "").lower().split(";")
            if str(props.get("email") or "").lower() == wanted or wanted in others:
                found.append(self._customer(contact))
        return found

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        prop = self.options.name_keys_property

        def by_key(key: str, most: int) -> list[Customer]:
            token = key_token(key)
            page = self._search_page(
                "contacts",
                [[{"propertyName": prop, "operator": "CONTAINS_TOKEN", "value": token}]],
                [*self._contact_properties, prop],
                limit=most,
            )
            with self.api.reading("contacts search"):
                results = list(page["results"])
            if len(results) >= most or (page.get("paging") or {}).get("next"):
                raise TooManyCandidates(f"a name key matched {most}+ contacts")
            return [
                self._customer(c)
                for c in results
                if holds_token((c.get("properties") or {}).get(prop), token)
            ]

        return search_by_keys(name, by_key, limit)

    def customer(self, customer_id: str) -> Customer | None:
        """One contact by id (a composite's help desk needs its e-mail address)."""
        contact = self.api.call(
            "GET",
            f"{self._objects('contacts')}/{customer_id}",
            "contact read",
            missing=True,
            params={"properties": ",".join(self._contact_properties)},
        )
        return self._customer(contact) if contact is not None else None

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        """Activities associated with the contact since `since`, and its tickets that are
        open or changed since then."""
        ms = str(int(since.timestamp() * 1000))
        linked = {"propertyName": "associations.contact", "operator": "EQ", "value": customer_id}
        recent = {"propertyName": "hs_timestamp", "operator": "GTE", "value": ms}
        found: list[Interaction] = []
        for kind in ACTIVITIES:
            for item in self._search(kind, [[linked, recent]], _ACTIVITY_PROPERTIES[kind]):
                with self.api.reading(f"{kind} search"):
                    found.append(self._activity(kind, item["properties"]))
        open_stage = {
            "propertyName": "hs_pipeline_stage",
            "operator": "NOT_IN",
            "values": self.options.closed_ticket_stages,
        }
        changed = {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": ms}
        for ticket in self._search(
            "tickets",
            [[linked, open_stage], [linked, changed]],
            ["createdate", "hs_pipeline_stage"],
        ):
            with self.api.reading("tickets search"):
                props = ticket["properties"]
                found.append(
                    Interaction(
                        channel="ticket",
                        kind="ticket",
                        at=parse_time(props["createdate"]),
                        open=props.get("hs_pipeline_stage")
                        not in self.options.closed_ticket_stages,
                    )
                )
        return sorted(found, key=lambda i: i.at)

    def _activity(self, kind: str, props: dict[str, Any]) -> Interaction:
        at = parse_time(props["hs_timestamp"])
        if kind == "notes":
            ours = parse_note(props.get("hs_note_body"))
            channel, what = ours if ours else ("note", "note")
            return Interaction(channel=channel, kind=what, at=at)
        if kind == "emails":
            incoming = props.get("hs_email_direction") == "INCOMING_EMAIL"
            return Interaction(channel="email", kind="reply" if incoming else "email", at=at)
        if kind == "calls":
            return Interaction(channel="phone", kind="call", at=at)
        channel = _CHANNELS.get(str(props.get("hs_communication_channel_type")), "message")
        return Interaction(channel=channel, kind="message", at=at)

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        """A note on the contact: channel, time and template; never the post."""
        text, when = outreach_note(interaction)
        body = {
            "properties": {"hs_timestamp": str(int(when.timestamp() * 1000)), "hs_note_body": text},
            "associations": [
                {
                    "to": {"id": customer_id},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": self.options.note_association_type,
                        }
                    ],
                }
            ],
        }
        self.api.call("POST", self._objects("notes"), "note create", safe=False, json=body)

    # ------------------------------------------------------------------ crm-check

    def check(self) -> Iterator[tuple[str, str | None]]:
        """(what, problem or None) for each thing the adapter needs of the account."""
        o = self.options
        needed = [o.name_keys_property, o.optout_property, o.city_property, o.language_property]
        needed += sorted({o.handle_property(p) for p in o.handle_properties})
        for number, prop in enumerate(needed):
            try:
                self.api.call("GET", f"/crm/v3/properties/contacts/{prop}", "property read")
            except CrmAuthError as exc:
                yield "private app token", str(exc)
                return
            except CrmError as exc:
                yield f"contact property {prop}", str(exc)
                continue
            if number == 0:
                yield "private app token", None
            yield f"contact property {prop}", None


_ACTIVITY_PROPERTIES = {
    "notes": ["hs_timestamp", "hs_note_body"],
    "emails": ["hs_timestamp", "hs_email_direction"],
    "calls": ["hs_timestamp"],
    "communications": ["hs_timestamp", "hs_communication_channel_type"],
}
