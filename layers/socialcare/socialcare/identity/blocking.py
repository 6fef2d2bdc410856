"""Candidate keys for a name, and the search every CRM adapter makes with them.

The score (similarity.py) is 0 unless two names pair at least two parts with equal sound
keys. So a customer can only score above 0 against a query when one unordered pair of
their part keys equals one of the query's: the *name keys* below ("hnsn+srn" for "Søren
Hansen"). A directory that indexes every customer under all their name keys, and a query
that looks up all of its own, finds every customer the rule can rate at all — in
particular every rival within MARGIN of the best. tests/unit/test_blocking.py checks this
property against a full scan on generated directories.

`search_by_keys` is that search for a CRM that can only match a stored key exactly (the
HTTP contract's `name_key`, a vendor CRM's custom field): one search per key, then the
project's own scoring. Adapters return the best `limit` by score, never the CRM's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from hashlib import blake2b
from typing import TypeVar

from socialcare.identity.names import Name, key, key_pairs
from socialcare.identity.similarity import ACCEPT, MARGIN, score
from socialcare.models import Customer

T = TypeVar("T")
# Two candidates at or above this make any name match ambiguous, whatever else the CRM
# holds (the best can be at most 100): a search may stop there.
STRONG = 100.0 - MARGIN
KEYS_VERSION = "1"  # stored keys of another version must be rebuilt (docs/crm-api.yaml)


class TooManyCandidates(Exception):
    """A key search came back full: the CRM may hold more, so the candidates are not
    known to be complete and no name match may be made on them."""


def name_keys(name: Name) -> set[str]:
    """The unordered pairs of part keys a name is found by ("hnsn+srn")."""
    return {f"{a}+{b}" for a, b in key_pairs(name.full)}


@lru_cache(maxsize=16_384)
def _part_hash(part_key: str) -> int:
    return int.from_bytes(blake2b(part_key.encode(), digest_size=8).digest(), "big")


@lru_cache(maxsize=65_536)  # a directory's names share their key pairs (given + surname)
def _pair_hash(a: str, b: str) -> int:
    mixed = (_part_hash(a) * 0x9E3779B97F4A7C15 + _part_hash(b)) & 0xFFFF_FFFF_FFFF_FFFF
    return mixed - (1 << 64) if mixed >> 63 else mixed


def pair_hashes(full: tuple[str, ...]) -> frozenset[int]:
    """The name keys of a name's tokens as signed 64-bit integers (SQLite's INTEGER):
    compact and fast to compare, and cheap to compute from the parts' hashes. A collision
    only adds candidates, which the score then rejects."""
    if len(full) == 2:  # most names: one pair, no joined unit
        a, b = key(full[0]), key(full[1])
        return frozenset((_pair_hash(a, b) if a <= b else _pair_hash(b, a),))
    return frozenset(_pair_hash(a, b) for a, b in key_pairs(full))


def best(query: Name, named: Iterable[tuple[str, str, T]], limit: int) -> list[T]:
    """The best `limit` of (name, id, item) by score, best first (ties by id), none that
    score 0. Reads `named` as a stream and stops once `limit` of them score at least
    STRONG, one of them at least ACCEPT: then the match is ambiguous whatever the rest
    hold (the best is at most 100), and a common name does not cost a score for each of
    its hundreds of holders. Each distinct spelling is scored once."""
    scores: dict[str, float] = {}
    kept: list[tuple[float, str, T]] = []
    strong, accepted = 0, False
    for name, cid, item in named:
        value = scores.get(name)
        if value is None:
            value = scores[name] = score(query, Name.parse(name))
        if value > 0:
            kept.append((value, cid, item))
            strong += value >= STRONG
            accepted = accepted or value >= ACCEPT
            if strong >= limit and accepted:
                break
    kept.sort(key=lambda s: (-s[0], s[1]))
    return [item for _, _, item in kept[:limit]]


def rank(query: Name, customers: Iterable[Customer], limit: int) -> list[Customer]:
    """The best `limit` customers by score (ties by id), none that score 0."""
    return best(query, ((c.name, c.id, c) for c in customers), limit)


def search_by_keys(
    name: str, search: Callable[[str, int], list[Customer]], limit: int, per_key: int = 100
) -> list[Customer]:
    """Every customer sharing a name key with `name`, asked one key at a time through
    `search(key, per_key)`, ranked by the project's score. A key that returns `per_key`
    customers may have more: that raises TooManyCandidates rather than decide on part."""
    query = Name.parse(name)
    if not query.usable:
        return []
    found: dict[str, Customer] = {}
    for name_key in sorted(name_keys(query)):
        batch = search(f"{KEYS_VERSION}:{name_key}", per_key)
        if len(batch) >= per_key:
            raise TooManyCandidates(f"a name key matched {len(batch)}+ customers")
        found.update((c.id, c) for c in batch)
    return rank(query, found.values(), limit)
