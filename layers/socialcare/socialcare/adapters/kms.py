"""KMS seals review links: AES-256-GCM inside KMS, with a key of its own.

The key never leaves KMS, so the mailer (kms:Encrypt only) can make links and the Review
function (kms:Decrypt only) can read them, and neither can do the other's part. The
encryption context is authenticated with the ciphertext: a blob made for another purpose
under this key does not open here. Rotation is KMS's: old blobs keep opening.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from socialcare.errors import RetryableError
from socialcare.outreach.unsubscribe import TokenError

CONTEXT = {"purpose": "socialcare-review-link"}
# What KMS answers for a blob that is not ours, altered or cut: a refused link, not a fault.
# AccessDenied too: an altered blob can name a key this role may not use (a wrong grant
# would refuse every link; the deploy proof, make e2e, opens real ones).
_NOT_OURS = {
    "InvalidCiphertextException",
    "IncorrectKeyException",
    "ValidationException",
    "AccessDeniedException",
}


class KmsSealer:
    def __init__(self, key_id: str, client: Callable[[], Any]) -> None:
        self._key_id = key_id
        self._make_client = client
        self._client: Any = None

    @property
    def _kms(self) -> Any:
        if self._client is None:  # on first use: a function that never seals pays nothing
            self._client = self._make_client()
        return self._client

    def seal(self, plaintext: bytes) -> bytes:
        try:
            out = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=plaintext, EncryptionContext=CONTEXT
            )
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"KMS Encrypt: {_code(exc)}") from exc
        return bytes(out["CiphertextBlob"])

    def open(self, blob: bytes) -> bytes:
        try:
            # KeyId pins our key: a blob made under any other key the role could use fails.
            out = self._kms.decrypt(
                KeyId=self._key_id, CiphertextBlob=blob, EncryptionContext=CONTEXT
            )
        except ClientError as exc:
            if _code(exc) in _NOT_OURS:
                raise TokenError("bad token") from None
            raise RetryableError(f"KMS Decrypt: {_code(exc)}") from exc
        except BotoCoreError as exc:
            raise RetryableError(f"KMS Decrypt: {type(exc).__name__}") from exc
        return bytes(out["Plaintext"])


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
