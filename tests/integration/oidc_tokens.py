"""Google's Pub/Sub OIDC tokens, minted here at run time (a recorded token expires): an RSA
key of our own, its JWKS for the stand-in to serve, and RS256 tokens with any claims."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.integration.push_cases import AUDIENCE, PUSH_ACCOUNT

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "lynet-test-key-1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def number(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def jwks() -> dict[str, Any]:
    public = KEY.public_key().public_numbers()
    jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID}
    return {"keys": [{**jwk, "n": number(public.n), "e": number(public.e)}]}


def token(key: Any = KEY, header: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "azp": "100000000000000000001",
        "sub": "100000000000000000001",
        "email": PUSH_ACCOUNT,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    head = {"alg": "RS256", "kid": KID, "typ": "JWT", **(header or {})}
    signed = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signed}.{b64(signature)}"
