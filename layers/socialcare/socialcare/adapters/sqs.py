"""Send messages to SQS in batches of 10; a batch that is not fully accepted raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from socialcare.errors import RetryableError

BATCH = 10  # SendMessageBatch's limit


class SqsQueue:
    def __init__(self, client: Any, url: str) -> None:
        self._sqs = client
        self._url = url

    def send_all(self, messages: Sequence[BaseModel], delay_s: int = 0) -> None:
        """Send every message (or raise); `delay_s` (at most 900) hides them that long."""
        for start in range(0, len(messages), BATCH):
            chunk = {
                str(i): m.model_dump_json() for i, m in enumerate(messages[start : start + BATCH])
            }
            self._send_batch(chunk, attempts=3, delay_s=min(max(delay_s, 0), 900))

    def _send_batch(self, bodies: dict[str, str], attempts: int, delay_s: int = 0) -> None:
        pending = bodies
        for _ in range(attempts):
            try:
                out = self._sqs.send_message_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {"Id": k, "MessageBody": v, "DelaySeconds": delay_s}
                        for k, v in pending.items()
                    ],
                )
            except (ClientError, BotoCoreError) as exc:
                raise RetryableError(f"SQS send failed: {type(exc).__name__}") from exc
            failed = out.get("Failed", [])
            if not failed:
                return
            # Only sender-side failures are worth a retry; entries are resent, never skipped.
            if any(f.get("SenderFault") for f in failed):
                codes = sorted({f.get("Code", "?") for f in failed})
                raise RetryableError(f"SQS rejected {len(failed)} messages: {codes}")
            pending = {f["Id"]: pending[f["Id"]] for f in failed}
        raise RetryableError(f"SQS did not accept {len(pending)} messages after {attempts} tries")


class SqsInbox:
    """A queue drained by a scheduled function rather than an event source mapping:
    receive what is there, then delete it once handled (or release it for a retry)."""

    def __init__(self, client: Any, url: str, visibility_s: int, wait_s: int = 1) -> None:
        self._sqs = client
        self._url = url
        self._visibility = visibility_s  # longer than the run: nothing comes back mid-run
        self._wait = wait_s

    def receive(self, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` (receipt handle, body) pairs; stops at the first empty receive,
        which long-polls (`wait_s` > 0) so that every SQS server is asked."""
        got: list[tuple[str, str]] = []
        while len(got) < limit:
            out = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=min(BATCH, limit - len(got)),
                WaitTimeSeconds=self._wait,
                VisibilityTimeout=self._visibility,
            )
            messages = out.get("Messages", [])
            if not messages:
                break
            got += [(m["ReceiptHandle"], m["Body"]) for m in messages]
        return got

    def delete(self, receipts: Sequence[str]) -> None:
        for start in range(0, len(receipts), BATCH):
            chunk = receipts[start : start + BATCH]
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)],
            )

    def release(self, receipts: Sequence[str]) -> None:
        """Visible again at once, for the retry (else after the visibility timeout)."""
        for start in range(0, len(receipts), BATCH):
            chunk = receipts[start : start + BATCH]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                    for i, r in enumerate(chunk)
                ],
            )
