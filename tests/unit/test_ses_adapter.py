"""SES errors map to typed errors: throttling is retried (via the queue), a bad address
is permanent."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from socialcare.errors import (
    MailError,
    MailOutcomeUnknown,
    MailRejected,
    MailThrottled,
    RetryableError,
)
from socialcare.outreach.ports import Email
from socialcare.outreach.ses import SES_CLIENT_CONFIG, SesMailer, to_mime

EMAIL = Email(
    to="a@example.net",
    sender="s@lynet.example",
    reply_to="r@lynet.example",
    subject="Kan vi hjælpe?",
    text="Hej",
    html="<p>Hej</p>",
    headers={"List-Unsubscribe": "<https://x.example/u?token=" + "a" * 150 + ">"},
    tags={"source": "x"},
)


class Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        raise self.error


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "SendEmail")


@pytest.mark.parametrize(
    "code", ["TooManyRequestsException", "Throttling", "LimitExceededException"]
)
def test_throttling_is_retryable(code: str) -> None:
    with pytest.raises(MailThrottled) as info:
        SesMailer(Failing(client_error(code))).send(EMAIL)
    assert isinstance(info.value, RetryableError)


@pytest.mark.parametrize("code", ["MessageRejected", "BadRequestException", "NotFoundException"])
def test_rejections_are_permanent(code: str) -> None:
    with pytest.raises(MailRejected) as info:
        SesMailer(Failing(client_error(code))).send(EMAIL)
    assert not isinstance(info.value, RetryableError)


def test_network_errors_are_retryable_and_unknown_errors_typed() -> None:
    with pytest.raises(MailThrottled):
        SesMailer(Failing(EndpointConnectionError(endpoint_url="https://ses"))).send(EMAIL)
    with pytest.raises(MailError):
        SesMailer(Failing(client_error("Mystery"))).send(EMAIL)


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url="https://ses"),
        ConnectionClosedError(endpoint_url="https://ses"),
    ],
)
def test_a_lost_answer_is_an_unknown_outcome_not_a_retry(error: Exception) -> None:
    with pytest.raises(MailOutcomeUnknown) as info:
        SesMailer(Failing(error)).send(EMAIL)
    assert not isinstance(info.value, RetryableError)


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://ses"),
        ConnectTimeoutError(endpoint_url="https://ses"),
        NoCredentialsError(),
    ],
)
def test_errors_before_the_request_left_are_retryable(error: Exception) -> None:
    with pytest.raises(MailThrottled):
        SesMailer(Failing(error)).send(EMAIL)


def test_botocore_never_resends_an_email_by_itself() -> None:
    client = boto3.client("sesv2", region_name="eu-west-1", config=SES_CLIENT_CONFIG)
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_mime_keeps_long_unsubscribe_header_plain_and_body_7bit() -> None:
    raw = to_mime(EMAIL).as_bytes()
    assert raw.isascii()
    assert b"List-Unsubscribe: <https://x.example/u?token=" + b"a" * 150 + b">" in raw
    assert b"=?utf-8?" not in raw.split(b"List-Unsubscribe:")[1].split(b"\r\n")[0]
