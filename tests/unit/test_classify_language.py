"""Language identification: fastText's lid.176.ftz from the installed package, Danish prior."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialcare.triage import language


def test_the_model_ships_in_a_package_and_loads_from_disk() -> None:
    path = language.model_path()
    assert path is not None and path.name == "lid.176.ftz"
    assert path.stat().st_size < 2_000_000  # the compressed model, not the 126 MB one
    assert language.backend() == "fasttext"


def test_norwegian_guess_with_danish_candidate_is_danish() -> None:
    text = "router blinker rødt siden i går"
    assert language.detect(text, prior=None).language == "no"  # what the model says
    guess = language.detect(text)
    assert guess.language == "da" and guess.source == "fasttext+prior"


def test_real_norwegian_stays_norwegian_when_danish_is_no_candidate() -> None:
    assert language.detect("Nettet er nede igjen, hva skjer?").language == "no"


def test_mixed_danish_english_posts_are_danish() -> None:
    assert language.detect("Mit internet er down igen, wtf", prior=None).language != "da"
    assert language.detect("Mit internet er down igen, wtf").language == "da"
    assert language.detect("Mit Lynet wifi keeps dropping, så irriterende").language == "da"


def test_english_and_danish() -> None:
    assert language.detect("internet down since 7am").language == "en"
    assert language.detect("ventet 45 min i telefonkø").language == "da"


@pytest.mark.parametrize(
    ("hint", "expected"), [("no", "da"), ("nb", "da"), ("NN", "da"), ("en", "en"), ("pt-BR", "pt")]
)
def test_platform_hints(hint: str, expected: str) -> None:
    guess = language.detect("whatever the text", hint)
    assert (guess.language, guess.source) == (expected, "hint")


@pytest.mark.parametrize("hint", [None, "", "und", "zxx"])
def test_unknown_hints_fall_back_to_the_model(hint: str | None) -> None:
    assert language.detect("internettet virker ikke igen", hint).source.startswith("fasttext")


def test_without_the_model_function_words_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(language, "_model", lambda: None)
    assert language.detect("internettet virker ikke igen").language == "da"
    assert language.detect("my internet is down again").language == "en"
    assert language.detect("🙄").language == "da"  # the brand's language


def test_urls_and_handles_do_not_decide_the_language() -> None:
    text = "@lynetbredbaand https://lynet.example/driftsstatus nettet er nede igen"
    assert language.detect(text).language == "da"


@pytest.mark.parametrize(
    ("text", "model_says"),
    [
        ("Lynet nede", "tr"),
        ("Lynet opsagde mit abonnement uden grund", "de"),
        ("Ingen internet siden mandag. Tak Lynet.", "en"),
    ],
)
def test_short_danish_posts_the_model_only_guesses_at_are_danish(
    text: str, model_says: str
) -> None:
    assert language.detect(text, prior=None).language == model_says
    assert language.detect(text).language == "da"


def test_a_lone_surrogate_does_not_break_detection() -> None:
    assert language.detect("\ud800 nettet er nede igen").language == "da"


# The shortcut (s40): clear posts are decided by function words, without fastText.
CLEAR = [
    ("Jeg har ikke haft net i to dage, og ingen har svaret på min mail", "da"),
    ("My internet has been down for two days and the support line is just not answering", "en"),
]
UNCLEAR = [
    "Mit internet er down igen, wtf",  # Danglish: the model and its corrections decide
    "Ich habe seit drei Tagen kein Internet und der Kundendienst antwortet nicht",  # German
    "",
    "😡😡😡",
    "internet down since 7am",  # too few function words
    "Jeg har ikke haft net, and the app is not working for me at all",  # both languages
    # Dutch shares kan/nu/hele/men/af with Danish and is/in/was with English; Spanish and
    # Italian say "no" again and again: each word counts once, and none is Danish here
    "Ik kan nu de hele dag niet internetten, men zegt dat het een storing is",
    "Is het normaal dat mijn internet in de avond zo traag is? Gisteren was het in orde",
    "No, no y no: el internet no funciona, no hay servicio y no contestan",
    "No, no e no: la connessione non va, no e ancora no, il tecnico non viene",
]


@pytest.mark.parametrize("text", UNCLEAR[-4:])
def test_dutch_spanish_and_italian_posts_keep_their_own_language(text: str) -> None:
    assert language.detect(text).language not in ("da", "en")


@pytest.mark.parametrize(("text", "expected"), CLEAR)
def test_clear_posts_are_decided_by_their_function_words(text: str, expected: str) -> None:
    guess = language.detect(text)
    assert (guess.language, guess.source) == (expected, "words")
    assert language.detect(text, prior=None).source == "fasttext"  # only for a Danish brand


@pytest.mark.parametrize("text", UNCLEAR)
def test_posts_the_words_leave_open_go_to_the_model(text: str) -> None:
    assert language._clear_case(" ".join(text.split())) is None


def test_the_shortcut_agrees_with_the_model_on_its_examples() -> None:
    """What the words decide is what fastText and its corrections said before."""
    assert language.detect(UNCLEAR[1]).language == "de"
    assert language.detect(UNCLEAR[0]).language == "da"
    for text, expected in CLEAR:
        labels, _ = language._model().predict(text, k=1)
        assert labels[0] == f"__label__{expected}"


NORWEGIAN_POST = "Jeg har ikke fått svar på henvendelsen min, hva skjer med dere?"


@pytest.mark.parametrize("text", [t for t, _ in CLEAR] + [NORWEGIAN_POST])
def test_the_shortcut_gives_the_language_detect_gives_without_it(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shortcut's answer equals the full path's (fastText and its corrections)."""
    short = language.detect(text)
    assert short.source == "words"
    monkeypatch.setattr(language, "_clear_case", lambda clean: None)
    assert language.detect(text).language == short.language


def test_norwegian_with_danish_function_words_is_danish_for_a_danish_brand() -> None:
    """Norwegian shares the Danish words: the shortcut calls it Danish, as the model (which
    reads such posts as Danish or Norwegian) with the brand's prior did."""
    text = "Jeg har ikke fått svar på henvendelsen min, hva skjer med dere?"
    guess = language.detect(text)
    assert (guess.language, guess.source) == ("da", "words")
    labels, _ = language._model().predict(text, k=1)
    assert labels[0].removeprefix("__label__") in language.DANISH_LIKE


def test_german_and_other_scripts_are_not_read_as_danish_or_english() -> None:
    assert language._clear_case("der den er mit en et der den") is None  # shared with German
    assert language._clear_case("the and is my it this that have") == "en"
    assert language._clear_case("the and is my it this that have ありがとう") is None
    assert language._clear_case("jeg har ikke også på det med nu") == "da"
