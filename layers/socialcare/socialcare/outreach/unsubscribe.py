"""Signed opt-out tokens: `<customer hash>.<expiry>.<hmac>`, nothing personal in clear."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from socialcare.errors import BadInputError

# (signing secret, fingerprint of the hash key it belongs with): the current key's first.
UnsubscribeKey = tuple[str, str]


class TokenError(BadInputError):
    """A forged, altered, malformed or expired opt-out token (`status`: 400 or 403)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def make_token(
    secret: str, customer_hash: str, ttl_s: int = 90 * 86_400, now: float | None = None
) -> str:
    expiry = int((time.time() if now is None else now) + ttl_s)
    payload = f"{customer_hash}.{expiry}"
    return f"{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, now: float | None = None) -> str:
    """Return the customer hash the token was made for, or raise TokenError."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or len(token) > 200:
        raise TokenError("malformed token", status=400)
    customer_hash, expiry, signature = parts
    if not hmac.compare_digest(_sign(secret, f"{customer_hash}.{expiry}"), signature):
        raise TokenError("bad signature")
    if not expiry.isdigit() or int(expiry) < (time.time() if now is None else now):
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
