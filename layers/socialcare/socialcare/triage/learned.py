"""The served triage classifier: language, then the learned model, then the rules.

`load_classifier(brand)` is the one call a function (or a benchmark) makes at cold start:
it loads the model file (the configured one, else the shipped one; a missing or corrupt
file is a ConfigError naming the path) and the language model. `classify()` is the
pipeline's `Classifier` port, as `RuleClassifier` (classifier.py, the cue rules kept as
the baseline) has it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

from socialcare.brand import Brand
from socialcare.models import Classification
from socialcare.triage import features, language, rules
from socialcare.triage.classifier import RuleClassifier
from socialcare.triage.model import Model

BrandMode = Literal["brand", "any"]
# one post for classify_many: text, the platform's language hint, addressed, stars
Post = tuple[str, str | None, bool, int | None]
SHOWN_WORDS = 3  # the words that moved the score most, in the reasons
_PLACEHOLDERS = {
    features.BRAND: "<brand>",
    features.OTHER: "<other company>",
    features.USER: "<@user>",
    features.URL: "<link>",
    features.NUM: "<number>",
}


def brand_masker(brand: Brand | None, mode: BrandMode) -> features.Masker:
    """Masks the brand's names and own handles as BRAND, competitors as OTHER; in "any"
    mode every @handle is BRAND. One-or-two-character names ("3") are left alone: they
    read as numbers far more often than as a company."""
    if mode == "any" or brand is None:
        return features.Masker.build([], any_handle=True)
    handles = [h.split("@")[0] for hs in brand.own_accounts.values() for h in hs]
    ours = [n for n in [*brand.names, *handles] if len(n) > 2 and not n.isdigit()]
    others = [c for c in brand.competitors if len(c) > 2 and not c.isdigit()]
    return features.Masker.build(ours, others)


class LearnedClassifier:
    """`classify(text, lang_hint, addressed=, stars=)` → Classification. Build once."""

    def __init__(self, model: Model, brand: Brand | None = None, *, mode: BrandMode = "brand"):
        if mode == "brand" and brand is None:
            raise ValueError("brand mode needs a brand")
        self.model = model
        self.mode: BrandMode = mode
        self.masker = brand_masker(brand, mode)
        self._prior = (brand.default_language if brand else "da") or None
        language.detect("varm op", None, self._prior)  # load the language model now

    def classify(
        self,
        text: str,
        lang_hint: str | None = None,
        *,
        addressed: bool = False,
        stars: int | None = None,
    ) -> Classification:
        text = text[: features.MAX_CHARS]
        guess = language.detect(text, lang_hint, self._prior)
        return self._judged(features.tokens(text, self.masker), guess, addressed, stars)

    def classify_many(self, posts: Sequence[Post]) -> list[Classification]:
        """`classify` of each (text, lang_hint, addressed, stars), as one list. Each stage
        runs over them all before the next (the language model, the tokens, then the model
        and the rules): a stage's tables and code then stay in the CPU cache from one post
        to the next. Post by post, a post costs about a third more; `socialcare triage`
        sends its lines in batches."""
        texts = [text[: features.MAX_CHARS] for text, _, _, _ in posts]
        guesses = [
            language.detect(text, hint, self._prior)
            for text, (_, hint, _, _) in zip(texts, posts, strict=True)
        ]
        toks = [features.tokens(text, self.masker) for text in texts]
        return [
            self._judged(words, guess, addressed, stars)
            for words, guess, (_, _, addressed, stars) in zip(toks, guesses, posts, strict=True)
        ]

    def _judged(
        self, toks: list[str], guess: language.LanguageGuess, addressed: bool, stars: int | None
    ) -> Classification:
        addressed = features.directed(toks, addressed=addressed, any_mode=self.mode == "any")
        scored = self.model.score(toks, addressed=addressed, stars=stars)
        verdict = rules.judge(toks, mode=self.mode, addressed=addressed, stars=stars)
        complaint = verdict.allowed and scored.probability >= self.model.threshold(guess.language)
        return Classification(
            language=guess.language,
            complaint=complaint,
            score=round(scored.probability, 2),
            topics=scored.topics,
            reasons=[*verdict.reasons, _words_reason(scored.words)][:8],
        )


def _words_reason(words: list[tuple[str, float]]) -> str:
    shown = [
        f"{_PLACEHOLDERS.get(t, t)} {w:+.1f}" for t, w in words[:SHOWN_WORDS] if abs(w) >= 0.05
    ]
    return "model: " + (", ".join(shown) if shown else "no telling words")


SHIPPED = "shipped"  # the model file in the layer


RULES = "rules"  # the cue rules (classifier.py), the baseline


def select_classifier(brand: Brand | None, model: str | None, *, mode: BrandMode = "brand") -> Any:
    """What TRIAGE_MODEL (and `--model`) select: empty or "shipped", the model in the
    layer; "rules", the cue rules; else the model at that path."""
    if model == RULES:
        return RuleClassifier(brand, mode=mode)
    return load_classifier(brand, None if model in ("", None, SHIPPED) else model, mode=mode)


def load_classifier(
    brand: Brand | None,
    location: str | os.PathLike[str] | None = None,
    *,
    mode: BrandMode = "brand",
) -> LearnedClassifier:
    """The classifier with the model at `location` (a directory or file), else the
    shipped one. Loads both models now: call it at cold start."""
    return LearnedClassifier(Model.load(location), brand, mode=mode)
