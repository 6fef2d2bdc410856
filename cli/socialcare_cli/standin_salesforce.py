"""A local stand-in for Salesforce's REST API, with the request and answer shapes of its
public reference (../shared/fixtures/platforms/salesforce/NOTES.md): the OAuth 2
client-credentials token endpoint, SOQL `query` answered in batches with
`nextRecordsUrl` and `done`, SOSL `search` (`searchRecords`), records with `attributes`,
sObject create (`{"id", "success", "errors"}`) and describe; errors as JSON arrays of
`{"message", "errorCode"}` — 400 MALFORMED_QUERY for a literal left unescaped, 401
INVALID_SESSION_ID for an unknown or expired access token, 403 REQUEST_LIMIT_EXCEEDED
past the daily allocation or a request budget — and `Sforce-Limit-Info` on every answer.
The search index lags writes by `index_lag_s`; SOQL reads them at once, as Salesforce's.

It loads the JSON `socialcare crm-import` takes (`{"token", "customers", "interactions"}`):
`token` is the client secret (any client id is accepted); customers become Contacts,
their handles SocialPersonas (or Contact fields), interactions Cases (tickets, SMS, chat)
and Tasks (e-mails, calls, our notes) — not loaded when a help desk holds them.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from socialcare.identity.blocking import name_keys
from socialcare.identity.names import Name
from socialcare.identity.salesforce import SalesforceOptions
from socialcare.identity.vendor import key_tokens, outreach_note
from socialcare_cli.servers import Answer, VendorStandIn, _json, at_of
from socialcare_cli.soql import Malformed, parse_soql, parse_sosl

PREFIXES = {"Contact": "003", "SocialPersona": "0SP", "Case": "500", "Task": "00T"}
PREFIXES |= {"CaseComment": "00a"}
ORIGIN = {"sms": "SMS", "chat": "Chat", "email": "Email", "phone": "Phone", "ticket": "Web"}
EMAIL_FIELDS = ("Email",)
NAME_FIELDS = ("FirstName", "LastName", "Name")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class SalesforceStandIn(VendorStandIn):
    vendor = "Salesforce"
    prefixes = ("/services/",)

    def __init__(
        self,
        data: dict[str, Any],
        token: str | None = None,
        *,
        interactions: bool = True,
        options: SalesforceOptions | None = None,
        index_lag_s: float = 0.0,
        budget: tuple[int, float] | None = None,
        batch_size: int = 2000,
        daily_limit: int = 100_000,
    ) -> None:
        super().__init__(index_lag_s=index_lag_s, budget=budget)
        self.secret = token or data["token"]
        self.options = options or SalesforceOptions()
        self.version = self.options.api_version
        self.batch_size = batch_size
        self.daily_limit = daily_limit
        self.used = 0
        self.sessions: set[str] = set()
        self.tokens_issued = 0
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in PREFIXES}
        self.cursors: dict[str, list[dict[str, Any]]] = {}
        self.ids: dict[str, str] = {}  # the loaded customer id -> Contact id
        self._next = 0
        now = datetime.now(UTC)
        for customer in data.get("customers", []):
            self.ids[customer["id"]] = self._contact(customer)
        if interactions:
            for customer_id, items in (data.get("interactions") or {}).items():
                for item in items:
                    self._activity(self.ids[customer_id], item, at_of(item, now))
        data_path = rf"/services/data/{re.escape(self.version)}"
        self.route("GET", rf"{data_path}/query", self._query)
        self.route("GET", rf"{data_path}/query/([\w-]+)", self._more)
        self.route("GET", rf"{data_path}/search", self._search)
        self.route("POST", rf"{data_path}/sobjects/(\w+)", self._create)
        self.route("GET", rf"{data_path}/sobjects/(\w+)/describe", self._describe)

    # ------------------------------------------------------------------ the org

    def add(self, sobject: str, fields: dict[str, Any], *, indexed: bool = False) -> str:
        """A record; in search after index_lag_s (at once when `indexed`: loaded data)."""
        self._next += 1
        rid = f"{PREFIXES[sobject]}{self._next:012d}AAA"[:18].ljust(18, "A")
        stamp = fields.pop("at", None) or _iso(datetime.now(UTC))
        self.objects[sobject][rid] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/{self.version}/sobjects/{sobject}/{rid}",
            },
            "Id": rid,
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            **fields,
            "written": -math.inf if indexed else time.monotonic(),
        }
        return rid

    def _contact(self, customer: dict[str, Any]) -> str:
        o = self.options
        given, _, family = (customer.get("name") or "").partition(" ")
        fields: dict[str, Any] = {
            "FirstName": given or None,
            "LastName": family or given,
            "Name": customer.get("name") or "",
            "Email": customer.get("email"),
            o.city_field: customer.get("city"),
            o.language_field: customer.get("language"),
            o.optout_field: bool(customer.get("do_not_contact")),
            o.name_keys_field: key_tokens(name_keys(Name.parse(customer.get("name") or ""))),
        }
        personas = []
        for handle in customer.get("handles", []):
            platform, _, value = handle.partition(":")
            if platform in o.personas:
                personas.append((o.personas[platform], value))
            else:
                fields[o.handle_field(platform)] = value
        cid = self.add("Contact", fields, indexed=True)
        for provider, value in personas:
            persona = {"ParentId": cid, "Provider": provider, "Name": value}
            self.add("SocialPersona", persona, indexed=True)
        return cid

    def _activity(self, contact: str, item: dict[str, Any], at: datetime) -> None:
        """One interaction of the loaded JSON as the record it would be in Service Cloud."""
        channel, kind, stamp = item.get("channel"), item.get("kind", ""), _iso(at)
        fields: dict[str, Any]
        if kind == "social_outreach":
            body, _ = outreach_note({"channel": channel, "kind": kind, "at": stamp})
            fields = {"WhoId": contact, "TaskSubtype": "Task", "Description": body}
            self.add("Task", {**fields, "Subject": "socialcare", "at": stamp}, indexed=True)
        elif channel in ("email", "phone"):
            subtype = "Email" if channel == "email" else "Call"
            fields = {"WhoId": contact, "TaskSubtype": subtype, "Subject": kind}
            self.add("Task", {**fields, "at": stamp}, indexed=True)
        elif channel in ORIGIN:
            closed = not item.get("open") if channel == "ticket" else True
            fields = {"ContactId": contact, "Origin": ORIGIN[channel], "Subject": kind}
            fields |= {"IsClosed": closed, "Status": "Closed" if closed else "New"}
            self.add("Case", {**fields, "at": stamp}, indexed=True)
        else:  # a letter, a bill: a task an agent logged
            fields = {"WhoId": contact, "TaskSubtype": "Task", "Subject": f"{channel}: {kind}"}
            self.add("Task", {**fields, "at": stamp}, indexed=True)

    def expire_sessions(self) -> None:
        """Every access token issued so far is no longer valid (a session timeout)."""
        self.sessions.clear()

    # ------------------------------------------------------------------ vendor shapes

    def authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and token in self.sessions

    @staticmethod
    def _error(status: int, code: str, message: str) -> Answer:
        return _json(status, [{"message": message, "errorCode": code}])

    def refusal(self) -> Answer:
        return self._error(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def throttle(self, retry_after_s: int) -> Answer:
        return self._error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def not_found(self) -> Answer:
        return self._error(404, "NOT_FOUND", "The requested resource does not exist")

    def __call__(self, *request: Any) -> Answer:
        self.used += 1
        status, headers, body = super().__call__(*request)
        return (
            status,
            {**headers, "Sforce-Limit-Info": f"api-usage={self.used}/{self.daily_limit}"},
            body,
        )

    def _over_budget(self) -> int | None:
        return 0 if self.used > self.daily_limit else super()._over_budget()

    def unauthenticated(self, method: str, path: str, body: bytes) -> Answer | None:
        if (method, path) != ("POST", "/services/oauth2/token"):
            return None
        return self._token(parse_qs(body.decode("utf-8", "replace")))

    def _token(self, form: dict[str, list[str]]) -> Answer:
        def one(name: str) -> str:
            return (form.get(name) or [""])[0]

        if one("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type", "error_description": "grant"})
        if not one("client_id") or one("client_secret") != self.secret:
            error = {"error": "invalid_client", "error_description": "invalid client credentials"}
            return _json(400, error)
        token = f"00D{secrets.token_hex(4)}!{secrets.token_urlsafe(24)}"
        self.sessions.add(token)
        self.tokens_issued += 1
        issued = str(int(time.time() * 1000))
        return _json(
            200,
            {
                "access_token": token,
                "instance_url": "",
                "id": "https://login.salesforce.com/id/00D/005",
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": secrets.token_urlsafe(16),
            },
        )

    # ------------------------------------------------------------------ queries

    def _get(self, record: dict[str, Any], name: str) -> Any:
        head, _, rest = name.partition(".")
        if not rest:
            return record.get(name)
        parent_id = record.get(f"{head}Id")
        for table in self.objects.values():
            if parent_id in table:
                return self._get(table[parent_id], rest)
        return None

    def _getter(self, record: dict[str, Any]) -> Callable[[str], Any]:
        return lambda name: self._get(record, name)

    def _public(self, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        return {"attributes": record["attributes"], **{f: self._get(record, f) for f in fields}}

    def _query(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        try:
            parsed = parse_soql((query.get("q") or [""])[0])
        except Malformed as exc:
            return self._error(400, "MALFORMED_QUERY", str(exc))
        table = self.objects.get(parsed.sobject)
        if table is None:
            return self._error(
                400, "INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported"
            )
        rows = [r for r in table.values() if parsed.where(self._getter(r))]
        if parsed.order:
            name, descending = parsed.order
            rows.sort(key=lambda r: str(self._get(r, name) or ""), reverse=descending)
        rows = rows[: parsed.limit] if parsed.limit is not None else rows
        records = [self._public(r, parsed.fields) for r in rows]
        return self._batch(records, len(records))

    def _batch(self, records: list[dict[str, Any]], total: int) -> Answer:
        """The first batch; the rest behind a query locator (`nextRecordsUrl`)."""
        first, rest = records[: self.batch_size], records[self.batch_size :]
        page: dict[str, Any] = {"totalSize": total, "done": not rest, "records": first}
        if rest:
            locator = f"01g{secrets.token_hex(6)}"
            self.cursors[locator] = rest
            page["nextRecordsUrl"] = f"/services/data/{self.version}/query/{locator}-{len(first)}"
        return _json(200, page)

    def _more(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        locator = found[1].rsplit("-", 1)[0]
        rest = self.cursors.pop(locator, None)
        if rest is None:
            return self._error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._batch(rest, len(rest))

    def _search(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        try:
            parsed = parse_sosl((query.get("q") or [""])[0])
        except Malformed as exc:
            return self._error(400, "MALFORMED_SEARCH", str(exc))
        table = self.objects.get(parsed.sobject, {})
        hits = []
        for record in table.values():
            if not self.visible(record["written"]):
                continue
            fields = {"EMAIL": EMAIL_FIELDS, "NAME": NAME_FIELDS}.get(parsed.scope)
            values = [v for k, v in record.items() if isinstance(v, str) and k != "Id"]
            if fields:
                values = [str(record.get(f) or "") for f in fields]
            words = set(re.split(r"\W+", " ".join(values).lower()))
            if all(word in words for word in parsed.words):
                hits.append(self._public(record, parsed.fields))
        limit = parsed.limit if parsed.limit is not None else 2000
        return _json(200, {"searchRecords": hits[:limit]})

    # ------------------------------------------------------------------ records

    def _create(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        sobject = found[1]
        if sobject not in ("Task", "CaseComment") or not isinstance(body, dict):
            return self._error(400, "INVALID_TYPE", f"cannot create {sobject}")
        parent = body.get("WhoId") if sobject == "Task" else body.get("ParentId")
        table = self.objects["Contact" if sobject == "Task" else "Case"]
        if parent not in table:
            return self._error(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        fields = {k: v for k, v in body.items() if k not in ("Id", "CreatedDate", "written")}
        rid = self.add(sobject, fields)
        return _json(201, {"id": rid, "success": True, "errors": []})

    def _describe(self, found: re.Match[str], query: dict[str, list[str]], body: Any) -> Answer:
        table = self.objects.get(found[1])
        if table is None:
            return self._error(404, "NOT_FOUND", "The requested resource does not exist")
        o = self.options
        names = {"Id", "FirstName", "LastName", "Name", "Email", o.city_field, o.optout_field}
        names |= {o.language_field, o.name_keys_field}
        names |= {o.handle_field(p) for p in o.handle_fields}
        return _json(200, {"name": found[1], "fields": [{"name": n} for n in sorted(names)]})

    # ------------------------------------------------------------------ for the tests

    def notes_of(self, contact: str) -> list[str]:
        return [
            str(t.get("Description") or "")
            for t in self.objects["Task"].values()
            if t.get("WhoId") == contact
        ]
