"""A post as hashed features: the same code at training and at run time.

- The text is cut at MAX_CHARS, lower-cased and folded (æ→ae, ø→oe, å→aa, ä→ae, ö→oe),
  so "hjælp", "hjaelp" and "HJÆLP" are one word; letters repeated three times or more
  count twice ("nooooo" → "noo").
- Brand names are masked: the brand the post is judged for becomes BRAND, other
  companies (competitors, or the corpus's other brands) OTHER, any other @handle USER
  (in "any" mode every @handle is BRAND: generic data has no brand file), links URL,
  numbers NUM. The model learns complaint-ness, not names.
- Each word gives a unigram and its character 3-5-grams ("<word>" with boundary marks):
  Danish compounds, typos and spellings share most of them. Emoji, emoticons and runs of
  ?/! are tokens of their own. Word bigrams run over all tokens.
- Placement: `addressed`, and the stars of a review (or "no stars").
Features are hashed (CRC-32) into 2**BITS buckets; a word's buckets are cached, as
words repeat across posts far more than posts do.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

MAX_CHARS = 3000  # longer posts are cut: the evidence is in the first paragraphs
BITS = 20
MASK = (1 << BITS) - 1
NGRAMS = (3, 4, 5)
# Word unigrams and bigrams count WORD_WEIGHT times (a word has a dozen character
# n-grams; counted once it would be a small voice among them, and more regularised).
WORD_WEIGHT = 8  # chosen on out-of-fold recall of the main split (1, 2, 3, 5, 8)
LENGTH_POWER = 0.5  # a post's word features count n ** -LENGTH_POWER each (n: how many)
BRAND, OTHER, USER, URL, NUM = "xbrandx", "xotherx", "xuserx", "xurlx", "0"
SPECIAL = frozenset({BRAND, OTHER, USER, URL, NUM})

_FOLD = (("æ", "ae"), ("ø", "oe"), ("å", "aa"), ("ä", "ae"), ("ö", "oe"), ("’", "'"))
_REPEATS = re.compile(r"(\w)\1{2,}")
_URLS = re.compile(r"(?:https?://|www\.)\S+")
_HANDLES = re.compile(r"@\w+")
# A word (inner ' allowed: "can't", "wifi'en"), an emoticon, a run of ?/!, or any other
# single non-space, non-ASCII-punctuation character (emoji, symbols). Every alternative
# is a simple run: no nested quantifiers, so no backtracking on long input.
_TOKEN = re.compile(
    r"\w+(?:'\w+)*|[:;=][-o']?[()\[\]dpo/\\|*3]|[!?]+|[^\w\s!-/:-@\[-`{-~]",
    re.UNICODE,
)
# Emoji modifiers, joiners and variation selectors carry no meaning of their own.
_IGNORED = frozenset("\ufe0f\u200d") | {chr(c) for c in range(0x1F3FB, 0x1F400)}


def fold(text: str) -> str:
    text = text.lower()
    if not text.isascii():  # str.replace runs in C; a translate table per character does not
        for letter, spelled in _FOLD:
            text = text.replace(letter, spelled)
    return text


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8", "surrogatepass")) & MASK


@dataclass(frozen=True)
class Masker:
    """Replaces brand names in folded text: `ours` by BRAND, `others` by OTHER.

    Names match as whole words, with a genitive s ("Lynets"), and as the start of an
    @handle ("@lynetbredbaand" for "Lynet"). `any_handle` makes every @handle BRAND.
    """

    pattern: re.Pattern[str] | None
    ours: frozenset[str]
    any_handle: bool = False
    names: tuple[str, ...] = ()  # every name the pattern holds: one must be in the text

    @classmethod
    def build(
        cls, ours: Iterable[str], others: Iterable[str] = (), *, any_handle: bool = False
    ) -> Masker:
        mine = {f for f in (_folded_name(n) for n in ours) if f}
        theirs = {f for f in (_folded_name(n) for n in others) if f} - mine
        words = sorted(mine | theirs, key=len, reverse=True)
        if not words:
            return cls(None, frozenset(), any_handle)
        names = "|".join(re.escape(w) for w in words)
        # A name inside a handle needs no word boundary after it; elsewhere it does.
        pattern = re.compile(rf"@(?:{names})\w*|(?<!\w)(?:{names})(?:'?s)?(?!\w)")
        return cls(pattern, frozenset(mine), any_handle, tuple(words))

    def __call__(self, folded: str) -> str:
        # each pattern only where it can match: substring tests are far cheaper than a scan
        text = _URLS.sub(f" {URL} ", folded) if "http" in folded or "www." in folded else folded
        if self.pattern is not None and any(name in text for name in self.names):
            text = self.pattern.sub(self._replace, text)
        return (
            _HANDLES.sub(f" {BRAND if self.any_handle else USER} ", text) if "@" in text else text
        )

    def _replace(self, match: re.Match[str]) -> str:
        name = match.group(0).lstrip("@")
        if match.group(0).startswith("@"):
            mine = any(name.startswith(n.replace(" ", "")) for n in self.ours)
        else:
            mine = any(name == n or name.rstrip("s").rstrip("'") == n for n in self.ours)
        return f" {BRAND if mine else OTHER} "


def _folded_name(name: str) -> str:
    return " ".join(fold(name).lstrip("@").split())


def tokens(text: str, masker: Masker) -> list[str]:
    """The post's tokens after cutting, folding and masking."""
    folded = _REPEATS.sub(r"\1\1", fold(text[:MAX_CHARS]))
    return [
        NUM if token.isdigit() else token[:3] if token[0] in "!?" else token
        for token in _TOKEN.findall(masker(folded))
        if token not in _IGNORED
    ]  # a run of ?/! says little past three


LEXICONS = ("lexicon-da.json", "lexicon-en.json")  # the cue rules' bundled word lists


@lru_cache(maxsize=1)
def _cue_words() -> tuple[dict[str, str], tuple[tuple[str, str], ...], str]:
    """The one-word cues of the rules' lexicons (word -> category), their prefix cues
    ("outage*"), and a digest of the files (a model is trained for one version)."""
    words: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    digest = hashlib.sha256()
    for name in LEXICONS:
        raw = resources.files("socialcare").joinpath("data", name).read_bytes()
        digest.update(raw)
        for category, phrases in json.loads(raw).items():
            for phrase in phrases if isinstance(phrases, list) else ():
                folded = fold(phrase)
                if " " in folded or "<" in folded or folded in ("*", ""):
                    continue
                if folded.endswith("*"):
                    prefixes.append((folded[:-1], category))
                else:
                    words.setdefault(folded, category)
    return words, tuple(prefixes), digest.hexdigest()[:16]


def cue_category(token: str) -> str | None:
    """The rules' category of a one-word cue ("slow": problem), so the model learns one
    weight per category and knows cue words its corpus never showed it."""
    words, prefixes, _ = _cue_words()
    found = words.get(token)
    if found is None and token.startswith(_cue_prefixes()):  # one C call rules most out
        found = next((c for p, c in prefixes if token.startswith(p)), None)
    return found


@lru_cache(maxsize=1)  # from _cue_words' cache: clear both together
def _cue_prefixes() -> tuple[str, ...]:
    return tuple(p for p, _ in _cue_words()[1])


@lru_cache(maxsize=65536)
def word_buckets(token: str) -> tuple[int, ...]:
    """A token's unigram bucket first, then its cue category's and its character
    n-grams' (words only)."""
    own = (_bucket("w:" + token),) * WORD_WEIGHT
    if token in SPECIAL or not token[0].isalnum():
        return own
    category = cue_category(token)
    cue = (_bucket("k:" + category),) * WORD_WEIGHT if category else ()
    return (*own, *cue, *_gram_buckets(f"<{token}>"))


_GRAM_SEED = zlib.crc32(b"c:")  # crc32(b"c:" + gram) == crc32(gram, _GRAM_SEED)


def _gram_buckets(marked: str) -> list[int]:
    """The sorted buckets of a marked word's distinct character n-grams, each hashed as
    "c:" + gram. The prefix is hashed once (CRC-32 continues from a seed), and an ASCII
    word (most) is encoded once, its grams cut from the bytes: a first run meets
    thousands of new words, a dozen grams each."""
    if marked.isascii():
        raw = marked.encode("ascii")
        grams: Iterable[bytes] = {raw[i : i + n] for n in NGRAMS for i in range(len(raw) - n + 1)}
    else:  # a character may take several bytes: cut the text, then encode each gram
        text = {marked[i : i + n] for n in NGRAMS for i in range(len(marked) - n + 1)}
        grams = [g.encode("utf-8", "surrogatepass") for g in text]
    return sorted(map(MASK.__and__, map(zlib.crc32, grams, itertools.repeat(_GRAM_SEED))))


def pair(a: int, b: int) -> int:
    """A bigram's bucket from its words' unigram buckets (cheaper than hashing text).
    model.Model.score inlines it: change both together."""
    return ((a * 0x9E3779B1) ^ (b + 0x7F4A7C15)) & MASK


# A post's length in tokens, by bin: word evidence grows with length (√n features,
# each scaled 1/√n), so one intercept would read short posts as weak evidence.
LENGTH_BINS = (3, 6, 12, 25, 50)
PLACEMENT: dict[str | int | None, int] = {
    "addressed": _bucket("p:addressed"),
    "unaddressed": _bucket("p:unaddressed"),
    None: _bucket("p:no-stars"),
    **{s: _bucket(f"p:stars={s}") for s in range(1, 6)},
    **{f"len{k}": _bucket(f"p:length={k}") for k in range(len(LENGTH_BINS) + 1)},
}


def recipe() -> dict[str, object]:
    """What a model file must have been trained with to be read by this code."""
    return {
        "ngrams": list(NGRAMS),
        "word_weight": WORD_WEIGHT,
        "length_bins": list(LENGTH_BINS),
        "lexicons": _cue_words()[2],
    }


def text_features(toks: Sequence[str]) -> list[int]:
    """Every bucket the words set, with repeats (a word said twice counts twice)."""
    out: list[int] = []
    heads: list[int] = []
    for token in toks:
        buckets = word_buckets(token)
        out.extend(buckets)
        heads.append(buckets[0])
    out.extend(pair(a, b) for a, b in itertools.pairwise(heads) for _ in range(WORD_WEIGHT))
    return out


def placement_features(*, addressed: bool, stars: int | None, length: int) -> list[int]:
    """Where the post sits, and its length bin (`length` tokens): set to 1, apart from
    the words' length-scaled features."""
    return [
        PLACEMENT["addressed" if addressed else "unaddressed"],
        PLACEMENT[stars if stars in range(1, 6) else None],
        PLACEMENT[f"len{bisect.bisect_left(LENGTH_BINS, length)}"],
    ]


def directed(toks: Sequence[str], *, addressed: bool, any_mode: bool) -> bool:
    """The `addressed` the model sees: in "any" mode an @-mention of any account (masked
    BRAND) is what the sources' own placement would have said."""
    return addressed or (any_mode and BRAND in toks)
