"""How training uses `--extra` rows: their own weights beside the corpus's, and the
calibration and thresholds chosen on them. Small synthetic rows keep these quick; the
figures on real data are `make eval`'s (docs/triage.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from socialcare.triage import features, training
from socialcare.triage.learned import LearnedClassifier
from socialcare.triage.model import Model

WORDS = ["today", "again", "this week", "at home", "tonight", "since monday", "right now", "ugh"]


def corpus(word: str, complaint: bool, n: int, lang: str = "en") -> list[training.Row]:
    """Corpus rows that read exactly as extra rows do: only their labels can differ."""
    return [
        training.Row(
            text=f"@shop {word} {WORDS[i % 8]} {i}",
            complaint=complaint,
            language=lang,
            topics=[],
            masker=features.Masker.build([], any_handle=True),
            any_mode=True,
        )
        for i in range(n)
    ]


def extra(word: str, complaint: bool, n: int) -> list[training.Row]:
    records = [
        {"id": f"{word}{i}", "text": f"@shop {word} {WORDS[i % 8]} {i}", "complaint": complaint}
        for i in range(n)
    ]
    return training.extra_rows(records, features.Masker.build([], any_handle=True), True)


def score(path: Path, text: str) -> float:
    return LearnedClassifier(Model.load(str(path)), None, mode="any").classify(text, "en").score


def test_extra_rows_override_the_corpus_where_they_disagree(tmp_path: Path) -> None:
    """The corpus calls "blorp" a complaint 200 times; the company's labels say it is not
    (120 times). The retrained model serves the company's notion, its English threshold
    chosen on the company's rows (the weights alone: the next test)."""
    rows = corpus("blorp", True, 200) + corpus("fine", False, 200)
    rows += extra("blorp", False, 120) + extra("zap", True, 120)
    summary = training.train(rows, tmp_path, say=lambda _: None)
    assert score(tmp_path, "@shop blorp tonight") < 0.5
    assert score(tmp_path, "@shop zap tonight") > 0.5
    assert summary["thresholds_on"] == {"en": "extra rows"}


def test_the_served_weights_are_shared_plus_the_extra_rows_own() -> None:
    """Pooled, the corpus's 200 "blorp" complaints outweigh 120 extra rows saying it is
    none: the logit of an extra "blorp" row is positive. With weights of their own it is
    negative, while a corpus-only word keeps the corpus's sign."""
    rows = corpus("blorp", True, 200) + corpus("fine", False, 200)
    rows += extra("blorp", False, 120) + extra("zap", True, 120)
    d = training.design(rows)
    gold = np.array([r.complaint for r in rows])
    is_extra = np.array([r.extra for r in rows])
    blorp_extra, fine = slice(400, 520), slice(200, 400)
    pooled_w, pooled_b = training.fit(d.matrix, gold)
    assert ((d.matrix @ pooled_w + pooled_b).ravel()[blorp_extra] > 0).all()
    w, b = training.fit_complaint(d.matrix, gold, is_extra)
    logits = (d.matrix @ w + b).ravel()
    assert (logits[blorp_extra] < 0).all() and (logits[fine] < 0).all()
    assert (logits[520:] > 0).all()


def test_thresholds_are_chosen_on_the_extra_rows_of_their_language(tmp_path: Path) -> None:
    """English has 240 extra rows: its threshold and validation figures are theirs, the
        corpus's English rows aside. Danish has none: the corpus's Danish rows choose its
        threshold, as before. With fewer than EXTRA_FOR_THRESHOLD, or only one class (a
    calibration fitted on complaints alone would call everything one), all rows do."""
    base = corpus("blorp", True, 150) + corpus("fine", False, 150)
    base += corpus("nede", True, 150, "da") + corpus("tak", False, 150, "da")
    summary = training.train(
        base + extra("zap", True, 120) + extra("hello", False, 120), tmp_path, say=lambda _: None
    )
    assert summary["thresholds_on"] == {"da": "all rows", "en": "extra rows"}
    assert Model.load(str(tmp_path)).header["trained"]["thresholds_on"]["en"] == "extra rows"
    for few in (extra("zap", True, 40) + extra("hello", False, 40), extra("zap", True, 120)):
        summary = training.train(base + few, tmp_path, say=lambda _: None)
        assert summary["thresholds_on"] == {"da": "all rows", "en": "all rows"}


def test_without_extra_rows_the_header_has_no_retraining_fields(tmp_path: Path) -> None:
    """`make train` (no extra rows, precision first) writes no objective and no
    thresholds_on: they describe retraining with a company's rows."""
    rows = corpus("blorp", True, 150) + corpus("fine", False, 150)
    training.train(rows, tmp_path, say=lambda _: None)
    trained = Model.load(str(tmp_path)).header["trained"]
    assert "objective" not in trained and "thresholds_on" not in trained


def test_the_macro_f1_threshold_is_the_best_cut() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])
    gold = np.array([1, 1, 1, 0, 1, 1, 0, 0], bool)
    # from 0.3 on: TP 5, FP 1, TN 2 -> F1 0.909 and 0.8, the best macro-F1 (0.855)
    assert training.best_macro_f1_threshold(scores, gold) == 0.3
    assert training.choose_threshold(scores, gold, "macro-f1", 1.0) == 0.3
    # precision first (1.0) stops before the first non-complaint
    assert training.choose_threshold(scores, gold, "precision", 1.0) == 0.7


def test_an_unknown_objective_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="objective"):
        training.train(corpus("blorp", True, 10), tmp_path, objective="f2", say=lambda _: None)


def _row(brand: str, text: str) -> dict[str, object]:
    return {"brand": brand, "text": text}


def test_a_short_name_stays_its_brand_s_when_a_competitor_s_row_uses_it() -> None:
    rows = [
        _row("Brightline Broadband", "Brightline down again, third time this week"),
        _row("Brightline Broadband", "Brightline support hung up on me"),
        _row("Brightline Broadband", "my broadband bill from Brightline went up"),
        # another brand's rows: the short name as a competitor, the generic word as a word
        _row("Wattle Broadband", "Wattle works, unlike Brightline last year"),
        _row("Wattle Broadband", "Wattle broadband is fine, broadband elsewhere is not"),
        _row("Wattle Broadband", "my mobile signal is fine too"),
        _row("Kestrel Mobile", "Kestrel Mobile broadband dongle is dead"),
        _row("Kestrel Mobile", "Kestrel: no broadband at home either"),
    ]
    names = training.brand_aliases(rows)
    # before: any other brand's row using "brightline" took it from its brand, so a post
    # naming only "Brightline" read as not about the brand
    assert names["Brightline Broadband"] == ["Brightline Broadband", "brightline"]
    assert names["Wattle Broadband"] == ["Wattle Broadband", "wattle"]
    # "broadband" is in other names; "mobile" stands alone only in another brand's row
    assert names["Kestrel Mobile"] == ["Kestrel Mobile", "kestrel"]


def test_a_word_competitors_rows_write_more_often_is_theirs() -> None:
    rows = [
        _row("Zephyr Telecom", "Zephyr Telecom kept me on hold"),
        _row("Bellamy's Bistro", "Bellamy's Bistro was lovely"),
        *[_row("Lynet", f"Zephyr and Bellamy's lose to any telecom, Lynet {i}") for i in range(3)],
    ]
    names = training.brand_aliases(rows)
    assert names["Zephyr Telecom"] == ["Zephyr Telecom"]
    assert names["Bellamy's Bistro"] == ["Bellamy's Bistro", "bistro"]  # "bellamy": theirs


def test_a_word_of_two_brand_names_or_mostly_lowercase_alone_is_no_alias() -> None:
    rows = [
        _row("Flyttefirmaet Kassebil", "Flyttefirmaet Kassebil tabte min sofa"),
        _row("Flyttefirmaet Hurtigflyt", "Hurtigflyt kom aldrig"),
        _row("Moveright Removals", "Moveright lost a box, removals are hard, removals cost"),
        # capitalised only inside the full name, lowercase where it stands alone
        _row("Cascade Cable", "Cascade Cable: the cable box died, new cable ordered"),
        _row("Cascade Cable", "Cascade Cable again"),
    ]
    names = training.brand_aliases(rows)
    assert names["Flyttefirmaet Kassebil"] == ["Flyttefirmaet Kassebil", "kassebil"]
    assert names["Flyttefirmaet Hurtigflyt"] == ["Flyttefirmaet Hurtigflyt", "hurtigflyt"]
    assert names["Moveright Removals"] == ["Moveright Removals", "moveright"]
    assert names["Cascade Cable"] == ["Cascade Cable", "cascade"]


def test_a_fold_learns_only_the_features_of_its_own_rows() -> None:
    """A feature of one training row and one held-out row passes MIN_ROWS over all rows;
    the fold must not learn it, or out-of-fold scores (and the thresholds chosen on them)
    are better than the shipped model's (it never keeps a feature of one row)."""
    base = corpus("blorp", True, 200) + corpus("fine", False, 200)
    folds = np.array([training.fold_of(r.text) for r in base] + [0, 1])

    def held_out_logit(token: str) -> float:
        rare = [
            training.Row(
                text=f"@shop {word} fine",
                complaint=True,
                masker=features.Masker.build([], any_handle=True),
                any_mode=True,
            )
            for word in ("zqxjv", token)
        ]
        rows = base + rare
        d = training.design(rows)
        gold = np.array([r.complaint for r in rows])
        logits, _ = training.out_of_fold_logits(d, gold, np.zeros(len(rows), bool), folds)
        return float(logits[-1])  # the second rare row, held out in fold 1

    # shared with the training row in fold 0, or a word of its own: the same to the fold
    assert held_out_logit("zqxjv") == pytest.approx(held_out_logit("plonk"))


def test_a_brand_written_in_full_owns_its_short_name() -> None:
    """Whose word it is counts every row that writes it, full names included: a brand
    whose own rows write only "Emberly Fibre" keeps "emberly" although a competitor's row
    writes "Emberly" alone."""
    rows = [
        _row("Emberly Fibre", "Emberly Fibre dropped again tonight"),
        _row("Emberly Fibre", "Emberly Fibre billed me twice"),
        _row("Lynet", "Lynet fibre works where Emberly does not"),
    ]
    assert training.brand_aliases(rows)["Emberly Fibre"] == ["Emberly Fibre", "emberly"]


def noisy_scores(n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Scores that separate the classes only partly, as out-of-fold scores do."""
    rng = np.random.default_rng(3)
    gold = rng.random(n) < 0.5
    return 1 / (1 + np.exp(-(2.0 * gold - 1 + rng.normal(0, 1.0, n)))), gold


def test_the_lowest_threshold_promises_more_precision_than_unseen_rows_give() -> None:
    """Picked where the validation scores happen to hold 0.95, the threshold gives less
    on rows it was not chosen on; the margin restores the target on them."""
    scores, gold = noisy_scores()
    assert training.nested_precision(scores, gold, 0.95) < 0.95
    margin = training.threshold_margin([(scores, gold)], 0.95)
    assert margin > 0
    assert training.nested_precision(scores, gold, 0.95 + margin) >= 0.95
    smaller = [m for m in training.MARGINS if m < margin]
    assert all(training.nested_precision(scores, gold, 0.95 + m) < 0.95 for m in smaller)


def test_scores_that_separate_the_classes_need_no_margin() -> None:
    gold = np.arange(2000) % 2 == 0
    assert training.threshold_margin([(gold * 0.8 + 0.1, gold)], 0.95) == 0.0


def test_every_language_gets_the_margin_the_neediest_one_needs() -> None:
    clean = np.arange(2000) % 2 == 0
    scores, gold = noisy_scores()
    alone = training.threshold_margin([(scores, gold)], 0.95)
    assert training.threshold_margin([(clean * 0.8 + 0.1, clean), (scores, gold)], 0.95) == alone


def test_a_language_with_few_rows_does_not_set_the_margin() -> None:
    """On a few hundred rows the nested estimate is noise: such a language neither sets
    the margin for the others nor gets one of its own."""
    clean = np.arange(2000) % 2 == 0
    scores, gold = noisy_scores(300)
    assert training.threshold_margin([(scores, gold)], 0.95) == 0.0
    assert training.threshold_margin([(clean * 0.8 + 0.1, clean), (scores, gold)], 0.95) == 0.0


def test_a_margin_never_asks_for_more_than_all_precision() -> None:
    """Asked for 0.995, the margin stops at 1.0, says that the target is out of reach, and
    never chooses a threshold that decides nothing (which would keep precision vacuously)."""
    scores, gold = noisy_scores()
    said: list[str] = []
    margin = training.threshold_margin([(scores, gold)], 0.995, said.append)
    assert 0.995 + margin <= 1.0
    assert said and "not reached" in said[0]
    assert np.isnan(training.nested_precision(scores, gold, 1.5))


def test_training_raises_the_target_by_the_margin_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def margin(groups: Any, target: float, say: Any) -> float:
        seen.extend(groups)
        return 0.04

    monkeypatch.setattr(training, "threshold_margin", margin)
    rows = corpus("blorp", True, 150) + corpus("fine", False, 150)
    rows += corpus("meh", True, 20) + corpus("meh", False, 3)  # 0.87: kept at 0.95, not at 0.99
    summary = training.train(rows, tmp_path, say=lambda _: None)
    assert Model.load(str(tmp_path)).header["trained"]["threshold_margin"] == 0.04
    scores, gold = seen[0]
    with_margin = training.lowest_threshold(scores, gold, 0.99)
    assert with_margin != training.lowest_threshold(scores, gold, 0.95)
    assert summary["thresholds"]["en"] == round(with_margin, 4)


def test_a_language_that_cannot_choose_a_threshold_does_not_set_the_default(
    tmp_path: Path,
) -> None:
    """Swedish rows the rules all refuse score 0, half of them complaints: Swedish gets 1.0
    (no score keeps its precision); other languages still get English's threshold."""
    rows = corpus("blorp", True, 150) + corpus("fine", False, 150)
    rows += [
        training.Row(
            text=f"vi har lunch {i}",
            complaint=i % 2 == 0,
            language="sv",
            topics=[],
            masker=features.Masker.build([], any_handle=True),
            any_mode=True,
        )
        for i in range(12)
    ]
    summary = training.train(rows, tmp_path, say=lambda _: None)
    assert summary["thresholds"]["sv"] == 1.0
    assert summary["thresholds"]["default"] == summary["thresholds"]["en"] < 1.0


def test_a_threshold_inside_a_run_of_tied_scores_counts_the_whole_run() -> None:
    """Rows the rules refuse all score 0: precision reached partway into them is not
    what a threshold of 0 gives."""
    scores = np.array([0.9] * 20 + [0.0] * 20)
    gold = np.array([True] * 20 + [False] * 20)
    assert training.lowest_threshold(scores, gold, 0.95) == 0.9


def test_a_language_with_too_few_of_one_class_does_not_set_the_margin() -> None:
    scores, gold = noisy_scores(3000)
    few = gold.copy()
    few[np.flatnonzero(gold)[60:]] = False  # 60 complaints among 3,000 rows
    assert training.threshold_margin([(scores, gold)], 0.95) > 0
    assert training.threshold_margin([(scores, few)], 0.95) == 0.0


def test_extra_rows_too_few_to_estimate_the_margin_borrow_their_languages_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """English thresholds chosen on 120 extra rows; the margin is estimated on all 420
    English rows (the corpus's too), not on the 120 alone."""
    sizes: list[int] = []

    def margin(groups: Any, target: float, say: Any) -> float:
        sizes.extend(len(g) for _, g in groups)
        return 0.0

    monkeypatch.setattr(training, "threshold_margin", margin)
    monkeypatch.setattr(training, "MARGIN_MIN_ROWS", 200)
    rows = corpus("blorp", True, 150) + corpus("fine", False, 150)
    rows += extra("zap", True, 60) + extra("hello", False, 60)
    summary = training.train(rows, tmp_path, say=lambda _: None)
    assert summary["thresholds_on"] == {"en": "extra rows"}
    assert sizes == [420]


# Run in a fresh interpreter: this test process may have other tests' server threads,
# and run_jobs forks only from a single-threaded process.
IN_PROCESSES = """
import hashlib, json, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from test_triage_training import corpus
from socialcare.triage import training
rows = corpus("blorp", True, 120) + corpus("fine", False, 120) + corpus("meh", False, 60)
for i, row in enumerate(rows):
    row.topics = [["outage"], ["billing", "speed"], []][i % 3] if row.complaint else None
out = {}
for workers in (1, 2):
    training.WORKERS = workers
    with tempfile.TemporaryDirectory() as tmp:
        summary = training.train(rows, Path(tmp), say=lambda _: None)
        data = (Path(tmp) / "triage-model.bin").read_bytes()
    out[workers] = [training.processes(7), hashlib.sha256(data).hexdigest(), summary["validation"]]
try:
    training.run_jobs([("fine", lambda: 1), ("broken", lambda: 1 / 0)])
except ZeroDivisionError:
    out["raised"] = "ZeroDivisionError"
print(json.dumps(out))
"""


def test_fits_in_processes_write_the_same_model_as_in_turn() -> None:
    """The seven fits run in two processes (make train's time on two cores); each result
    must land where its job's does in turn: a fold's logits on its own rows, the topic
    weights as the topics'. Rows in several topics and folds make a swap show; a fit
    that fails in its process raises its own error here."""
    if os.cpu_count() == 1:
        pytest.skip("one core: run_jobs runs in turn")
    here = str(Path(__file__).parent)
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", IN_PROCESSES, here], capture_output=True, text=True, check=True
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["1"][0] == 1 and out["2"][0] == 2  # in turn, then in two processes
    assert out["1"][1:] == out["2"][1:]
    assert out["raised"] == "ZeroDivisionError"


def test_jobs_in_turn_are_each_callers_own_even_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "WORKERS", 1)

    def inner() -> list[Any]:
        return training.run_jobs([("x", lambda: "x"), ("y", lambda: "y")])

    assert training.run_jobs([("a", inner), ("b", lambda: "b")]) == [["x", "y"], "b"]
