"""Google's OIDC tokens on Pub/Sub push: an RS256 JWT checked against Google's key set.

Verifying RS256 is small enough to do here rather than ship a crypto stack in the layer:
RSASSA-PKCS1-v1_5 with SHA-256 is one modular exponentiation (`pow(s, e, n)`) and a
comparison with the padded DigestInfo of the signed bytes (RFC 8017, 8.2.2). Nothing is
signed or decrypted here, so no secret-dependent timing is involved.

Checked, in order: the token's shape and size; `alg` RS256 (never `none` or HS256); a
known `kid` (an unknown one refetches the key set, at most once per REFETCH_S); the
signature; `iss` Google's; `aud` ours; `email` the subscription's service account with
`email_verified`; `exp` and `iat` within LEEWAY_S of our clock. Any failure is a
TokenRefused naming the check (never the token's contents).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from socialcare import safejson
from socialcare.errors import SocialcareError
from socialcare.hashing import same
from socialcare.sources.base import network_errors

if TYPE_CHECKING:
    import requests

ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
# DER of DigestInfo{sha256} up to the digest (RFC 8017, 9.2, note 1).
SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
MAX_TOKEN_CHARS = 8192
MIN_MODULUS_BITS = 2048
LEEWAY_S = 300
KEYS_TTL_S = 3600  # Google rotates keys over days; its Cache-Control says about six hours
REFETCH_S = 300  # an unknown kid refetches at most this often: a forged kid cannot flood


class TokenRefused(SocialcareError):
    """The token fails one check (`reason`: shape, alg, kid, signature, iss, aud...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token refused: {reason}")
        self.reason = reason


def b64url(text: str) -> bytes:
    if not text or len(text) > MAX_TOKEN_CHARS or "=" in text:
        raise ValueError("not base64url")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _int(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError("not a base64url number")
    return int.from_bytes(b64url(value), "big")


def rsa_key(jwk: Mapping[str, Any]) -> tuple[int, int]:
    """(n, e) of an RSA JWK; short moduli and odd exponents are refused."""
    if jwk.get("kty") != "RSA":
        raise ValueError("not an RSA key")
    n, e = _int(jwk.get("n")), _int(jwk.get("e"))
    if n.bit_length() < MIN_MODULUS_BITS or e < 3 or e % 2 == 0:
        raise ValueError("weak RSA key")
    return n, e


def rs256_ok(key: tuple[int, int], signed: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017, 8.2.2)."""
    n, e = key
    size = (n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(size, "big")
    digest_info = SHA256_PREFIX + hashlib.sha256(signed).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(em, expected)


class KeySet:
    """Google's signing keys (JWKS), fetched when first needed and cached per container."""

    def __init__(
        self,
        session: requests.Session,
        url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.url = url
        self.clock = clock
        self._keys: dict[str, tuple[int, int]] = {}
        self._fetched = float("-inf")

    def _fetch(self) -> None:
        self._fetched = self.clock()
        try:
            response = self.session.get(self.url)
            body = safejson.response_json(response) if response.status_code == 200 else None
        except (network_errors(), ValueError):
            body = None
        found: dict[str, tuple[int, int]] = {}
        for jwk in body.get("keys", []) if isinstance(body, dict) else []:
            try:
                if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str):
                    found[jwk["kid"]] = rsa_key(jwk)
            except ValueError:
                continue
        if found:
            self._keys = found

    def get(self, kid: str) -> tuple[int, int] | None:
        age = self.clock() - self._fetched
        if age > KEYS_TTL_S or (kid not in self._keys and age > REFETCH_S):
            self._fetch()
        return self._keys.get(kid)


def verify(
    token: str,
    keys: Callable[[str], tuple[int, int] | None],
    *,
    audience: str,
    email: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of a Google-signed OIDC token for `audience` and service account `email`."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise TokenRefused("shape")
    head, body, sig = token.split(".")
    try:
        header = safejson.loads(b64url(head))
        claims = safejson.loads(b64url(body))
        signature = b64url(sig)
    except ValueError as exc:
        raise TokenRefused("shape") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenRefused("shape")
    if header.get("alg") != "RS256":
        raise TokenRefused("alg")
    kid = header.get("kid")
    key = keys(kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise TokenRefused("kid")
    if not rs256_ok(key, f"{head}.{body}".encode("ascii"), signature):
        raise TokenRefused("signature")
    if claims.get("iss") not in ISSUERS:
        raise TokenRefused("iss")
    aud = claims.get("aud")
    if not isinstance(aud, str) or not audience or not same(audience, aud):
        raise TokenRefused("aud")
    if claims.get("email") != email or claims.get("email_verified") is not True:
        raise TokenRefused("email")
    now = time.time() if now is None else now
    if _seconds(claims.get("exp")) + LEEWAY_S < now:
        raise TokenRefused("expired")
    if _seconds(claims.get("iat")) - LEEWAY_S > now:
        raise TokenRefused("iat")
    return claims


def _seconds(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return float(value)
    raise TokenRefused("times")
