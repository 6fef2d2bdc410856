"""The dev set (tests/data/devset.jsonl, written for this project) as a regression floor.

Targets per language: precision ≥ 0.95, recall ≥ 0.85 — on all posts and on the held-out
part written before tuning. Figures: `make eval` (scripts/evaluate_triage.py).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from socialcare.brand import load_brand
from socialcare.triage.classifier import RuleClassifier
from tests.conftest import TESTS

ITEMS = [
    json.loads(line)
    for line in (TESTS / "data" / "devset.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


def test_the_devset_is_big_and_tricky_enough() -> None:
    assert len(ITEMS) >= 300
    assert len({i["id"] for i in ITEMS}) == len(ITEMS)
    langs = Counter(i["lang"] for i in ITEMS)
    assert langs["da"] >= 150 and langs["en"] >= 120
    heldout = sum(i["split"] == "heldout" for i in ITEMS)
    assert 0.25 <= heldout / len(ITEMS) <= 0.35
    labels = Counter(i["complaint"] for i in ITEMS)
    assert min(labels.values()) >= 0.4 * len(ITEMS)


@pytest.mark.parametrize("split", ["all", "heldout"])
@pytest.mark.parametrize("lang", ["da", "en"])
def test_precision_and_recall_targets(lang: str, split: str) -> None:
    clf = RuleClassifier(load_brand())
    items = [i for i in ITEMS if i["lang"] == lang and split in ("all", i["split"])]
    pairs = [(i["complaint"], clf.classify(i["text"], i["lang"]).complaint) for i in items]
    tp = sum(g and p for g, p in pairs)
    precision = tp / max(1, sum(p for _, p in pairs))
    recall = tp / max(1, sum(g for g, _ in pairs))
    assert precision >= 0.95, (lang, split, precision)
    assert recall >= 0.85, (lang, split, recall)
