"""The cue lexicons and the phrase matcher: syntax, longest match, extension files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from socialcare.brand import load_brand
from socialcare.errors import ConfigError
from socialcare.triage.classifier import RuleClassifier
from socialcare.triage.lexicon import CUE_CATEGORIES, PhraseMatcher, load_lexicon, tokenize


def found(phrases: list[tuple[str, str]], text: str, barriers: tuple[str, ...] = ()) -> list[str]:
    tokens = tokenize(text)
    return [f"{h.category}:{h.text(tokens)}" for h in PhraseMatcher(phrases, barriers).find(tokens)]


def test_tokens_keep_contractions_hyphens_handles_and_emoji() -> None:
    texts = [t.text for t in tokenize("Can’t complain @Lynet_hjaelp, wifi'en far-joke 👏🏽 #fail")]
    assert texts == [
        "can't",
        "complain",
        "@lynet_hjaelp",
        ",",
        "wifi'en",
        "far-joke",
        "👏",
        "#fail",
    ]


def test_prefix_gap_and_number_steps() -> None:
    phrases = [("p", "langsom*"), ("p", "virker * ikke"), ("p", "ventet <n> min*")]
    assert found(phrases, "Nettet er langsomt") == ["p:langsomt"]
    assert found(phrases, "Hvorfor virker mit Lynet internet ikke") == [
        "p:virker mit lynet internet ikke"
    ]
    assert found(phrases, "ventet 45 minutter") == ["p:ventet 45 minutter"]
    assert found(phrases, "ventet længe") == []


def test_longest_match_wins_and_consumes() -> None:
    phrases = [
        ("breach", "igen"),
        ("resolved", "virker igen"),
        ("negative", "can't"),
        ("not_complaint", "can't complain"),
    ]
    assert found(phrases, "nettet virker igen") == ["resolved:virker igen"]
    assert found(phrases, "I can't complain") == ["not_complaint:can't complain"]


def test_a_gap_never_skips_a_negator() -> None:
    phrases = [("resolved", "virker * igen"), ("problem", "virker ikke")]
    assert found(phrases, "virker ikke igen", barriers=("ikke",)) == ["problem:virker ikke"]
    assert found(phrases, "virker nettet igen", barriers=("ikke",)) == [
        "resolved:virker nettet igen"
    ]


def test_gaps_stop_at_punctuation() -> None:
    assert found([("p", "virker * ikke")], "virker. Ikke") == []


@pytest.mark.parametrize("phrase", ["* nede", "nede *", "ne*"])
def test_bad_phrases_are_config_errors(phrase: str) -> None:
    with pytest.raises(ConfigError):
        PhraseMatcher([("problem", phrase)])


def test_bundled_lexicons_use_known_categories_and_compile() -> None:
    lexicon = load_lexicon()
    assert {c for _, c, _ in lexicon.cues} <= set(CUE_CATEGORIES)
    assert {lang for lang, _, _ in lexicon.cues} == {"da", "en"}
    assert {t for t, _ in lexicon.topics} == {
        "outage",
        "speed",
        "billing",
        "equipment",
        "support",
        "installation",
        "cancellation",
        "tv",
        "mobile",
    }
    PhraseMatcher(lexicon.phrases())
    PhraseMatcher(lexicon.topics)


def test_a_company_extends_the_lexicon_with_its_own_file(tmp_path: Path) -> None:
    extra = tmp_path / "lynet-cues.json"
    extra.write_text(
        json.dumps(
            {
                "cues": {"da": {"problem": ["lynboks * genstarter"]}},
                "topics": {"equipment": ["lynboks*"]},
                "weights": {"problem": 3.0},
            }
        )
    )
    text = "Lynet, min lynboks genstarter konstant"
    before = RuleClassifier(load_brand()).classify(text)
    lexicon = load_lexicon(str(extra))
    assert lexicon.weights["problem"] == 3.0
    after = RuleClassifier(load_brand(), lexicon=lexicon).classify(text)
    assert "equipment" in after.topics and "equipment" not in before.topics
    assert after.score > before.score
    assert "problem cue: lynboks genstarter" in after.reasons


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"cues": {"da": {"grumbling": ["brok"]}}}),
        json.dumps({"cues": {"da": {"problem": "nede"}}}),
        json.dumps({"weights": {"loudness": 2}}),
    ],
)
def test_a_broken_extension_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    extra = tmp_path / "bad.json"
    extra.write_text(content)
    with pytest.raises(ConfigError):
        load_lexicon(str(extra))


def test_the_extension_file_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "env.json"
    extra.write_text(json.dumps({"cues": {"en": {"problem": ["flux capacitor"]}}}))
    monkeypatch.setenv("SOCIALCARE_LEXICON_FILE", str(extra))
    load_lexicon.cache_clear()
    try:
        assert ("en", "problem", "flux capacitor") in load_lexicon().cues
    finally:
        monkeypatch.delenv("SOCIALCARE_LEXICON_FILE")
        load_lexicon.cache_clear()


def test_missing_weights_fail_at_construction() -> None:
    lexicon = load_lexicon()
    partial = dataclasses.replace(lexicon, weights={"bias": -1.0})
    with pytest.raises(ConfigError, match="missing weights"):
        RuleClassifier(load_brand(), lexicon=partial)
