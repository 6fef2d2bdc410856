"""Signed opt-out tokens: `<customer hash>.<expiry>.<hmac>`, nothing personal in clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from urllib.parse import parse_qs

from socialcare.errors import BadInputError
from socialcare.hashing import same, utf8

# <customer hash>.<expiry, epoch seconds>.<HMAC-SHA256 hex>: checked before any crypto, so
# no odd input (non-ASCII, lone surrogates, huge numbers) reaches the comparison.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}\.[0-9]{1,12}\.[0-9A-Fa-f]{64}", re.ASCII)

# (signing secret, fingerprint of the hash key it belongs with): the current key's first.
UnsubscribeKey = tuple[str, str]


class TokenError(BadInputError):
    """A forged, altered, malformed or expired opt-out token (`status`: 400 or 403)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def _sign(secret: str, payload: str) -> str:
    return hmac.new(utf8(secret), utf8(payload), hashlib.sha256).hexdigest()


def make_token(
    secret: str, customer_hash: str, ttl_s: int = 90 * 86_400, now: float | None = None
) -> str:
    expiry = int((time.time() if now is None else now) + ttl_s)
    payload = f"{customer_hash}.{expiry}"
    return f"{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, now: float | None = None) -> str:
    """Return the customer hash the token was made for, or raise TokenError."""
    if len(token) > 200 or not _SHAPE.fullmatch(token):
        raise TokenError("malformed token", status=400)
    customer_hash, expiry, signature = token.split(".")
    if not same(_sign(secret, f"{customer_hash}.{expiry}"), signature):
        raise TokenError("bad signature")
    if int(expiry) < (time.time() if now is None else now):
        raise TokenError("expired token")
    return customer_hash


def verify_any(
    keys: Sequence[UnsubscribeKey], token: str, now: float | None = None
) -> tuple[str, str]:
    """Verify under the current key, then the previous one (links outlive a rotation by up
    to their 90 days); return the customer hash and the kid of the key that signed it."""
    refused: TokenError | None = None
    for secret, kid in keys:
        try:
            return verify_token(secret, token, now), kid
        except TokenError as error:
            if error.status != 403 or error.args[0] != "bad signature":
                raise  # malformed or expired: no other key changes that
            refused = error
    raise refused or TokenError("no key to verify with")


def token_of(query_token: str | None, body: str | None, base64_encoded: bool) -> str:
    """The token of a link's request: the link's query, else the form body (the
    confirmation page's POST). A body that is not UTF-8 text has no token, never an error."""
    if query_token:
        return query_token
    if not body:
        return ""
    raw = body
    if base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
            return ""
    return parse_qs(raw).get("token", [""])[0]
