"""Keyed hashes: the only form in which a person or a post is ever stored or logged."""

from __future__ import annotations

import hashlib
import hmac


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it: stored beside an opt-out (`kid`), so
    `socialcare rotate-key` can count the entries still under the previous key."""
    return hmac.new(key, b"kid", hashlib.sha256).hexdigest()[:8]


class Hasher:
    """HMAC-SHA256 with a secret key, so hashes cannot be reversed by guessing handles.

    After a key rotation there is also the previous key: what is written is hashed under
    the current key; what must still be found (opt-outs, cooldowns) is looked up under
    both (`candidates`), and re-keyed when found under the previous one.
    """

    def __init__(self, key: str, previous: str | None = None) -> None:
        keys = (key,) if previous is None else (key, previous)
        if any(len(k) < 16 for k in keys):
            raise ValueError("hash key must be at least 16 characters")
        self._keys = tuple(utf8(k) for k in keys)

    def keys(self) -> tuple[bytes, ...]:
        """The current key, then the one before the last rotation (if any)."""
        return self._keys

    @staticmethod
    def _hash(key: bytes, kind: str, value: str) -> str:
        if kind == "address":
            value = value.strip().lower()
        # The kind is part of the message: a post id and a customer id never collide.
        return hmac.new(key, utf8(f"{kind}\x00{value}"), hashlib.sha256).hexdigest()[:32]

    def __call__(self, kind: str, value: str) -> str:
        return self._hash(self.keys()[0], kind, value)

    def candidates(self, kind: str, value: str) -> list[str]:
        """The value's hash under each key, the current one first."""
        return [self._hash(key, kind, value) for key in self.keys()]

    @property
    def kids(self) -> tuple[str, ...]:
        """The keys' fingerprints, in the order of `keys()`."""
        return tuple(fingerprint(key) for key in self.keys())

    def mention(self, key: str) -> str:
        return self("mention", key)

    def person(self, customer_id: str) -> str:
        return self("person", customer_id)

    def address(self, email: str) -> str:
        return self("address", email)


def utf8(text: str) -> bytes:
    """UTF-8 bytes of any str: a lone surrogate (a Lambda event or an argv can hold one)
    is encoded as it stands instead of raising UnicodeEncodeError."""
    return text.encode("utf-8", "surrogatepass")


def same(expected: str, given: str) -> bool:
    """Constant-time equality over bytes (hmac.compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(utf8(expected), utf8(given))
