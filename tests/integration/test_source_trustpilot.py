"""Trustpilot: the private endpoint adds the consumer's e-mail; the public one does not."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from socialcare.sources import trustpilot
from socialcare_cli import servers
from tests.integration.platform_cases import BY_NAME, SECRETS, UNIT, Run, load

CASE = BY_NAME["trustpilot"]
PAGES = [load(f"trustpilot/{p}") for p in CASE.pages]


@pytest.fixture
def run() -> Iterator[Run]:
    fake = CASE.fake(PAGES)
    with servers.serve(fake) as url:
        yield Run(CASE, fake, url)


def emails(run: Run) -> list[str | None]:
    return [json.loads(m)["email"] for m in run.queue.messages]


def test_business_credentials_read_the_private_endpoint_with_e_mails(run: Run) -> None:
    run()
    assert {p for m, p, _ in run.fake.requests if m == "GET"} == {
        f"/v1/private/business-units/{UNIT}/reviews"
    }
    assert sum(1 for m, _, _ in run.fake.requests if m == "POST") == 1  # one login
    assert emails(run) == [
        "karen.poulsen@example.net",
        "peter@example.net",
        None,
        "john@example.com",
    ]
    assert all(q["orderBy"] == ["createdat.desc"] for q in run.searches)


def test_an_api_key_alone_reads_the_public_endpoint_without_e_mails(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SECRETS, "trustpilot-secret", {"api_key": "tp-key"})
    run()
    assert {p for _, p, _ in run.fake.requests} == {f"/v1/business-units/{UNIT}/reviews"}
    assert emails(run) == [None, None, None, None] and len(run.queued) == 4


def test_payload_details_are_normalised() -> None:
    (first, second), invalid = trustpilot.parse_page(PAGES[0])
    assert invalid == 0
    assert first.text.startswith("Dobbelt opkrævning\n\nLynet Bredbånd har opkrævet")
    assert first.url == "https://www.trustpilot.com/reviews/6746f0a1b2c3d4e5f6a7b8c1"
    assert first.display_name == "Karen P." and first.location == "Aarhus, DK"
    assert first.handle == "order-a7b8c1"  # referenceId: a key the CRM may link
    assert first.lang == "da" and not first.is_reply
    assert second.author_id == PAGES[0]["reviews"][1]["consumer"]["id"]
