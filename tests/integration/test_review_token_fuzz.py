"""Review-link tokens under hostile input: only a token sealed by the stack's key and not
expired opens, and it opens to exactly the request sealed; expired, forged (another key),
altered, padded, cut and garbage tokens are a TokenError (400, 403 or 410), never another
exception; through the Review function, every request is answered with a page, never a
5xx, and nothing is written. Against moto's KMS (AES-GCM) over HTTP.

Seeded cases from the standard library, written as generators of (token, valid) so they
move into `make fuzz` (tests/fuzz, hypothesis) as strategies unchanged in spirit:
FUZZ_SEED and FUZZ_CASES as there.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from socialcare.adapters.kms import KmsSealer
from socialcare.outreach.approval import seal, unseal
from socialcare.outreach.unsubscribe import TokenError
from socialcare_cli.lambda_local import function_url_event
from socialcare_cli.template import Stack
from tests.conftest import context
from tests.unit.conftest import make_request

SEED = int(os.environ.get("FUZZ_SEED", "22"))
CASES = int(os.environ.get("FUZZ_CASES", "200"))
NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # tokens carry their expiry: checked against this
KINDS = ["genuine", "expired", "forged", "altered", "cut", "padded", "text"]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HOSTILE = B64 + "=+/.%&?# \t\n\x00é\u202e\ud800😀"


def sealers(stack: Stack) -> tuple[KmsSealer, KmsSealer]:
    """The stack's sealer, and one over another key of the same account (a forger's)."""
    kms = boto3.client("kms")
    other = kms.create_key(Description="not the stack's")["KeyMetadata"]["Arn"]
    ours = stack.attributes[("ReviewLinkKey", "Arn")]
    return KmsSealer(ours, lambda: kms), KmsSealer(other, lambda: kms)


def tokens(rng: random.Random, ours: KmsSealer, theirs: KmsSealer) -> Iterator[tuple[str, Any]]:
    """(token, the request it must open to, or None when it must not open)."""
    for i in range(CASES):
        request = make_request(mention_id=f"m{i}", customer_hash=f"{i:032x}")
        expires = NOW + timedelta(seconds=rng.randint(1, 7 * 86_400))
        genuine = seal(ours, request, expires)
        kind = rng.choice(KINDS)
        if kind == "genuine":
            yield genuine, request
        elif kind == "expired":
            yield seal(ours, request, NOW - timedelta(seconds=rng.randint(1, 86_400))), None
        elif kind == "forged":
            yield seal(theirs, request, expires), None
        elif kind == "altered":
            at = rng.randrange(len(genuine))
            new = rng.choice([c for c in HOSTILE if c != genuine[at]])
            yield genuine[:at] + new + genuine[at + 1 :], None
        elif kind == "cut":
            yield genuine[: rng.randrange(len(genuine))], None
        elif kind == "padded":
            yield genuine + "".join(rng.choices(HOSTILE, k=rng.randint(1, 4))), None
        else:
            yield "".join(rng.choices(HOSTILE, k=rng.randint(0, 120))), None


def test_only_a_genuine_unexpired_token_opens_and_to_its_own_request(stack: Stack) -> None:
    ours, theirs = sealers(stack)
    seen = {True: 0, False: 0}
    for token, request in tokens(random.Random(SEED), ours, theirs):
        for _ in range(2):  # replayed: the same answer
            try:
                held = unseal(ours, token, NOW)
            except TokenError as error:
                assert request is None, token
                assert error.status in (400, 403, 410)
                continue
            assert request is not None and held.request == request, token
        seen[request is not None] += 1
    assert seen[True] and seen[False]  # both sides were tried


def test_the_review_function_answers_every_token_with_a_page(stack: Stack, handler: Any) -> None:
    ours, theirs = sealers(stack)
    review = handler("ReviewFunction")
    table = boto3.client("dynamodb")
    rng = random.Random(SEED + 1)
    for token, _ in list(tokens(rng, ours, theirs))[: max(20, CASES // 4)]:
        method, action = rng.choice(["GET", "POST"]), rng.choice(["approve", "reject", "x"])
        event = function_url_event(method, f"/{action}")
        event["queryStringParameters"] = {"token": token} if token else None  # as decoded
        answer = review(event, context())
        # A genuine token finds no hold here (409/200): no request was reviewed.
        assert answer["statusCode"] in (200, 400, 403, 404, 409, 410), (token, answer)
        assert answer["headers"]["Content-Type"].startswith("text/html")
    assert table.scan(TableName=stack.physical["StateTable"])["Items"] == []


@pytest.mark.parametrize("body", ["token=%ZZ", "token=", "\udcff", "a" * 10_000])
def test_odd_form_bodies_get_a_page(stack: Stack, handler: Any, body: str) -> None:
    event = function_url_event(
        "POST",
        "/approve",
        body=body.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert handler("ReviewFunction")(event, context())["statusCode"] == 400
