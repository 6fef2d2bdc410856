"""Unsubscribe tokens: only a token made with the secret for a customer, and not expired,
names that customer; forged, expired, altered, other-address, non-ASCII and garbage tokens
are a TokenError (400 or 403), replayed ones give the same answer. Through the deployed
handler: every request is answered 200, 400 or 403, and a one-click POST opts out exactly
the token's customer, once however often it is replayed."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import boto3
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare.outreach.unsubscribe import TokenError, make_token, verify_token
from socialcare.wiring import derived_secret
from socialcare_cli.lambda_local import FakeContext, function_url_event
from tests.conftest import HASH_KEY
from tests.fuzz.hostile import CHARACTERS, TEXT
from tests.fuzz.report import cases, run

SECRET = derived_secret(HASH_KEY, "unsubscribe")
TIMEOUT_S = 10  # UnsubscribeFunction
NOW = 1_900_000_000.0  # tokens carry their expiry: checked against this, not today
HASHES = st.text("0123456789abcdef", min_size=32, max_size=32)
KINDS = ["genuine", "expired", "forged", "other", "altered", "text", "padded"]


@st.composite
def tokens(draw: st.DrawFn, customer: str) -> tuple[str, bool]:
    """(a token, whether it is genuine and valid for `customer` at NOW)."""
    kind = draw(st.sampled_from(KINDS))
    ttl = draw(st.integers(1, 90 * 86_400))
    genuine = make_token(SECRET, customer, ttl_s=ttl, now=NOW)
    if kind == "genuine":
        return genuine, True
    if kind == "expired":
        return make_token(SECRET, customer, ttl_s=-ttl, now=NOW), False
    if kind == "forged":
        return make_token(draw(st.text(min_size=1)), customer, ttl_s=ttl, now=NOW), False
    if kind == "other":  # someone else's hash under this token's signature
        other = draw(HASHES.filter(lambda h: h != customer))
        return genuine.replace(customer, other), False
    if kind == "altered":
        at = draw(st.integers(0, len(genuine) - 1))
        new = draw(st.sampled_from("0123456789abcdefé.\ud800 ").filter(lambda c: c != genuine[at]))
        return genuine[:at] + new + genuine[at + 1 :], False
    if kind == "padded":
        return genuine + draw(st.text(CHARACTERS, min_size=1, max_size=3)), False
    return draw(TEXT), False


@settings(max_examples=cases(1))
@given(data=st.data())
def test_only_a_genuine_token_names_its_customer(data: st.DataObject) -> None:
    customer = data.draw(HASHES)
    token, valid = data.draw(tokens(customer))
    for _ in range(2):  # replayed: the same answer
        out = run(
            "unsubscribe token", TIMEOUT_S, lambda: verify_token(SECRET, token, NOW), (TokenError,)
        )
        if valid:
            assert out == customer
        else:
            assert isinstance(out, TokenError) and out.status in (400, 403)


def optouts(stack: Any) -> set[str]:
    items = boto3.client("dynamodb").scan(TableName=stack.physical["StateTable"])["Items"]
    return {i["pk"]["S"] for i in items if i["pk"]["S"].startswith("optout#")}


@settings(max_examples=cases(0.2))
@given(data=st.data())
def test_the_deployed_handler_answers_and_opts_out_only_the_token_s_customer(
    emulated: dict[str, Any], data: st.DataObject
) -> None:
    customer = data.draw(HASHES)
    token, _ = data.draw(tokens(customer))
    token = make_token(SECRET, customer) if data.draw(st.booleans()) else token  # real clock
    method = data.draw(st.sampled_from(["GET", "POST"]))
    how = data.draw(st.sampled_from(["query", "form", "binary"]))
    query = {"token": token} if how == "query" else None
    event = function_url_event(method, "/", query)
    if how == "form":
        event["body"] = urlencode({"token": token}, errors="surrogatepass")
    elif how == "binary":
        raw = data.draw(st.binary(max_size=200))
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    before = optouts(emulated["stack"])
    for _ in range(data.draw(st.integers(1, 2))):  # replayed
        answer = run(
            "unsubscribe handler (Lambda)",
            TIMEOUT_S,
            lambda: emulated["unsubscribe"](event, FakeContext("UnsubscribeFunction", TIMEOUT_S)),
        )
        assert answer["statusCode"] in (200, 400, 403)
    added = optouts(emulated["stack"]) - before
    if method == "POST" and answer["statusCode"] == 200:
        assert added <= {f"optout#{customer}"}  # only the token's customer, once
    else:
        assert added == set()  # GET and refused tokens change nothing
