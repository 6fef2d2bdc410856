"""A vendor's error body is untrusted: only a short word is read as its error code."""

from __future__ import annotations

import json

import pytest
import requests

from socialcare.identity.hubspot import HubSpotApi, HubSpotOptions
from socialcare.identity.vendor import HttpOptions


def answer(body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = 403
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"category": "RATE_LIMITS"}, " RATE_LIMITS"),
        ({"category": True}, ""),  # found by make fuzz: was a TypeError in the CRM call
        ({"category": ["a"]}, ""),
        ({"category": "two words"}, ""),
        ([1, 2], ""),
    ],
)
def test_only_a_word_is_an_error_code(body: object, code: str) -> None:
    api = HubSpotApi("https://crm.example.invalid", "token", HubSpotOptions(), HttpOptions())
    assert api._code(answer(body)) == code
