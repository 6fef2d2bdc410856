"""Unit-test helpers: the in-memory fakes wired into triage and mailer deps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.adapters.memory import MemoryCrm, MemoryMailer, MemorySealer, MemoryState
from socialcare.brand import load_brand
from socialcare.hashing import Hasher
from socialcare.models import Customer, Interaction, Mention, OutreachRequest
from socialcare.outreach.approval import ReviewLinks
from socialcare.outreach.mailer import MailerDeps
from socialcare.pipeline import TriageDeps
from socialcare.triage.classifier import RuleClassifier

NOW = datetime.now(UTC)

CUSTOMERS = [
    Customer(
        id="C-1",
        name="Mette Jensen",
        email="mette@example.net",
        language="da",
        handles=["x:mettejensen"],
    ),
    Customer(
        id="C-2",
        name="Oliver Smith",
        email="oliver@example.net",
        language="en",
        handles=["bluesky:oliver.bsky.social"],
    ),
    Customer(id="C-3", name="Anne Holm", email="anne@example.net", handles=["x:holm"]),
    Customer(id="C-4", name="Jens Holm", email="jens@example.net", handles=["x:holm"]),
    Customer(id="C-5", name="Lise Munk", email=None, handles=["x:lise"]),
    Customer(
        id="C-6", name="Torben", email="t@example.net", handles=["x:torben"], do_not_contact=True
    ),
    Customer(id="C-7", name="Peter Larsen", email="peter@example.net", handles=["x:peter"]),
    Customer(id="C-8", name="Rasmus", email="rasmus@example.net", handles=["x:rasmus"]),
    Customer(id="C-9", name="Karen Poulsen", email="karen@example.net", handles=[]),
    Customer(id="C-10", name="Ida Open", email="ida@example.net", handles=["x:ida"]),
]
HISTORY = {
    "C-7": [Interaction(channel="sms", kind="outage_notice", at=NOW - timedelta(hours=3))],
    "C-8": [Interaction(channel="email", kind="social_outreach", at=NOW - timedelta(days=10))],
    "C-10": [Interaction(channel="ticket", kind="case", at=NOW - timedelta(days=20), open=True)],
}


def make_mention(**fields: Any) -> Mention:
    base: dict[str, Any] = {
        "source": "x",
        "post_id": fields.pop("post_id", "p1"),
        "handle": "mettejensen",
        "text": "@lynetbredbaand nettet er nede igen",
        "created_at": NOW - timedelta(minutes=10),
        "url": "https://x.com/mettejensen/status/1",
    }
    return Mention.model_validate({**base, **fields})


@pytest.fixture
def triage_deps() -> TriageDeps:
    brand = load_brand()
    return TriageDeps(
        brand=brand,
        classifier=RuleClassifier(brand),
        crm=MemoryCrm(CUSTOMERS, HISTORY),
        state=MemoryState(),
        hasher=Hasher("unit-test-hash-key-000"),
    )


@pytest.fixture
def mailer_deps() -> MailerDeps:
    return MailerDeps(
        brand=load_brand(),
        mailer=MemoryMailer(),
        crm=MemoryCrm(CUSTOMERS),
        state=MemoryState(),
        hasher=Hasher("unit-test-hash-key-000"),
        sender="kundeservice@lynet.example",
        reply_to="svar@lynet.example",
        unsubscribe_base="https://lynet.example/unsubscribe",
        unsubscribe_secret="unit-test-unsubscribe",
        review_address="agents@lynet.example",
        review=ReviewLinks("https://review.lynet.example/", MemorySealer()),
    )


def make_request(**fields: Any) -> OutreachRequest:
    base: dict[str, Any] = {
        "mention_id": "m1",
        "fetch_id": "f1",
        "customer_ref": "C-1",
        "customer_hash": "h1",
        "email": "mette@example.net",
        "first_name": "Mette",
        "language": "da",
        "topics": ["outage"],
        "source": "x",
        "post_url": "https://x.com/mettejensen/status/1",
        "post_created_at": NOW - timedelta(minutes=10),
    }
    return OutreachRequest.model_validate({**base, **fields})
