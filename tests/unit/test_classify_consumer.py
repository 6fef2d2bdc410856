"""General consumer complaints in English (`--brand any`): deliveries, refunds, charges,
broken products, travel, food, apps, unanswered customer service, warranties.

The cues were written from general knowledge and the tune half of
tests/data/devset-consumer-en.jsonl (posts to many kinds of consumer brands, written
before the cues); the posts below are new wordings of those cases, not copies. Each
complaint here was missed before the general-consumer cues were added.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from socialcare.triage.classifier import RuleClassifier
from tests.conftest import TESTS

CONSUMER_SET = TESTS / "data" / "devset-consumer-en.jsonl"


@pytest.fixture(scope="module")
def any_clf() -> RuleClassifier:
    return RuleClassifier(None, mode="any")


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("@BoxDrop app says it was delivered. There's nothing on the doorstep.", "problem"),
        ("@OrderHub tracking hasn't moved since Monday", "problem cue: hasn't moved"),
        ("@StyleCo sent the dress back a month ago and still no money back", "problem"),
        ("@Streamly just took £12.99 out of my account after I cancelled", "problem"),
        ("@PanShop the handle snapped off the first time I used it", "problem cue: snapped"),
        ("@FlyHigh 2 hours on the tarmac, no water, no information", "problem"),
        ("@TacoTown ordered a burrito, got a salad", "problem cue: ordered"),
        ("@FoodieCafe soup came out lukewarm and the bread was stale", "problem"),
        ("@MyBankApp every payment fails with 'something went wrong'", "problem"),
        ("@HomeStore emailed three times and heard nothing back", "problem"),
        ("@PhoneCo it's under warranty and they still refused to repair it", "problem"),
        ("@CafeBar found a hair in my salad. Lovely.", "sarcasm: lovely"),
    ],
)
def test_general_consumer_complaints(any_clf: RuleClassifier, text: str, cue: str) -> None:
    verdict = any_clf.classify(text, "en")
    assert verdict.complaint, verdict
    assert any(r.startswith(cue) for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    "text",
    [
        "@BoxDrop parcel came a day early, cheers!",
        "@FlyHigh on time both ways and the crew were lovely",
        "@TacoTown do you deliver to Croydon?",
        "@StyleCo 25% off knitwear this weekend, use code KNIT25",
        "@OrderHub now recruiting warehouse staff in Leeds, apply here",
        "@MyBankApp card was declined abroad but your chat team fixed it in minutes, thank you",
        "@HomeStore is the grey sofa back in stock yet?",
        "@GameHub lost every match tonight and it was still the most fun I've had all week",
    ],
)
def test_general_consumer_non_complaints(any_clf: RuleClassifier, text: str) -> None:
    verdict = any_clf.classify(text, "en")
    assert not verdict.complaint, verdict


def test_the_ripped_and_smashed_slang_is_not_damage(any_clf: RuleClassifier) -> None:
    # Only damage phrases count: "smashed it" is praise in British English.
    assert not any_clf.classify("@GymCo smashed it at the 6am class today 💪", "en").complaint
    assert any_clf.classify("@GymCo my order arrived smashed to bits", "en").complaint


ITEMS = [json.loads(line) for line in CONSUMER_SET.read_text("utf-8").splitlines() if line.strip()]


def test_the_consumer_set_is_balanced_and_half_held_out() -> None:
    assert len(ITEMS) >= 120
    assert len({i["id"] for i in ITEMS}) == len(ITEMS)
    labels = Counter(i["complaint"] for i in ITEMS)
    assert min(labels.values()) >= 0.45 * len(ITEMS)
    assert all(i["text"].count("@") >= 1 for i in ITEMS)  # addressed to a brand
    heldout = sum(i["split"] == "heldout" for i in ITEMS)
    assert 0.4 <= heldout / len(ITEMS) <= 0.6


@pytest.mark.parametrize(
    ("split", "min_recall"),
    # Measured: all P 0.988 R 0.889; held-out P 0.970 R 0.821 (before the cues: R 0.500 /
    # 0.462). Floors catch regressions; the held-out part was never printed while tuning.
    [("all", 0.85), ("heldout", 0.80)],
)
def test_consumer_set_floors(any_clf: RuleClassifier, split: str, min_recall: float) -> None:
    items = [i for i in ITEMS if split in ("all", i["split"])]
    pairs = [(i["complaint"], any_clf.classify(i["text"], i["lang"]).complaint) for i in items]
    tp = sum(g and p for g, p in pairs)
    precision = tp / max(1, sum(p for _, p in pairs))
    recall = tp / max(1, sum(g for g, _ in pairs))
    assert precision >= 0.95, (split, precision)
    assert recall >= min_recall, (split, recall)
