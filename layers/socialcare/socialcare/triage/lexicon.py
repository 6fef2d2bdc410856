"""Cue lexicons as data, and a fast token-phrase matcher over them.

The cue lists live in JSON files under `data/` (`lexicon-da.json`, `lexicon-en.json`,
`topics.json`), so a company extends them for its own products without touching code:
point $SOCIALCARE_LEXICON_FILE at a JSON file of the same shape and its phrases are added
to the bundled ones (see docs/triage.md).

Phrase syntax (tokens separated by spaces, matched case-insensitively on whole tokens):
  `nede`      a literal token
  `langsom*`  any token starting with "langsom" (Danish inflects and compounds)
  `*`         a gap of zero to three word tokens ("virker * ikke" = "virker stadig ikke")
  `<n>`       any number ("ventet <n> min*")
At each position the longest phrase wins and its tokens are consumed, so "virker igen"
(resolved) is never also read as "igen" (breach), and "can't complain" never as "can't".
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from socialcare.errors import ConfigError

# Words (with inner hyphens/apostrophes: "wifi'en", "far-joke", "can't"), @handles and
# #tags as one token each; any other non-space character (punctuation, emoji) alone.
_TOKEN = re.compile(r"[@#]?\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)
# Emoji modifiers and joiners carry no meaning of their own here.
_IGNORED = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
GAP = 3  # words a `*` gap may skip
CLAUSE_BREAKS = frozenset(".!?;:,—–\n")


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # lower-cased, ’ folded to '
    start: int  # character offsets in the original text
    end: int

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum() or self.text[0] in "@#_"


def tokenize(text: str) -> list[Token]:
    text = _IGNORED.sub(" ", text)
    return [
        Token(m.group(0).lower().replace("’", "'"), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


@dataclass(frozen=True, slots=True)
class Hit:
    category: str
    phrase: str
    start: int  # token index
    end: int  # token index, exclusive

    def text(self, tokens: list[Token]) -> str:
        return " ".join(t.text for t in tokens[self.start : self.end])


# A compiled phrase: a tuple of (kind, value) steps; kind is "lit", "pre", "num" or "gap".
_Step = tuple[str, str]


def _compile_phrase(phrase: str) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for raw in phrase.lower().replace("’", "'").split():
        if raw == "*":
            steps.append(("gap", ""))
        elif raw == "<n>":
            steps.append(("num", ""))
        elif raw.endswith("*") and len(raw) > 1:
            steps.append(("pre", raw[:-1]))
        else:
            # Punctuation inside a phrase ("far-joke", "wi-fi", "10/10") follows the
            # tokenizer, so "10/10" is three steps.
            steps.extend(("lit", tok.text) for tok in tokenize(raw))
    if not steps or steps[0][0] == "gap" or steps[-1][0] == "gap":
        raise ConfigError(f"lexicon phrase {phrase!r}: a phrase cannot start or end with '*'")
    if steps[0][0] == "pre" and len(steps[0][1]) < 3:
        raise ConfigError(f"lexicon phrase {phrase!r}: a leading prefix needs 3+ letters")
    return tuple(steps)


def _step_matches(step: _Step, token: str) -> bool:
    kind, value = step
    if kind == "lit":
        return token == value
    if kind == "pre":
        return token.startswith(value)
    return token.replace(".", "").replace(",", "").isdigit()  # "num"


class PhraseMatcher:
    """Leftmost-longest, non-overlapping matching of many token phrases.

    Phrases are indexed by their first token (or the first three letters of a leading
    prefix), so the cost per token is a dict lookup plus the few candidates it returns:
    tens of microseconds per post for a few thousand phrases.
    """

    def __init__(self, phrases: Iterable[tuple[str, str]], barriers: Iterable[str] = ()) -> None:
        # Tokens a `*` gap never skips: "virker * igen" (fixed) must not read "virker ikke igen".
        self._barriers = frozenset(barriers)
        self._literal: dict[str, list[tuple[tuple[_Step, ...], str, str]]] = {}
        self._prefix: dict[str, list[tuple[tuple[_Step, ...], str, str]]] = {}
        self._number: list[tuple[tuple[_Step, ...], str, str]] = []
        seen: set[tuple[str, str]] = set()
        for category, phrase in phrases:
            if (category, phrase) in seen:
                continue
            seen.add((category, phrase))
            steps = _compile_phrase(phrase)
            entry = (steps, category, phrase)
            kind, value = steps[0]
            if kind == "lit":
                self._literal.setdefault(value, []).append(entry)
            elif kind == "pre":
                self._prefix.setdefault(value[:3], []).append(entry)
            else:
                self._number.append(entry)

    def _candidates(self, token: str) -> list[tuple[tuple[_Step, ...], str, str]]:
        found = list(self._literal.get(token, ()))
        found.extend(self._prefix.get(token[:3], ()))
        if self._number and token[:1].isdigit():
            found.extend(self._number)
        return found

    def _match(self, steps: tuple[_Step, ...], tokens: list[str], words: list[bool], i: int) -> int:
        """End index of the longest match of `steps` at token i, or -1."""
        if not any(kind == "gap" for kind, _ in steps):  # most phrases: no backtracking
            end = i + len(steps)
            if end > len(tokens):
                return -1
            ok = all(_step_matches(step, tokens[i + k]) for k, step in enumerate(steps))
            return end if ok else -1
        best = -1
        barriers = self._barriers

        def walk(s: int, j: int) -> None:
            nonlocal best
            if s == len(steps):
                best = max(best, j)
                return
            step = steps[s]
            if step[0] == "gap":
                for skip in range(GAP + 1):
                    k = j + skip - 1
                    if skip and (k >= len(tokens) or not words[k] or tokens[k] in barriers):
                        break
                    walk(s + 1, j + skip)
                return
            if j < len(tokens) and _step_matches(step, tokens[j]):
                walk(s + 1, j + 1)

        walk(0, i)
        return best

    def find(self, tokens: list[Token]) -> list[Hit]:
        texts = [t.text for t in tokens]
        words = [t.is_word for t in tokens]
        hits: list[Hit] = []
        i = 0
        while i < len(texts):
            best: tuple[int, int, str, str] | None = None  # (end, phrase length, cat, phrase)
            for steps, category, phrase in self._candidates(texts[i]):
                end = self._match(steps, texts, words, i)
                if end > i and (best is None or (end, len(phrase)) > best[:2]):
                    best = (end, len(phrase), category, phrase)
            if best is None:
                i += 1
                continue
            hits.append(Hit(best[2], best[3], i, best[0]))
            i = best[0]
        return hits


# ---------------------------------------------------------------------------------------
# The lexicon files

CUE_CATEGORIES = (
    "problem",  # a fault now: nede, virker ikke, no internet, on hold
    "past_problem",  # a fault that was: var nede, was down
    "negative",  # a judgement: elendig, useless, fed up, 😡
    "breach",  # expectations broken: igen, stadig, lovede, third time, refund
    "request",  # asking for help: hjælp, hvornår, when will, any update
    "praise",  # thanks and praise: tak for hjælpen, great service, 👍
    "resolved",  # fixed now: virker igen, back up, løst
    "sarcasm",  # markers that turn praise around: 🙄, /s, yeah right
    "laughter",  # 😂, haha: a joke unless a problem says otherwise
    "not_complaint",  # kan ikke klage, can't complain, min egen skyld
    "relief",  # the brand as the better choice: godt jeg har, so glad I have
    "personal",  # first person: min, mit, my, I've
    "news",  # reporting: ifølge, oplyser selskabet, according to, BREAKING
    "ad",  # marketing: bestil nu, #reklame, use code, giveaway
    "job",  # hiring: vi søger, ledig stilling, we're hiring
    "joke",  # explicit jokes: far-joke, dad joke, knock knock
    "prospect",  # not yet a customer: hvad koster, overvejer at skifte, how much does
    "negator",  # ikke, ingen, not, never (used by the negation window, not scored)
    "contrast",  # men, but: a clause break for attribution
    "false_friend",  # own-language cues that are other words in the other language
)
NOT_MATCHED = frozenset({"false_friend"})


@dataclass(frozen=True)
class Lexicon:
    cues: tuple[tuple[str, str, str], ...]  # (language, category, phrase)
    topics: tuple[tuple[str, str], ...]  # (topic, phrase)
    weights: Mapping[str, float]

    def phrases(self, categories: Iterable[str] | None = None) -> list[tuple[str, str]]:
        wanted = set(categories) if categories is not None else None
        return [
            (c, p)
            for _, c, p in self.cues
            if (c in wanted if wanted is not None else c not in NOT_MATCHED)
        ]

    def words(self, category: str) -> frozenset[str]:
        """Single-token phrases of one category (negators, contrast words)."""
        return frozenset(p for _, c, p in self.cues if c == category and " " not in p)

    def false_friends(self) -> dict[str, frozenset[str]]:
        """Per language, its phrases that count only in posts detected as that language."""
        out: dict[str, set[str]] = {}
        for lang, c, p in self.cues:
            if c == "false_friend":
                out.setdefault(lang, set()).add(p)
        return {lang: frozenset(ps) for lang, ps in out.items()}


def _read_json(name: str) -> dict[str, object]:
    data = json.loads(resources.files("socialcare").joinpath(f"data/{name}").read_text("utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"data/{name}: expected a JSON object")
    return data


def _cue_entries(
    language: str, data: Mapping[str, object], where: str
) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for category, phrases in data.items():
        if category.startswith("_"):
            continue  # comments
        if category not in CUE_CATEGORIES:
            raise ConfigError(f"{where}: unknown cue category {category!r}")
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise ConfigError(f"{where}: {category} must be a list of strings")
        out.extend((language, category, p.strip().lower()) for p in phrases if p.strip())
    return out


def _topic_entries(data: Mapping[str, object], where: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for topic, phrases in data.items():
        if topic.startswith("_"):
            continue
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise ConfigError(f"{where}: topic {topic} must be a list of strings")
        out.extend((topic, p.strip().lower()) for p in phrases if p.strip())
    return out


def _weights(data: Mapping[str, object], base: Mapping[str, float], where: str) -> dict[str, float]:
    out = dict(base)
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if base and key not in base:
            raise ConfigError(f"{where}: unknown weight {key!r}")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{where}: weight {key} must be a number")
        out[key] = float(value)
    return out


@cache
def load_lexicon(extra_file: str | None = None) -> Lexicon:
    """The bundled lexicons, plus the phrases of `extra_file` (or $SOCIALCARE_LEXICON_FILE).

    The extra file has the shape {"cues": {"da": {"problem": [...]}, ...},
    "topics": {"tv": [...]}, "weights": {"problem": 3.0}}; every part is optional.
    """
    cues: list[tuple[str, str, str]] = []
    for language in ("da", "en"):
        cues += _cue_entries(
            language, _read_json(f"lexicon-{language}.json"), f"lexicon-{language}"
        )
    topics = _topic_entries(_read_json("topics.json"), "topics.json")
    weights = _weights(_read_json("weights.json"), {}, "weights.json")
    extra_file = extra_file or os.environ.get("SOCIALCARE_LEXICON_FILE") or None
    if extra_file:
        try:
            extra = json.loads(Path(extra_file).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"lexicon file {extra_file}: {exc}") from exc
        if not isinstance(extra, dict):
            raise ConfigError(f"lexicon file {extra_file}: expected a JSON object")
        for language, data in (extra.get("cues") or {}).items():
            if not isinstance(data, dict):
                raise ConfigError(f"{extra_file}: cues.{language} must be an object")
            cues += _cue_entries(language, data, extra_file)
        topics += _topic_entries(extra.get("topics") or {}, extra_file)
        weights = _weights(extra.get("weights") or {}, weights, extra_file)
    return Lexicon(cues=tuple(cues), topics=tuple(topics), weights=weights)
