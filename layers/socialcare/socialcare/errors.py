"""Typed errors. Each says which part failed and whether a retry can help.

`RetryableError`s send the SQS record back to its queue (partial batch failure) so it is
retried and, after maxReceiveCount, lands in the DLQ. Nothing is dropped silently.
"""

from __future__ import annotations

import json
import re


class SocialcareError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(SocialcareError):
    """Settings or brand configuration are missing or invalid (fail at cold start)."""


class FormatError(ConfigError):
    """Stored data of a format this version cannot read; the message names the fix."""


class BadInputError(SocialcareError):
    """A message or payload does not have the expected shape. Retrying will not help."""


class RetryableError(SocialcareError):
    """A dependency failed in a way that may pass: 5xx, timeouts, throttling."""


class OutOfTime(RetryableError):
    """Too little of the invocation is left to finish a record; it was not started."""


class SourceError(SocialcareError):
    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class SourcePayloadError(SourceError, BadInputError):
    """A platform answered with something that is not a page of posts."""


class SourceAuthError(SourceError):
    """The platform refused our credentials (expired or revoked token)."""


class SourceRateLimited(SourceError):
    """The platform asked us to slow down; this run stops and keeps its cursor."""

    def __init__(self, source: str, retry_after_s: float | None = None, kind: str = "rate_limit"):
        super().__init__(source, f"{kind}; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s
        self.kind = kind


class SourceUnavailable(SourceError, RetryableError):
    """5xx or network errors that outlasted our retries."""


class DecisionInProgress(RetryableError):
    """Another delivery of this post and fetch is being decided right now; this one goes
    back to the queue and, when it comes again, finds the decision made."""


class CrmError(RetryableError):
    """The CRM failed (5xx, 429 after retries, timeout): never read as 'no match'."""


class CrmAuthError(CrmError):
    """The CRM or help desk refused our credentials (401, or 403 for a missing scope).

    Still a CrmError: the message waits on its queue until the credential is fixed
    (nothing is dropped), and the CrmAuthFailed alarm tells the operators."""


class NotTheHolder(SocialcareError):
    """A state key is held by another owner, so this owner may not change it."""


class MailError(SocialcareError):
    pass


class MailThrottled(MailError, RetryableError):
    """SES throttled us or could not be reached; nothing was sent, the request is retried."""


class MailRejected(MailError, BadInputError):
    """SES refused this message for good (bad address, unverified sender)."""


class MailOutcomeUnknown(MailError):
    """The request may have reached SES (read timeout, connection closed mid-answer).

    Never retried: the per-person key stays held, so at worst one e-mail goes out."""


class MailDeferred(MailError):
    """Not now: the hourly e-mail cap is reached, SES throttled us, or the send window is
    closed. The request goes back on the queue, delayed, without counting as a failed
    delivery (so a backlog, a night or a burst of throttling does not run out of receives
    and into the DLQ)."""

    def __init__(self, retry_in_s: int, why: str = "hourly_cap") -> None:
        super().__init__(f"{why}; retry in {retry_in_s} s")
        self.retry_in_s = retry_in_s
        self.why = why  # "hourly_cap" | "throttled" | "send_window"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,39}")


def what_failed(exc: BaseException) -> str:
    """An exception as its type and the field names involved, never its message: that may
    quote the post text or a name (pydantic's does)."""
    from pydantic import ValidationError

    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON (at character {exc.pos})"
    if isinstance(exc, ValidationError):
        fields = {".".join(str(part) for part in e["loc"]) for e in exc.errors()}
        return f"ValidationError in {', '.join(sorted(f or '(the object)' for f in fields))}"
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        key = exc.args[0]
        return f"KeyError {key!r}" if _NAME.fullmatch(key) else "KeyError"
    return type(exc).__name__
