"""The stack's hash key and, after a rotation, the one before it.

One secret (`HashKeySecret`) holds the key; `socialcare rotate-key` puts a new value, so
Secrets Manager labels the new one AWSCURRENT and the old one AWSPREVIOUS. Functions
write under the current key and look opt-outs and cooldowns up under both (Hasher). They
re-read the secret every five minutes, so a rotation reaches warm containers too.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from socialcare.errors import ConfigError
from socialcare.hashing import Hasher
from socialcare.observability import logger

REFRESH_S = 300.0


def derived_secret(key: str, purpose: str) -> str:
    """One stored secret, a separate key per purpose (hashing, unsubscribe tokens, cursors)."""
    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def read_hash_keys(client: Any, secret_id: str) -> tuple[str, ...]:
    """(current,) or (current, previous): the secret's AWSCURRENT and AWSPREVIOUS values."""
    current = str(client.get_secret_value(SecretId=secret_id)["SecretString"])
    try:
        previous = client.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return (current,)  # never rotated
    value = str(previous.get("SecretString", ""))
    return (current,) if not value or value == current else (current, value)


class StackKeys:
    """The root keys, current first, cached for REFRESH_S.

    `fixed` (SOCIALCARE_HASH_KEY and _PREVIOUS) serves the local tools without AWS. A
    failed re-read keeps the cached keys (logged); only a failed first read is fatal.
    """

    def __init__(
        self,
        read: Callable[[], tuple[str, ...]],
        clock: Callable[[], float] = time.monotonic,
        name: str = "the hash key",
    ) -> None:
        self._read = read
        self._name = name
        self._clock = clock
        self._keys: tuple[str, ...] = ()
        self._read_at = -math.inf

    @classmethod
    def fixed(cls, *keys: str) -> StackKeys:
        values = tuple(k for k in keys if k)
        return cls(lambda: values, clock=lambda: 0.0)

    def __call__(self) -> tuple[str, ...]:
        if self._clock() - self._read_at >= REFRESH_S:
            try:
                self._keys = self._read()
            except Exception as exc:
                if not self._keys:
                    raise ConfigError(f"cannot read {self._name}: {type(exc).__name__}") from exc
                logger.warning(
                    "hash key not re-read, the cached one stays",
                    extra={"error": type(exc).__name__},
                )
            self._read_at = self._clock()
        return self._keys

    def derived(self, purpose: str) -> tuple[str, ...]:
        return tuple(derived_secret(key, purpose) for key in self())


class StackHasher(Hasher):
    """A Hasher over the stack's keys (purpose `hash`), following a rotation."""

    def __init__(self, keys: StackKeys) -> None:
        self._stack = keys
        keys()  # read at cold start: a missing secret fails fast

    def keys(self) -> tuple[bytes, ...]:
        return tuple(key.encode() for key in self._stack.derived("hash"))
