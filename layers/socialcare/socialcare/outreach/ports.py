"""The mail port and the rendered e-mail it sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "application/x-ndjson"
    data: bytes


@dataclass(frozen=True)
class Email:
    """A rendered e-mail: what the mailer hands to the mail port."""

    to: str
    sender: str
    reply_to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()  # the agents' digest carries labels.jsonl


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


class Sealer(Protocol):
    """Authenticated encryption of a review link's payload (adapters.kms in Lambda)."""

    def seal(self, plaintext: bytes) -> bytes: ...

    def open(self, blob: bytes) -> bytes:
        """The plaintext, or TokenError (403) when the blob is not one this sealer made."""
        ...
