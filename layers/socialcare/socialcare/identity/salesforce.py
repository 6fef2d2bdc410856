"""Salesforce Service Cloud behind the CRM port: contacts through SOQL and SOSL on the REST
API, handles through `SocialPersona`, conversations in `Case` (and the contact's Tasks),
our outreach as a Task or a private CaseComment.

Set-up (docs/identity.md, "Salesforce"): a connected app with the OAuth 2
client-credentials flow, its run-as user allowed to read Contact, SocialPersona, Case,
Task and CaseComment and to create Task and CaseComment; its consumer key as `client_id`
in `CrmOptions`, its secret in `CrmTokenSecret` (locally SOCIALCARE_CRM_TOKEN). Custom
Contact text fields: `Socialcare_Name_Keys__c` (`socialcare name-keys --tokens`),
`Socialcare_Language__c`, and `Socialcare_<Platform>_Handle__c` for platforms without a
SocialPersona provider.

The access token is fetched once per container and fetched again on a 401
(`INVALID_SESSION_ID`: it expired or was revoked). Every literal is escaped (SOQL: `\\`
and `'`; SOSL: its reserved characters), and every hit is checked again here. The daily
API allocation is watched (`Sforce-Limit-Info`): with less than `api_reserve` of it left,
or at 403 `REQUEST_LIMIT_EXCEEDED`, the container holds off and mentions wait on their
queue, so socialcare never spends the company's last requests.
"""

# SOQL, not SQL, and every literal in it goes through soql() or sosl() (escaped):
# ruff: noqa: S608

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field

from socialcare.errors import CrmAuthError, CrmError
from socialcare.identity.blocking import TooManyCandidates, search_by_keys
from socialcare.identity.vendor import (
    HttpOptions,
    VendorApi,
    holds_token,
    iso_z,
    key_token,
    limiter,
    outreach_note,
    parse_note,
    parse_time,
)
from socialcare.models import Customer, Interaction

CONTACT_PREFIX = "003"  # Contact ids; a SocialPersona's parent may be an Account or a Lead
LIMIT_WAIT_S = 300.0  # the daily allocation is spent or nearly: wait on the queue meanwhile
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
# Case.Origin as the contact policy names channels; web, social and the rest are tickets.
ORIGINS = {"email": "email", "phone": "phone", "sms": "sms", "chat": "chat", "web": "ticket"}
_TASKS = {"Call": ("phone", "call"), "Email": ("email", "email")}


class SalesforceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = ""  # the connected app's consumer key
    api_version: str = Field(default="v60.0", pattern=r"^v\d+\.\d$")
    # SocialPersona.Provider per platform; other platforms' handles are Contact fields.
    personas: dict[str, str] = Field(
        default_factory=lambda: {
            "x": "Twitter",
            "facebook": "Facebook",
            "instagram": "Instagram",
            "linkedin": "LinkedIn",
            "youtube": "YouTube",
        }
    )
    handle_fields: dict[str, str] = Field(default_factory=dict)  # Socialcare_<P>_Handle__c
    email_fields: list[str] = Field(default_factory=lambda: ["Email"])
    name_keys_field: str = "Socialcare_Name_Keys__c"
    language_field: str = "Socialcare_Language__c"
    city_field: str = "MailingCity"
    optout_field: str = "HasOptedOutOfEmail"
    outreach: Literal["task", "case_comment"] = "task"
    requests_per_s: int = Field(default=20, ge=1)
    api_reserve: float = Field(default=0.1, ge=0, lt=1)  # the share of the day left alone

    def handle_field(self, platform: str) -> str:
        return self.handle_fields.get(platform, f"Socialcare_{platform.capitalize()}_Handle__c")


def soql(value: str) -> str:
    """A string as a SOQL literal: nothing in it can end the quotes."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    for raw, code in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ('"', '\\"')):
        escaped = escaped.replace(raw, code)
    return f"'{escaped}'"


_SOSL_RESERVED = frozenset("?&|!{}[]()^~*:\\\"'+-")


def sosl(value: str) -> str:
    """A word or phrase for SOSL's FIND {...}: its operators and quotes as plain text."""
    return "".join(f"\\{c}" if c in _SOSL_RESERVED else c for c in value)


def _ids(values: list[str]) -> str:
    return "(" + ", ".join(soql(v) for v in values) + ")"


class SalesforceApi(VendorApi):
    vendor = "Salesforce"
    credential_hint = (
        "the connected app's client_id (CrmOptions) and secret (CrmTokenSecret / "
        "SOCIALCARE_CRM_TOKEN)"
    )
    # The container's access tokens, by org and client: one fetch serves every adapter.
    _tokens: ClassVar[dict[tuple[str, str, str], str]] = {}
    _tokens_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, base_url: str, secret: str, options: SalesforceOptions, http: HttpOptions):
        super().__init__(base_url, http, limiter("salesforce", options.requests_per_s, 1.0))
        self.client_id, self.secret, self.reserve = options.client_id, secret, options.api_reserve
        self.data = f"/services/data/{options.api_version}"

    @property
    def _key(self) -> tuple[str, str, str]:
        return (self.base, self.client_id, self.secret)

    def authorize(self) -> None:
        if "Authorization" not in self.session.headers:
            with self._tokens_lock:
                token = self._tokens.get(self._key)
            self.session.headers["Authorization"] = f"Bearer {token or self._fetch_token()}"

    def refresh(self) -> bool:
        self.session.headers["Authorization"] = f"Bearer {self._fetch_token()}"
        return True

    def _fetch_token(self) -> str:
        """The client-credentials flow: the secret for an access token."""
        if not self.client_id:
            raise self.refused('no client_id in CrmOptions {"salesforce": {...}}')
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.secret,
        }
        self.limiter.acquire(self.vendor, self.options.max_wait_s)
        try:
            response = self.session.post(
                self.url("/services/oauth2/token"), data=form, headers={"Authorization": None}
            )
        except requests.RequestException as exc:
            raise CrmError(f"Salesforce token unreachable: {type(exc).__name__}") from exc
        if response.status_code in (400, 401, 403):
            raise self.refused(f"HTTP {response.status_code}{self._code(response)} on token")
        if response.status_code >= 300:
            raise CrmError(f"Salesforce token answered HTTP {response.status_code}")
        with self.reading("token"):
            token = str(self._json(response, "token")["access_token"])
        with self._tokens_lock:
            self._tokens[self._key] = token
        return token

    def throttle_wait(self, response: requests.Response) -> float | None:
        if response.status_code == 403 and self._code(response) == " REQUEST_LIMIT_EXCEEDED":
            return LIMIT_WAIT_S
        return super().throttle_wait(response)

    def observe(self, response: requests.Response) -> None:
        usage = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if usage and int(usage[2]) - int(usage[1]) <= self.reserve * int(usage[2]):
            self.limiter.pause(LIMIT_WAIT_S)

    def error_code(self, body: Any) -> str | None:
        if isinstance(body, list) and body and isinstance(body[0], dict):
            return body[0].get("errorCode")  # the REST API's error array
        if isinstance(body, dict):
            return body.get("error")  # the token endpoint's OAuth error
        return None

    def query(self, statement: str, what: str) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query, batch by batch through `nextRecordsUrl`."""

        def following(page: Any) -> Any | None:
            with self.reading(what):
                following_url = None if page.get("done", True) else page["nextRecordsUrl"]
            return self.call("GET", following_url, what) if following_url else None

        first = lambda: self.call("GET", f"{self.data}/query", what, params={"q": statement})  # noqa: E731
        for page in self.pages(first, following):
            with self.reading(what):
                records = list(page["records"])
            yield from records

    def search(self, statement: str, what: str) -> list[dict[str, Any]]:
        body = self.call("GET", f"{self.data}/search", what, params={"q": statement})
        with self.reading(what):
            return list(body["searchRecords"])


class SalesforceCrm:
    def __init__(
        self,
        base_url: str,
        secret: str,
        options: SalesforceOptions | None = None,
        http: HttpOptions | None = None,
    ) -> None:
        self.options = options or SalesforceOptions()
        self.api = SalesforceApi(base_url, secret, self.options, http or HttpOptions())

    # ------------------------------------------------------------------ contacts

    @property
    def _fields(self) -> list[str]:
        o = self.options
        handles = [o.handle_field(p) for p in sorted(o.handle_fields)]
        fields = ["Id", "FirstName", "LastName", *o.email_fields, o.city_field, o.optout_field]
        return list(dict.fromkeys([*fields, o.language_field, o.name_keys_field, *handles]))

    def _contacts(self, where: str, *extra: str) -> list[dict[str, Any]]:
        fields = ", ".join(dict.fromkeys([*self._fields, *extra]))
        statement = f"SELECT {fields} FROM Contact WHERE {where}"
        return list(self.api.query(statement, "contact query"))

    def _customer(self, record: dict[str, Any], handles: tuple[str, ...] = ()) -> Customer:
        o = self.options
        with self.api.reading("contact"):
            name = " ".join(filter(None, (record.get("FirstName"), record.get("LastName"))))
            own = [
                f"{platform}:{str(value).lstrip('@').lower()}"
                for platform in sorted(o.handle_fields)
                if (value := record.get(o.handle_field(platform)))
            ]
            return Customer(
                id=str(record["Id"]),
                name=name,
                email=record.get(o.email_fields[0]) or None,
                language=(record.get(o.language_field) or "")[:2].lower() or None,
                city=record.get(o.city_field) or None,
                handles=sorted({*own, *handles}),
                do_not_contact=bool(record.get(o.optout_field)),
            )

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        wanted = handle.lstrip("@").lower()
        values = _ids([wanted, f"@{wanted}"])
        provider = self.options.personas.get(platform)
        if provider is None:  # a Contact field holds it
            field = self.options.handle_field(platform)
            return [
                self._customer(c)
                for c in self._contacts(f"{field} IN {values}", field)
                if str(c.get(field) or "").lstrip("@").lower() == wanted
            ]
        personas = self.api.query(
            f"SELECT ParentId, Name FROM SocialPersona WHERE Provider = {soql(provider)} "
            f"AND Name IN {values}",
            "persona query",
        )
        with self.api.reading("persona query"):
            parents = sorted(
                {
                    str(p["ParentId"])
                    for p in personas
                    if str(p.get("Name") or "").lstrip("@").lower() == wanted
                    and str(p.get("ParentId") or "").startswith(CONTACT_PREFIX)
                }
            )
        if not parents:
            return []
        found = self._contacts(f"Id IN {_ids(parents)}")
        return [self._customer(c, (f"{platform}:{wanted}",)) for c in found]

    def find_by_email(self, email: str) -> list[Customer]:
        wanted = email.strip().lower()
        fields = self.options.email_fields
        where = " OR ".join(f"{f} = {soql(wanted)}" for f in fields)
        return [
            self._customer(c)
            for c in self._contacts(where)
            if any(str(c.get(f) or "").lower() == wanted for f in fields)
        ]

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        field = self.options.name_keys_field

        def by_key(key: str, most: int) -> list[Customer]:
            token = key_token(key)
            found = self.api.search(
                f"FIND {{{sosl(token)}}} IN ALL FIELDS "
                f"RETURNING Contact({', '.join(self._fields)} LIMIT {most})",
                "contact search",
            )
            if len(found) >= most:
                raise TooManyCandidates(f"a name key matched {most}+ contacts")
            return [self._customer(c) for c in found if holds_token(c.get(field), token)]

        return search_by_keys(name, by_key, limit)

    def customer(self, customer_id: str) -> Customer | None:
        if not _ID.fullmatch(customer_id):
            return None
        found = self._contacts(f"Id = {soql(customer_id)}")
        return self._customer(found[0]) if found else None

    # ------------------------------------------------------------------ conversations

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        """The contact's cases that are open or changed since `since`, their Tasks since
        then (ours read as our outreach), and our private case comments."""
        who, after = soql(customer_id), iso_z(since)
        found: list[Interaction] = []
        cases = self.api.query(
            "SELECT Id, Origin, IsClosed, LastModifiedDate FROM Case "
            f"WHERE ContactId = {who} AND (IsClosed = false OR LastModifiedDate >= {after})",
            "case query",
        )
        for case in cases:
            with self.api.reading("case"):
                channel = ORIGINS.get(str(case.get("Origin") or "").lower(), "ticket")
                at = parse_time(case["LastModifiedDate"])
                found.append(
                    Interaction(channel=channel, kind="ticket", at=at, open=not case["IsClosed"])
                )
        tasks = self.api.query(
            "SELECT Id, TaskSubtype, Description, CreatedDate FROM Task "
            f"WHERE WhoId = {who} AND CreatedDate >= {after}",
            "task query",
        )
        for task in tasks:
            with self.api.reading("task"):
                ours = parse_note(task.get("Description"))
                channel, kind = ours or _TASKS.get(str(task.get("TaskSubtype")), ("note", "note"))
                at = parse_time(task["CreatedDate"])
                found.append(Interaction(channel=channel, kind=kind, at=at))
        if self.options.outreach == "case_comment":
            found += self._comments(who, after)
        return sorted(found, key=lambda i: i.at)

    def _comments(self, who: str, after: str) -> list[Interaction]:
        found = []
        comments = self.api.query(
            "SELECT CommentBody, IsPublished, CreatedDate FROM CaseComment "
            f"WHERE Parent.ContactId = {who} AND CreatedDate >= {after}",
            "case comment query",
        )
        for comment in comments:
            with self.api.reading("case comment"):
                body = None if comment.get("IsPublished") else comment.get("CommentBody")
                if ours := parse_note(body):
                    at = parse_time(comment["CreatedDate"])
                    found.append(Interaction(channel=ours[0], kind=ours[1], at=at))
        return found

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        """A completed Task on the contact, or a private comment on their latest case:
        channel, time and template; never the post."""
        text, when = outreach_note(interaction)
        if self.options.outreach == "case_comment":
            latest = self.api.query(
                f"SELECT Id FROM Case WHERE ContactId = {soql(customer_id)} "
                "ORDER BY LastModifiedDate DESC LIMIT 1",
                "case query",
            )
            with self.api.reading("case query"):
                case = next((str(c["Id"]) for c in latest), None)
            if case:
                comment = {"ParentId": case, "CommentBody": text, "IsPublished": False}
                self._create("CaseComment", comment)
                return
        task = {
            "WhoId": customer_id,
            "Subject": "socialcare: private offer of help sent",
            "Description": text,
            "Status": "Completed",
            "ActivityDate": when.date().isoformat(),
        }
        self._create("Task", task)

    def _create(self, sobject: str, fields: dict[str, Any]) -> None:
        path = f"{self.api.data}/sobjects/{sobject}"
        self.api.call("POST", path, f"{sobject} create", safe=False, json=fields)

    # ------------------------------------------------------------------ crm-check

    def check(self) -> Iterator[tuple[str, str | None]]:
        try:
            self.api.authorize()
            yield "client credentials", None
            described = self.api.call(
                "GET", f"{self.api.data}/sobjects/Contact/describe", "Contact describe"
            )
            with self.api.reading("Contact describe"):
                have = {str(f["name"]) for f in described["fields"]}
        except CrmAuthError as exc:
            yield "client credentials", str(exc)
            return
        except CrmError as exc:
            yield "Contact describe", str(exc)
            return
        o = self.options
        wanted = [o.name_keys_field, o.language_field, o.city_field, o.optout_field]
        wanted += [*o.email_fields, *(o.handle_field(p) for p in sorted(o.handle_fields))]
        for name in dict.fromkeys(wanted):
            yield f"Contact field {name}", None if name in have else "missing"
