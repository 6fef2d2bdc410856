"""Triage with placement (issue 19): a post that sits where it is directed at us is about
us without the brand's name; stars lean the score but never decide alone."""

from __future__ import annotations

import pytest

from socialcare.brand import load_brand
from socialcare.triage.classifier import RuleClassifier

PLACED = "placement: addressed to us"

# Clear complaints that never name the brand: a review on our page, a comment under our
# post, a reply in our thread.
UNNAMED_COMPLAINTS = [
    "Flyttede for tre uger siden og har stadig ingen forbindelse på den nye adresse…",
    "Mit net har været nede siden i morges. Hvornår er det løst?",
    "Ventet 45 min i telefonkø og stadig ingen hjælp",
    "Forbindelsen falder ud hver aften.",
    "Waited two weeks for a technician and nobody came.",
    "The router keeps rebooting every night, third time this week",
]
PRAISE = [
    "Super service, tak!",
    "Hurtig installation og venlig tekniker. Kan varmt anbefales!",
    "Fantastisk service i butikken i dag, tak!",
    "Great support, fixed in ten minutes. Thank you!",
]


@pytest.fixture(scope="module")
def clf() -> RuleClassifier:
    return RuleClassifier(load_brand())


@pytest.mark.parametrize("text", UNNAMED_COMPLAINTS)
def test_an_unnamed_complaint_counts_only_where_it_is_addressed_to_us(
    clf: RuleClassifier, text: str
) -> None:
    assert clf.brand is not None and not clf.brand.mentioned_in(text)
    placed, loose = clf.classify(text, addressed=True), clf.classify(text)
    assert placed.complaint and placed.reasons[0] == PLACED
    assert not loose.complaint and "not about the brand" in loose.reasons
    assert PLACED not in loose.reasons


@pytest.mark.parametrize("text", PRAISE)
@pytest.mark.parametrize("addressed", [True, False])
def test_praise_stays_praise_either_way(clf: RuleClassifier, text: str, addressed: bool) -> None:
    assert not clf.classify(text, addressed=addressed).complaint
    assert not clf.classify(f"Lynet: {text}", addressed=addressed).complaint


def test_placement_is_a_reason_only_when_it_counted(clf: RuleClassifier) -> None:
    named = "Lynet, mit net har været nede siden i morges"
    assert clf.classify(named, addressed=True).reasons == clf.classify(named).reasons
    assert PLACED not in clf.classify(named, addressed=True).reasons


def test_a_resolved_cue_in_a_question_is_no_fix(clf: RuleClassifier) -> None:
    assert clf.classify("Lynet er nede. Hvornår er det løst?").complaint
    assert clf.classify("Lynet down again. Is it fixed yet?").complaint
    fixed = clf.classify("Lynet var nede i morges, men nu er det løst")
    assert not fixed.complaint and any(r.startswith("resolved") for r in fixed.reasons)


# ------------------------------------------------------------------ stars
@pytest.mark.parametrize("stars", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("text", ["", "   ", "Har været kunde i ti år."])
def test_stars_without_words_to_weigh_never_make_a_complaint(
    clf: RuleClassifier, text: str, stars: int
) -> None:
    verdict = clf.classify(text, addressed=True, stars=stars)
    assert not verdict.complaint
    assert verdict.score == clf.classify(text, addressed=True).score  # they did not count
    if stars != 3:
        assert f"stars: {stars}/5, not counted without words" in verdict.reasons


def test_stars_lean_the_score_beside_words(clf: RuleClassifier) -> None:
    text = "Lidt langsom om aftenen"
    scores = [clf.classify(text, addressed=True, stars=s).score for s in (1, 2, 3, 4, 5)]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    assert (
        clf.classify(text, addressed=True, stars=3).score
        == clf.classify(text, addressed=True).score
    )
    assert "stars: 1/5" in clf.classify(text, addressed=True, stars=1).reasons


@pytest.mark.parametrize(
    "text",
    [
        "Fin nok, men appen crasher hver gang jeg vil se min regning",
        "It's fine but the app crashes every time I open it",
    ],
)
def test_a_middling_review_can_still_be_a_complaint(clf: RuleClassifier, text: str) -> None:
    assert clf.classify(text, addressed=True, stars=3).complaint


@pytest.mark.parametrize("text", PRAISE)
def test_a_five_star_review_is_not_a_complaint(clf: RuleClassifier, text: str) -> None:
    assert not clf.classify(text, addressed=True, stars=5).complaint


def test_any_mode_reads_placement_as_addressed_to_the_company() -> None:
    any_clf = RuleClassifier(None, mode="any")
    text = "Waited two weeks for a technician and nobody came."
    assert not any_clf.classify(text).complaint
    placed = any_clf.classify(text, addressed=True, stars=1)
    assert placed.complaint and placed.reasons[:2] == [PLACED, "stars: 1/5"]
