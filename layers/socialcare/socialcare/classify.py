"""Is a post a complaint about our brand? A first, simple rule set (Danish and English).

Problem cues and help requests count; praise without a problem cue does not. The cue
lists are data (data/cues.json), so a company can extend them for its own products.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from socialcare.brand import Brand
from socialcare.models import Classification

_WORD = re.compile(r"[\wæøåÆØÅ']+", re.UNICODE)
_DANISH_HINTS = {
    "jeg",
    "ikke",
    "og",
    "er",
    "det",
    "har",
    "med",
    "på",
    "min",
    "mit",
    "nu",
    "igen",
    "nede",
    "virker",
    "tak",
    "hvorfor",
    "siden",
    "i",
    "går",
    "af",
    "til",
    "en",
}


@cache
def _cues() -> dict[str, dict[str, list[str]]]:
    return json.loads(resources.files("socialcare").joinpath("data/cues.json").read_text())


def _compile(phrases: list[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)", re.IGNORECASE)


def guess_language(text: str, hint: str | None) -> str:
    if hint:
        return "da" if hint.lower() in {"no", "nb", "nn"} else hint.lower()
    words = {w.lower() for w in _WORD.findall(text)}
    danish = len(words & _DANISH_HINTS) + (2 if re.search("[æøå]", text, re.IGNORECASE) else 0)
    return "da" if danish >= 2 else "en"


class RuleClassifier:
    def __init__(self, brand: Brand) -> None:
        self.brand = brand
        cues = _cues()
        self._problem = _compile([c for lang in cues["problem"].values() for c in lang])
        self._request = _compile([c for lang in cues["request"].values() for c in lang])
        self._praise = _compile([c for lang in cues["praise"].values() for c in lang])
        self._topics = {t: _compile(words) for t, words in cues["topics"].items()}

    def classify(self, text: str, lang_hint: str | None = None) -> Classification:
        language = guess_language(text, lang_hint)
        reasons: list[str] = []
        problem = self._problem.search(text)
        request = self._request.search(text)
        praise = self._praise.search(text)
        topics = [t for t, pattern in self._topics.items() if pattern.search(text)]
        score = 0.0
        if problem:
            reasons.append(f"problem cue: {problem.group(0).lower()}")
            score += 0.7
        if request and topics:
            reasons.append(f"request cue: {request.group(0).lower()}")
            score += 0.4
        if praise and not problem:
            reasons.append(f"praise cue: {praise.group(0).lower()}")
            score -= 0.5
        if not self.brand.mentioned_in(text):
            reasons.append("not about the brand")
            score = min(score, 0.2)
        score = max(0.0, min(1.0, score))
        return Classification(
            language=language,
            complaint=score >= 0.5,
            score=round(score, 2),
            topics=topics,
            reasons=reasons,
        )
