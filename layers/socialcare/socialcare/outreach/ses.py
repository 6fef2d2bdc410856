"""Send a rendered e-mail with SES v2 SendEmail.

The MIME message is built here (Raw content), so the RFC 8058 List-Unsubscribe headers,
the Reply-To and both the text and HTML parts are exactly what we rendered.
"""

from __future__ import annotations

from email import policy
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError

from socialcare import addresses
from socialcare.errors import MailError, MailOutcomeUnknown, MailRejected, MailThrottled
from socialcare.outreach.ports import Email

_THROTTLED = {
    "TooManyRequestsException",
    "Throttling",
    "ThrottlingException",
    "LimitExceededException",
    "SendingPausedException",
}
# One attempt: botocore would otherwise resend after a read timeout (a second e-mail).
SES_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=10
)

_REJECTED = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "BadRequestException",
    "NotFoundException",
    "AccountSuspendedException",
}


# Long List-Unsubscribe URLs must stay one plain `<url>`, never RFC 2047-encoded words;
# bodies are 7-bit safe (quoted-printable), whatever relays the message on.
_POLICY = policy.SMTP.clone(max_line_length=998, cte_type="7bit")


def to_mime(email: Email) -> EmailMessage:
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = email.sender
    to = addresses.normalise(email.to)
    if to is None:  # CR/LF, a group, a display name: never written into a header
        raise ValueError("the recipient is not one plain e-mail address")
    msg["To"] = to
    msg["Reply-To"] = email.reply_to
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=email.sender.rpartition("@")[2] or None)
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    for item in email.attachments:  # the message becomes multipart/mixed
        maintype, subtype = item.content_type.split("/", 1)
        msg.add_attachment(item.data, maintype, subtype, filename=item.filename)
    return msg


def mime_bytes(email: Email) -> bytes:
    """The message as SES gets it. What cannot be written (a header with CR/LF, a lone
    surrogate) is MailRejected: typed, and never retried into the same failure."""
    try:
        return to_mime(email).as_bytes()
    except (ValueError, TypeError, MessageError) as exc:  # UnicodeError is a ValueError
        raise MailRejected(f"message cannot be written: {type(exc).__name__}") from exc


class SesMailer:
    """SendEmail is not idempotent: build the client with one attempt (`SES_CLIENT_CONFIG`),
    so botocore never resends after a read timeout; the SQS retry decides instead."""

    def __init__(self, client: Any, configuration_set: str = "") -> None:
        self._ses = client
        self._configuration_set = configuration_set

    def send(self, email: Email) -> str:
        kwargs: dict[str, Any] = {
            "FromEmailAddress": email.sender,
            "Destination": {"ToAddresses": [email.to]},
            "ReplyToAddresses": [email.reply_to],
            "Content": {"Raw": {"Data": mime_bytes(email)}},
            "EmailTags": [{"Name": k, "Value": v} for k, v in email.tags.items()],
        }
        if self._configuration_set:
            kwargs["ConfigurationSetName"] = self._configuration_set
        try:
            return str(self._ses.send_email(**kwargs)["MessageId"])
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in _THROTTLED:
                raise MailThrottled(f"SES throttled: {code}") from exc
            if code in _REJECTED:
                raise MailRejected(f"SES rejected the message: {code}") from exc
            raise MailError(f"SES error: {code}") from exc
        except HTTPClientError as exc:
            # The request went out and the answer was lost: SES may have sent it.
            raise MailOutcomeUnknown(f"SES answer lost: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            # Connection refused/timed out, no credentials: the request never reached SES.
            raise MailThrottled(f"SES unreachable: {type(exc).__name__}") from exc
