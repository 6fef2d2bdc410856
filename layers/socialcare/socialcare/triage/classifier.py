"""Is a post a complaint about our brand? Rules over Danish and English cue lexicons.

Generic sentiment does not find telecom complaints: most carry no sentiment word
("ventet 45 min i telefonkø", "internet down since 7am") and sarcasm reads as praise
("Tak for endnu en aften uden net 👏"). So the evidence here is the speech act:
- problem reports, breached expectations, negative judgements and help requests
  (a request counts when it is about a topic or a problem) push towards a complaint;
- praise pulls away, unless a problem sits beside it (sarcasm) or a sarcasm marker turns it;
- negation flips a cue ("ikke dårlig", "no problems"; "not happy" counts as negative);
- a fault that is fixed by the end of the post ("virker igen", "back up") is no complaint;
- news, ads, job posts, jokes, prospects' price questions and "can't complain" are not
  complaints;
- "about us, not others": in brand mode a cue only counts when its clause is about the
  brand, not a competitor ("YouSee er nede, godt jeg har Lynet" is no complaint);
- placement: a post that sits where it is directed at us (`addressed`: our review page,
  a comment under our post, a tag of our account) is about us without naming us; one
  that only names us must still say the name. A review's stars lean the score (1-2 for,
  4-5 against) only beside what its text says: they never decide alone.
The evidence is summed into a logit (weights in data/weights.json) and squashed to a
score in [0, 1]. Cue lists are data (data/lexicon-*.json, data/topics.json) that a
company extends for its own products (docs/triage.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import exp
from typing import Literal

from socialcare.brand import Brand
from socialcare.errors import ConfigError
from socialcare.models import Classification
from socialcare.triage import language
from socialcare.triage.lexicon import (
    CLAUSE_BREAKS,
    Hit,
    Lexicon,
    PhraseMatcher,
    Token,
    load_lexicon,
    tokenize,
)

BrandMode = Literal["brand", "any"]
NEGATION_WINDOW = 3  # tokens before a cue in which a negator flips it
SCORED = ("problem", "negative", "breach", "request")
EXCLUSIONS = {
    "news": "news",
    "ad": "ad",
    "job": "job post",
    "joke": "joke",
    "prospect": "prospect's question",
}


def _words(text: str) -> frozenset[str]:
    """A word list written as one string (reads better than a list literal)."""
    return frozenset(text.split())


# Short or numeric competitor names ("3") are only read as a company after these words,
# or at the start of a sentence when not followed by a unit ("3 dage uden net").
_COMPANY_BEFORE = _words("hos fra til med ved at from with to than")
_WEIGHTS = frozenset(EXCLUSIONS) | _words(
    "bias threshold not_about_brand_cap problem problem_more past_problem negative "
    "negative_more breach breach_more request_with_topic request_alone topic personal praise "
    "sarcastic_praise sarcasm negated_problem resolved laughter not_complaint relief "
    "exclusion_more stars"
)
NEUTRAL_STARS = 3  # a middling review leans neither way
_ADDRESSED = re.compile(r"(?<![\w@])@\w")
# Between a negator and a cue these make "never ... so bad" a superlative, not a negation.
_INTENSIFIERS = _words("så sådan so such this that as")
_UNITS = _words(
    "dag dage døgn time timer uge uger måned måneder år gang gange min minutter mbit "
    "gb kr day days hour hours week weeks month months year years times minutes mins"
)


@dataclass
class _Evidence:
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    negated: list[Hit] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    logit: float = 0.0

    def add(self, weight: float, reason: str | None = None) -> None:
        self.logit += weight
        if reason and reason not in self.reasons:
            self.reasons.append(reason)


def _squash(logit: float) -> float:
    return 1.0 / (1.0 + exp(-logit))


class RuleClassifier:
    """`classify(text, lang_hint)` → Classification. Build once per container."""

    def __init__(
        self,
        brand: Brand | None = None,
        *,
        mode: BrandMode = "brand",
        lexicon: Lexicon | None = None,
    ) -> None:
        if mode == "brand" and brand is None:
            raise ValueError("brand mode needs a brand")
        self.brand = brand
        self.mode: BrandMode = mode
        self.lexicon = lexicon or load_lexicon()
        self.weights: Mapping[str, float] = self.lexicon.weights
        missing = _WEIGHTS - set(self.weights)
        if missing:
            raise ConfigError(f"data/weights.json: missing weights {sorted(missing)}")
        self._negators = self.lexicon.words("negator")
        self._cues = PhraseMatcher(self.lexicon.phrases(), barriers=self._negators)
        self._topics = PhraseMatcher(self.lexicon.topics, barriers=self._negators)
        self._false_friends = self.lexicon.false_friends()
        self._contrast = self.lexicon.words("contrast")
        self._prior = (brand.default_language if brand else "da") or None
        self._competitors = _competitor_pattern(brand.competitors if brand else [])
        self._short_competitors = {
            c.lower() for c in (brand.competitors if brand else []) if len(c) <= 2 or c.isdigit()
        }
        language.detect("varm op", None, self._prior)  # load the model at cold start

    # -- entry point ----------------------------------------------------------------
    def classify(
        self,
        text: str,
        lang_hint: str | None = None,
        *,
        addressed: bool = False,
        stars: int | None = None,
    ) -> Classification:
        """`addressed` and `stars` are the post's placement (Mention fields of the same
        name); the reasons say when they counted, ahead of the cues."""
        guess = language.detect(text, lang_hint, self._prior)
        tokens = tokenize(text)
        cue_hits = [h for h in self._cues.find(tokens) if self._counts(h, guess.language)]
        topics = sorted({h.category for h in self._topics.find(tokens)})
        ev = self._weigh(tokens, cue_hits, topics, text)
        placement = self._weigh_stars(ev, stars, said=bool(ev.reasons))
        score = _squash(ev.logit)
        # A complaint is directed at someone: at the brand in brand mode (by its name, or
        # by where it sits), at some account in "any" mode (generic data has no brand).
        if self.mode == "brand" and self.brand is not None:
            directed, unnamed = self.brand.mentioned_in(text), "not about the brand"
        else:
            directed, unnamed = bool(_ADDRESSED.search(text)), "not addressed to any account"
        if not directed and addressed:
            placement.insert(0, "placement: addressed to us")
        elif not directed:
            ev.reasons.append(unnamed)
            score = min(score, self.weights["not_about_brand_cap"])
        return Classification(
            language=guess.language,
            complaint=score >= self.weights["threshold"],
            score=round(score, 2),
            topics=topics,
            reasons=(placement + ev.reasons)[:8],
        )

    def _weigh_stars(self, ev: _Evidence, stars: int | None, *, said: bool) -> list[str]:
        """Lean by the stars, only beside what the text says: a bare 1-star is no complaint
        (nothing to help with), a 5-star "fine, but the app crashes" can be one."""
        if stars is None or stars == NEUTRAL_STARS:
            return []
        if not said:
            return [f"stars: {stars}/5, not counted without words"]
        ev.logit += self.weights["stars"] * (NEUTRAL_STARS - stars)
        return [f"stars: {stars}/5"]

    def _counts(self, hit: Hit, lang: str) -> bool:
        """False friends ("bad" is Danish for "asked") count only in their own language."""
        return not any(
            hit.phrase in phrases for other, phrases in self._false_friends.items() if other != lang
        )

    # -- evidence ---------------------------------------------------------------------
    def _weigh(
        self, tokens: list[Token], hits: list[Hit], topics: list[str], text: str
    ) -> _Evidence:
        w = self.weights
        ev = _Evidence(logit=w["bias"])
        negators = self._negator_positions(tokens, hits)
        others = self._other_clauses(tokens, text) if self.mode == "brand" else set()
        clause_of = _clause_index(tokens, self._contrast)
        competitor_cues: list[str] = []

        for hit in hits:
            cat = hit.category
            if cat in ("negator", "contrast"):
                continue
            if cat == "resolved" and _asked(tokens, hit):
                continue  # "hvornår er det løst?", "is it fixed yet?": not fixed
            if cat in ("problem", "negative", "past_problem", "praise") and self._negated(
                hit, negators, tokens
            ):
                ev.negated.append(hit)
                continue
            if cat in SCORED and clause_of[hit.start] in others:
                competitor_cues.append(hit.text(tokens))
                continue
            ev.hits.setdefault(cat, []).append(hit)

        def first(cat: str) -> str:
            return ev.hits[cat][0].text(tokens)

        def count(cat: str) -> int:
            return len(ev.hits.get(cat, ()))

        # A fault fixed by the end of the post: the last word is what counts.
        last_problem = max((h.end for h in ev.hits.get("problem", [])), default=-1)
        last_resolved = max((h.end for h in ev.hits.get("resolved", [])), default=-1)
        resolved = last_resolved > last_problem
        problems = count("problem")
        if problems:
            weight = w["problem"] + w["problem_more"] * (problems - 1)
            if resolved:
                weight *= 0.3
            ev.add(weight, f"problem cue: {first('problem')}")
        if count("past_problem"):
            ev.add(w["past_problem"], f"past problem: {first('past_problem')}")
        if count("negative"):
            ev.add(
                w["negative"] + w["negative_more"] * (count("negative") - 1),
                f"negative cue: {first('negative')}",
            )
        if count("breach"):
            ev.add(
                w["breach"] + w["breach_more"] * (count("breach") - 1),
                f"breach cue: {first('breach')}",
            )
        if count("request"):
            about = bool(topics) or problems > 0
            weight = w["request_with_topic"] if about else w["request_alone"]
            ev.add(weight, f"request cue: {first('request')}")
        if topics:
            ev.add(w["topic"])

        # Negated problems read as mild praise ("ikke dårlig", "no problems"); negated
        # praise as a judgement ("ikke imponeret", "not happy").
        negated_praise = [h for h in ev.negated if h.category == "praise"]
        negated_faults = [h for h in ev.negated if h.category != "praise"]
        if negated_praise:
            ev.add(w["negative"], f"negated praise: {negated_praise[0].text(tokens)}")
        if negated_faults:
            ev.add(w["negated_problem"], f"negated: {negated_faults[0].text(tokens)}")

        sarcasm = count("sarcasm") > 0
        trouble = problems > 0 or count("negative") > 0
        if count("praise"):
            if resolved and not sarcasm:
                ev.add(w["praise"], f"praise cue: {first('praise')}")
            elif trouble or sarcasm:
                ev.add(w["sarcastic_praise"], f"sarcasm: {first('praise')}")
            else:
                ev.add(w["praise"], f"praise cue: {first('praise')}")
        if sarcasm:
            ev.add(w["sarcasm"], f"sarcasm: {first('sarcasm')}")
        if resolved:
            ev.add(w["resolved"], f"resolved: {first('resolved')}")
        if count("laughter") and not problems:
            ev.add(w["laughter"], f"laughter: {first('laughter')}")
        if count("not_complaint"):
            ev.add(w["not_complaint"], f"not a complaint: {first('not_complaint')}")
        if count("personal") and (trouble or count("breach")):
            ev.add(w["personal"])

        # Exclusions: the first one counts fully, further ones add a little.
        excluded = 0
        for cat, label in EXCLUSIONS.items():
            if count(cat):
                ev.add(
                    w[cat] if not excluded else w["exclusion_more"],
                    f"exclusion: {label} ({first(cat)})",
                )
                excluded += 1

        if self.mode == "brand" and competitor_cues:
            ev.reasons.append(f"about a competitor: {competitor_cues[0]}")
            if count("relief") and not trouble:
                ev.add(w["relief"], f"brand as the better choice: {first('relief')}")
        return ev

    # -- negation -------------------------------------------------------------------
    def _negator_positions(self, tokens: list[Token], hits: list[Hit]) -> set[int]:
        """Negator tokens that are not part of a longer cue ("ingen svar", "virker ikke")."""
        inside = {i for h in hits if h.category != "negator" for i in range(h.start, h.end)}
        return {
            i
            for i, t in enumerate(tokens)
            if i not in inside and (t.text in self._negators or t.text.endswith("n't"))
        }

    def _negated(self, hit: Hit, negators: set[int], tokens: list[Token]) -> bool:
        for i in range(hit.start - 1, max(-1, hit.start - 1 - NEGATION_WINDOW), -1):
            text = tokens[i].text
            if text in CLAUSE_BREAKS or text in self._contrast:
                return False
            if text in _INTENSIFIERS:
                return False  # "aldrig været så dårligt", "never been so disappointed"
            if i in negators:
                return True
        return False

    # -- about us, not others -------------------------------------------------------
    def _mentions(self, tokens: list[Token], text: str) -> tuple[list[int], list[int]]:
        """Token indices of brand and competitor mentions."""
        assert self.brand is not None
        starts = [t.start for t in tokens]

        def index(char: int) -> int:
            i = 0
            while i + 1 < len(starts) and starts[i + 1] <= char:
                i += 1
            return i

        ours = [index(m.start()) for m in self.brand.pattern.finditer(text)]
        theirs: list[int] = []
        if self._competitors is not None:
            for m in self._competitors.finditer(text):
                i = index(m.start())
                name = m.group(0).lower().lstrip("@")
                if name in self._short_competitors and not _reads_as_company(tokens, i):
                    continue
                theirs.append(i)
        return ours, theirs

    def _other_clauses(self, tokens: list[Token], text: str) -> set[int]:
        """Clauses whose cues are about a competitor rather than the brand.

        A clause naming a competitor and not the brand is theirs; one naming both is ours
        (complaining about us while comparing). A clause naming nobody follows the nearest
        clause before it that names someone, else the brand.
        """
        if not tokens:
            return set()
        ours, theirs = self._mentions(tokens, text)
        if not theirs:
            return set()
        clause_of = _clause_index(tokens, self._contrast)
        n_clauses = clause_of[-1] + 1
        owner: list[str | None] = [None] * n_clauses
        for c in range(n_clauses):
            has_us = any(clause_of[i] == c for i in ours)
            has_them = any(clause_of[i] == c for i in theirs)
            if has_them and not has_us:
                owner[c] = "them"
            elif has_us:
                owner[c] = "us"
        for c in range(n_clauses):
            if owner[c] is None:
                before = [owner[k] for k in range(c - 1, -1, -1) if owner[k] is not None]
                owner[c] = before[0] if before else "us"
        return {c for c in range(n_clauses) if owner[c] == "them"}


def _clause_index(tokens: list[Token], contrast: frozenset[str]) -> list[int]:
    out: list[int] = []
    clause = 0
    for t in tokens:
        if t.text in CLAUSE_BREAKS or t.text in contrast:
            clause += 1
        out.append(clause)
    return out or [0]


def _asked(tokens: list[Token], hit: Hit) -> bool:
    """Whether the hit's clause ends in a question mark."""
    end = next((t.text for t in tokens[hit.end :] if t.text in CLAUSE_BREAKS), "")
    return end == "?"


def _reads_as_company(tokens: list[Token], i: int) -> bool:
    following = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if following in _UNITS or following == ".":
        return False
    if i == 0 or tokens[i - 1].text in ".!?":
        return True
    return tokens[i - 1].text in _COMPANY_BEFORE


def _competitor_pattern(names: list[str]) -> re.Pattern[str] | None:
    words = sorted({n.lower() for n in names if n}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w])@?(?:{alternatives})(?![\w])", re.IGNORECASE)
