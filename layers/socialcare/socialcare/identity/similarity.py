"""How alike two personal names are, 0-100: the score of the careful name match.

Given names are compared with given names and surnames with surnames: the parts of the
two names are aligned in order (never sorted), and only parts with the same sound key
(names.key) are ever paired, so "Mette Jensen" and "Mette Hansen" share one part, not two,
and score 0. A name written surname-first ("Hansen Søren", "Hansen, Søren") is read both
ways. Then, over the paired parts:

- letters: the Indel similarity of the folded spellings (2·LCS / total length);
- sound: the same on the Danish sound spellings (names.sound), capped at SOUND_CAP, below
  the acceptance threshold. A pairing whose parts differ only as Danish spellings of one
  sound ("Kamilla"/"Camilla", "Hanssen"/"Hansen") is capped there too, whatever its
  letters: another registered spelling is a rival of the exact name, never a match on its
  own. A typo the sound rules do not explain ("Sørn" for "Søren") keeps its letters' score;
- a part more or less on one side (a dropped middle name or second surname) keeps the
  similarity of the paired parts times SUBSET, in both directions; parts left over on
  both sides (another middle name) count in full against the score.

At least two parts must pair, or the score is 0: what makes the directory's candidate
keys complete (blocking.py). Pure Python on short strings: the bit-parallel LCS below
costs about a microsecond per pair of parts and results are cached.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from socialcare.identity.names import Name, Unit

# The rule (matching.by_name): the best candidate must score ACCEPT or more and no other
# may be within MARGIN of it.
ACCEPT = 95.0
MARGIN = 10.0
SUBSET = 0.95  # a part more or less: "Søren Hansen" vs "Søren Ærø Hansen" scores 95
SOUND_CAP = 94.0  # alike only as said: a rival (within MARGIN of 100), never accepted alone


@lru_cache(maxsize=32_768)
def lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence (Hyyrö's bit-parallel algorithm)."""
    if a == b:
        return len(a)
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    row = full
    for ch in b:
        matches = row & masks.get(ch, 0)
        row = ((row + matches) | (row - matches)) & full
    return len(a) - row.bit_count()


def indel_ratio(a: str, b: str) -> float:
    """0-100: how much of the two strings is their common subsequence."""
    total = len(a) + len(b)
    return 100.0 if not total else 200.0 * lcs(a, b) / total


def _initials_fit(query: Name, candidate: Name) -> bool:
    """Each initial the profile gives must start one of the candidate's names."""
    starts = {t[0] for t in candidate.full} | set(candidate.initials)
    return all(i in starts for i in query.initials)


def _orientations(name: Name) -> tuple[Name, ...]:
    """As written, and surname first ("Hansen Søren" is Søren Hansen)."""
    if len(name.full) < 2:
        return (name,)
    return (name, Name(full=name.full[1:] + name.full[:1], initials=name.initials))


Pairing = tuple[tuple[Unit, Unit], ...]


def _pairings(query: Name, candidate: Name) -> Iterator[Pairing]:
    """Every in-order pairing of same-key parts (a joined unit pairs with a single part
    only), with at least two pairs."""
    edges = sorted(
        (
            (u, v)
            for u in query.units
            for v in candidate.units
            if u.key == v.key and (len(u.span) == 1 or len(v.span) == 1)
        ),
        key=lambda e: (e[0].span, e[1].span),
    )

    def extend(chosen: Pairing, after_q: int, after_c: int) -> Iterator[Pairing]:
        extended = False
        for u, v in edges:
            if u.span[0] > after_q and v.span[0] > after_c:
                extended = True
                yield from extend((*chosen, (u, v)), u.span[-1], v.span[-1])
        if not extended and len(chosen) >= 2:
            yield chosen

    yield from extend((), -1, -1)


def _rate(pairs: Pairing, query: Name, candidate: Name) -> tuple[float, float]:
    """(letters, sound) similarity of one pairing."""
    common = sum(lcs(u.text, v.text) for u, v in pairs)
    common_said = sum(lcs(u.sound, v.sound) for u, v in pairs)
    paired = sum(len(u.text) + len(v.text) for u, v in pairs)
    paired_said = sum(len(u.sound) + len(v.sound) for u, v in pairs)
    covered_q = {i for u, _ in pairs for i in u.span}
    covered_c = {i for _, v in pairs for i in v.span}
    # the first units of a name are its single tokens, in order
    left = [query.units[i] for i in range(len(query.full)) if i not in covered_q]
    left_c = [candidate.units[i] for i in range(len(candidate.full)) if i not in covered_c]
    if left and left_c:  # other parts on both sides: they count against the score
        paired += sum(len(u.text) for u in left + left_c)
        paired_said += sum(len(u.sound) for u in left + left_c)
        return 200.0 * common / paired, 200.0 * common_said / paired_said
    factor = SUBSET if left or left_c else 1.0
    return factor * 200.0 * common / paired, factor * 200.0 * common_said / paired_said


@lru_cache(maxsize=8_192)
def score(query: Name, candidate: Name) -> float:
    """How well a profile's name fits a customer's name, 0-100 (see the module doc)."""
    if not query.full or not candidate.full or not _initials_fit(query, candidate):
        return 0.0
    if query.full == candidate.full:
        return 100.0  # the common case among candidates: a namesake
    best = 0.0
    for side in _orientations(query):
        for pairs in _pairings(side, candidate):
            letters, said = _rate(pairs, side, candidate)
            respelled = any(u.text != v.text and u.sound == v.sound for u, v in pairs)
            if respelled:
                best = max(best, min(SOUND_CAP, max(letters, said)))
            else:
                best = max(best, letters, min(SOUND_CAP, said))
    return round(best, 6)
