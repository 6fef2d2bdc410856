"""Danish-aware name folding and scoring, for the careful name match in identify.py.

Both sides (the profile's display name and the CRM's name) are folded to one skeleton:
lower-case, punctuation and hyphens to spaces, æ/ae→e, ø/oe→o, å/aa→a, other accents
dropped. "Søren Ærø-Hansen", "Soeren Aeroe Hansen" and "Soren Aero Hansen" all become
"soren ero hansen". Measured on 100k names, this beat unidecode (which maps æ→ae, ø→o and
so misaligns "Soeren"); see shared notes "text-and-names".

Scores are 0-100 (rapidfuzz). Order does not count ("Hansen, Søren"); a name given with
fewer tokens than the CRM holds (a dropped middle name) still scores high, so two such
candidates tie and nobody is contacted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import combinations

from rapidfuzz import fuzz

# Danish digraphs first (the two spellings of one letter), then the letters themselves.
_DIGRAPHS = (("aa", "a"), ("ae", "e"), ("oe", "o"))
_LETTERS = str.maketrans({"å": "a", "æ": "e", "ø": "o", "ä": "e", "ö": "o", "ß": "ss"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

# A dropped middle name ("Søren Hansen" for "Søren Ærø Hansen") scores this much: enough to
# be accepted alone, close enough to an exact match that both count as rivals.
SUBSET_SCORE = 95.0


def fold(text: str | None) -> str:
    """The skeleton of a name, city or handle: folded tokens joined by single spaces."""
    if not text:
        return ""
    value = unicodedata.normalize("NFKC", text).casefold().translate(_LETTERS)
    # Drop remaining accents (é, ü...), keeping the base letter.
    value = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    value = _NOT_ALNUM.sub(" ", value)
    for digraph, letter in _DIGRAPHS:
        value = value.replace(digraph, letter)
    return " ".join(value.split())


@dataclass(frozen=True)
class Name:
    """A folded personal name: full tokens (2+ letters) and initials (single letters)."""

    full: tuple[str, ...]
    initials: tuple[str, ...]

    @classmethod
    def parse(cls, text: str | None) -> Name:
        tokens = [t for t in fold(text).split() if not t.isdigit()]
        return cls(
            full=tuple(t for t in tokens if len(t) > 1),
            initials=tuple(t for t in tokens if len(t) == 1),
        )

    @property
    def usable(self) -> bool:
        """At least a first and a last name spelled out: "Søren H." or "Søren" is not."""
        return len(self.full) >= 2

    @property
    def skeleton(self) -> str:
        return " ".join(self.full)


def _initials_fit(query: Name, candidate: Name) -> bool:
    """Each initial the profile gives must start one of the candidate's names."""
    starts = {t[0] for t in candidate.full} | set(candidate.initials)
    return all(i in starts for i in query.initials)


def score(query: Name, candidate: Name) -> float:
    """How well a profile's name fits a customer's name, 0-100, order-insensitive."""
    if not query.full or not candidate.full or not _initials_fit(query, candidate):
        return 0.0
    value = float(fuzz.token_sort_ratio(query.skeleton, candidate.skeleton))
    if len(query.full) >= 2 and set(query.full) < set(candidate.full):
        value = max(value, SUBSET_SCORE)
    return value


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", fold(text))


def handle_spells(handle: str | None, candidate: Name) -> bool:
    """Does the handle spell the customer's name ("sorenhansen82", "hansen.soren")?

    Digits, dots and underscores are ignored; a Bluesky handle counts without
    ".bsky.social" or by its first label (own domain), a Mastodon one by its user part.
    """
    if not handle or len(candidate.full) < 2:
        return False
    local = handle.lstrip("@").split("@")[0].removesuffix(".bsky.social")
    first, last = candidate.full[0], candidate.full[-1]
    spellings = {
        "".join(candidate.full),
        "".join(reversed(candidate.full)),
        first + last,
        last + first,
    }
    return bool({_letters(local), _letters(local.split(".")[0])} & spellings)


def same_place(location: str | None, city: str | None) -> bool:
    """Does the profile's free-text location name the customer's city?

    The city's folded words must appear together in the location ("Aarhus" in
    "Aarhus C, Danmark"); single letters (postal districts such as "C", "Ø") are ignored.
    """
    place = [t for t in fold(city).split() if len(t) > 1]
    where = [t for t in fold(location).split() if len(t) > 1]
    if not place or not where:
        return False
    n = len(place)
    return any(where[i : i + n] == place for i in range(len(where) - n + 1))


_VOWELS = re.compile(r"(?<=.)[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")


def sound_key(token: str) -> str:
    """A crude spelling-tolerant key of one folded token: first letter, then consonants,
    repeats collapsed ("hansen", "hanssen", "hansson" -> "hnsn"; "anne", "ane" -> "an")."""
    return _REPEATS.sub(r"\1", _VOWELS.sub("", token))


def search_keys(text: str | None) -> set[str]:
    """What a directory indexes a name under, and what a name query looks up.

    `p:` keys are unordered pairs of sound keys: a customer is a candidate only when two of
    their names sound like two of the query's (first and last, in any order, with or
    without middle names), so a lookup reads the short list of namesakes and near
    spellings ("Jens Hanssen" for "Jens Hansen", which then makes the match ambiguous),
    never all the Hansens. `t:` keys (exact folded tokens) rank the candidates.
    """
    tokens = Name.parse(text).full
    sounds = sorted(sound_key(t) for t in tokens)
    return {f"t:{t}" for t in tokens} | {f"p:{a}|{b}" for a, b in combinations(sounds, 2)}
