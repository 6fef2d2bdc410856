"""Keyed hashes: the only form in which a person or a post is ever stored or logged."""

from __future__ import annotations

import hashlib
import hmac


class Hasher:
    """HMAC-SHA256 with a secret key, so hashes cannot be reversed by guessing handles."""

    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("hash key must be at least 16 characters")
        self._key = key.encode()

    def __call__(self, kind: str, value: str) -> str:
        # The kind is part of the message: a post id and a customer id never collide.
        digest = hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def mention(self, key: str) -> str:
        return self("mention", key)

    def person(self, customer_id: str) -> str:
        return self("person", customer_id)

    def address(self, email: str) -> str:
        return self("address", email.strip().lower())
