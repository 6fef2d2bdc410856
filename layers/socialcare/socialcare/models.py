"""The messages that flow between the functions, and the decision vocabulary.

A `Mention` carries post text and lives only in flight (on MentionsQueue). Everything
after triage (`OutreachRequest`, `Decision`) carries no post text.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from socialcare import addresses

MAX_TEXT_CHARS = (
    10_000  # longer posts are cut: no platform allows more, and bad input must not grow
)


# The multi-label topics of a complaint: metrics, e-mail wording, spike alarms.
TOPICS = (
    "outage",
    "speed",
    "billing",
    "equipment",
    "support",
    "installation",
    "cancellation",
    "tv",
    "mobile",
)


class Reason(StrEnum):
    """Exactly one of these per fetched mention; `contact` when we e-mail."""

    CONTACT = "contact"
    NOT_COMPLAINT = "not_complaint"
    OWN_ACCOUNT = "own_account"
    REPOST = "repost"
    DUPLICATE = "duplicate"
    STALE = "stale"
    NO_CUSTOMER_MATCH = "no_customer_match"
    AMBIGUOUS_MATCH = "ambiguous_match"
    NO_EMAIL = "no_email"
    DO_NOT_CONTACT = "do_not_contact"
    OPTED_OUT = "opted_out"
    ALREADY_IN_CONTACT = "already_in_contact"
    RECENTLY_CONTACTED = "recently_contacted"
    INCIDENT_MODE = "incident_mode"
    NOT_IN_PILOT = "not_in_pilot"  # a pilot audience is set and this customer is not in it
    REJECTED_BY_AGENT = "rejected_by_agent"  # review mode: an agent clicked Reject


class Mention(BaseModel):
    """One public post that mentions the brand, normalised from any source."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    source: str = Field(min_length=1, max_length=32)
    post_id: str = Field(min_length=1, max_length=256)
    # Assigned once when the post is fetched; stable across SQS redeliveries and DLQ
    # redrives, so triage can tell a retry of this fetch from a second fetch of the post.
    fetch_id: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=64)
    url: str | None = Field(default=None, max_length=2048)
    author_id: str | None = Field(default=None, max_length=256)
    handle: str | None = Field(default=None, max_length=256)
    display_name: str | None = Field(default=None, max_length=256)
    location: str | None = Field(default=None, max_length=256)
    email: str | None = Field(default=None, max_length=320)
    text: str = Field(default="")
    lang: str | None = Field(default=None, max_length=16)
    created_at: datetime
    is_repost: bool = False
    is_reply: bool = False
    is_own_account: bool = False
    # Placement, set by the source from where the post sits (docs/triage.md, "Placement"):
    # `addressed` when it is directed at us: a review of our business unit, a comment on our
    # Page's post or our media, a tag or @-mention of our account, a reply in a thread our
    # account started. `stars` is a review's rating (1-5). Strict: JSON true/false and whole
    # numbers only, so "yes" or 4.5 is an error rather than a guess. Absent in messages from
    # before these fields: read as unaddressed, no stars.
    addressed: bool = Field(default=False, strict=True)
    stars: int | None = Field(default=None, ge=1, le=5, strict=True)
    deferred: int = Field(default=0, ge=0)  # times triage put it back to wait for the CRM

    @field_validator("text")
    @classmethod
    def _cut_text(cls, value: str) -> str:
        return value[:MAX_TEXT_CHARS]

    @field_validator("handle")
    @classmethod
    def _normalise_handle(cls, value: str | None) -> str | None:
        # Handles are compared lower-case and without "@", as the CRM contract stores them.
        return value.lstrip("@").lower() or None if value else None

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @property
    def key(self) -> str:
        """The post's identity across fetch paths (polling, webhooks, redrives)."""
        return f"{self.source}:{self.post_id}"


class Classification(BaseModel):
    language: str
    complaint: bool
    score: float
    topics: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


# Titles a CRM may put before a name; never a greeting's first name.
TITLES = frozenset({"dr", "hr", "fru", "frk", "mr", "mrs", "ms", "miss", "prof", "sir"})


class Customer(BaseModel):
    """A customer as the CRM contract returns it (docs/crm-api.yaml)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str = ""
    email: str | None = None
    language: str | None = None
    city: str | None = None
    handles: list[str] = Field(default_factory=list)
    do_not_contact: bool = False

    @field_validator("email")
    @classmethod
    def _usable_email(cls, value: str | None) -> str | None:
        # One plain address as SES takes it, or none at all (the customer is `no_email`):
        # a CRM field with CR/LF, a group or 4,000 characters must never reach the mailer.
        return addresses.normalise(value)

    @property
    def first_name(self) -> str:
        """The given name to greet by, or "" (then the e-mail says just "Hej,"): CRMs
        write "Søren Hansen", "Hansen, Søren", "Dr. Søren Hansen" or "SØREN HANSEN"."""
        family, comma, given = self.name.partition(",")
        if comma and not given.strip():
            return ""  # "Hansen,": a family name only
        words = (given if comma else family).split()
        titled = False
        while words and words[0].lower().rstrip(".") in TITLES:
            words.pop(0)
            titled = True
        if not words or (titled and len(words) == 1 and not comma):
            return ""  # nothing left, or "Hr. Hansen": a family name
        first = words[0].strip(",.")
        letters = first.replace("-", "").replace("'", "").replace("\u2019", "")
        if len(first) < 2 or words[0].endswith(".") or not letters.isalpha():
            return ""  # an initial ("J. Jensen"), or not a name
        if first.isupper():
            first = "-".join(part.capitalize() for part in first.split("-"))
        return first


class Interaction(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel: str
    kind: str = ""
    at: datetime
    open: bool = False

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # A CRM may send local times without an offset; compared with aware times they
        # would raise, so read them as UTC.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class Decision(BaseModel):
    """The audit line: hashed ids, a reason code, no content."""

    mention_id: str  # keyed hash of the mention's source:post_id
    fetch_id: str  # random id of this fetch of the post (not personal)
    source: str
    decision: str  # "contact" | "skip"
    reason: Reason
    stage: str = "triage"
    customer_hash: str | None = None
    match: str | None = None
    language: str | None = None
    topics: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, reason: Reason, **fields: object) -> Decision:
        return cls(
            decision="contact" if reason is Reason.CONTACT else "skip",
            reason=reason,
            **fields,
        )


class TriageResult(BaseModel):
    """What triage decided for one mention; `outreach` is set only for `contact`."""

    decision: Decision
    outreach: OutreachRequest | None = None


class OutreachRequest(BaseModel):
    """What the mailer needs to write one e-mail. No post text, by construction."""

    model_config = ConfigDict(extra="forbid")

    mention_id: str  # hashed
    fetch_id: str
    customer_ref: str  # the CRM's id, needed to record the outreach
    customer_hash: str
    email: str
    first_name: str = ""
    language: str = "da"
    topics: list[str] = Field(default_factory=list)
    source: str
    post_url: str | None = None
    post_created_at: datetime
    match: str = "handle"
    throttled: int = 0  # times SES throttled this request; each wait is longer
    # Put back on the queue by the Review function when an agent clicked Approve. It only
    # counts together with the per-person key in state `approved` (outreach/review.py).
    approved: bool = False

    @field_validator("email")
    @classmethod
    def _one_address(cls, value: str) -> str:
        address = addresses.normalise(value)
        if address is None:
            raise ValueError("not one plain e-mail address")
        return address

    @model_serializer(mode="wrap")
    def _wire(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Written only once set: a mailer still on the previous version (mid-deploy)
        # reads what triage sends, as the model forbids unknown fields.
        data: dict[str, Any] = handler(self)
        for name in ("throttled", "approved"):
            if not getattr(self, name):
                data.pop(name, None)
        return data


TriageResult.model_rebuild()
