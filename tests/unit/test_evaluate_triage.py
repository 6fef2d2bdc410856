"""make eval's table of the model against issue 21's targets (scripts/evaluate_triage.py):
counts, three decimals and 95 % intervals, so a figure one false positive from its line
reads as such."""

from __future__ import annotations

from scripts.evaluate_triage import counts, interval, target_table


def pairs(tp: int, fp: int, fn: int, tn: int = 0) -> list[tuple[bool, bool]]:
    return [(True, True)] * tp + [(False, True)] * fp + [(True, False)] * fn + [(False, False)] * tn


def test_counts() -> None:
    assert counts(pairs(5, 2, 3, 4)) == (5, 2, 3, 4)


def test_interval_is_wilsons() -> None:
    low, high = interval(95, 100)
    # the 95 % Wilson interval of 95 of 100 (z = 1.96): 0.888-0.978
    assert (round(low, 3), round(high, 3)) == (0.888, 0.978)
    assert interval(0, 0) == (0.0, 1.0)


def test_met_on_the_figure_but_not_at_the_lower_end() -> None:
    # 1,260 right and 65 wrong: precision 0.951, one false positive to spare
    (header, _, da, en, reviews) = target_table(
        {"da": pairs(1900, 40, 100), "en": pairs(1260, 65, 172), "reviews": pairs(800, 150, 60)}
    )
    assert "lower ends met" in header
    assert da.startswith("| Danish | 1900 | 40 | 100 | 0.979 (")
    assert da.endswith("| 0.95 / 0.85 | yes | yes |")
    assert en.startswith("| English | 1260 | 65 | 172 | 0.951 (0.938-")
    assert en.endswith("| yes | no |")
    # 0.842 precision is below the reviews' 0.90
    assert reviews.endswith("| 0.90 / 0.85 | no | no |")


def test_one_false_positive_more_is_not_met() -> None:
    (_, _, en) = target_table({"en": pairs(1260, 67, 172)})
    assert en.startswith("| English | 1260 | 67 | 172 | 0.9") and en.endswith("| no | no |")
