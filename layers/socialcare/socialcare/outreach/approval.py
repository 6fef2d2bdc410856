"""The Approve and Reject links of a review e-mail: the held request sealed in the link.

The token is the whole OutreachRequest and the link's expiry, sealed (authenticated
encryption, adapters.kms), base64url: nothing about the customer waits at rest while the
agents decide, and no one can make or alter a link without the key. Both links carry the
same token; the path says what a click does. A token opens as often as it is clicked: the
per-person key's state (outreach/review.py) is what lets it act once.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError

from socialcare import formats
from socialcare.errors import FormatError
from socialcare.models import OutreachRequest
from socialcare.outreach.ports import Sealer
from socialcare.outreach.unsubscribe import TokenError

ACTIONS = ("approve", "reject")
# The per-person key's states (`person#<hash>`) around a review, besides the mailer's own
# (none while claimed, then sent, recorded or unknown).
REVIEW = "review"  # the review e-mail went to the agents; their links are open
APPROVED = "approved"  # an agent approved; waiting for the mailer's checks
SENDING = "sending"  # the mailer took the approved hold and is sending
DEFAULT_TTL = timedelta(hours=48)
# base64url without padding; checked before any decoding or KMS call. A sealed request
# is about a kilobyte; anything far longer is not ours.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,4096}", re.ASCII)


class LinkExpired(TokenError):
    """A genuine link, clicked after its window: the hold has lapsed, nothing is sent."""

    def __init__(self) -> None:
        super().__init__("expired link", status=410)


class _Sealed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: int
    exp: int  # epoch seconds
    req: OutreachRequest


@dataclass(frozen=True)
class Held:
    request: OutreachRequest
    expires: datetime


@dataclass(frozen=True)
class Links:
    approve: str
    reject: str
    expires: datetime


def seal(sealer: Sealer, request: OutreachRequest, expires: datetime) -> str:
    payload = _Sealed(v=formats.REVIEW_LINK, exp=int(expires.timestamp()), req=request)
    blob = sealer.seal(payload.model_dump_json().encode())
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode()


def unseal(sealer: Sealer, token: str, now: datetime) -> Held:
    """The held request, or TokenError: 400 malformed, 403 forged or altered, 410 expired."""
    if not _SHAPE.fullmatch(token):
        raise TokenError("malformed token", status=400)
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed token", status=400) from None
    plaintext = sealer.open(blob)
    try:
        sealed = _Sealed.model_validate_json(plaintext)
        formats.check("review link", sealed.v, formats.REVIEW_LINK)
    except (ValidationError, FormatError):
        raise TokenError("unreadable link", status=400) from None
    expires = datetime.fromtimestamp(sealed.exp, UTC)
    if expires < now:
        raise LinkExpired
    return Held(sealed.req, expires)


def url(base: str, action: str, token: str) -> str:
    return f"{base.rstrip('/')}/{action}?token={token}"


@dataclass(frozen=True)
class ReviewLinks:
    """What the mailer needs to put the links in a review e-mail."""

    base_url: str  # the Review function's URL
    sealer: Sealer
    ttl: timedelta = DEFAULT_TTL  # ReviewLinkHours: the links' and the hold's window

    def make(self, request: OutreachRequest, now: datetime) -> Links:
        expires = (now + self.ttl).replace(microsecond=0)
        token = seal(self.sealer, request, expires)
        approve, reject = (url(self.base_url, action, token) for action in ACTIONS)
        return Links(approve, reject, expires)
