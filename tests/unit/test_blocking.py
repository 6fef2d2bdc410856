"""The candidate search cannot miss a rival: the property behind blocking.py.

Hypothesis generates small directories of Danish names with look-alikes in them (the
respellings, added and dropped middle names, second surnames and typos of
synthetic_crm, which does not know the rule) and a query spelled like one of them, then
checks that the candidates found through the name keys include every customer a full
scan rates within MARGIN of the best: through an in-memory index of the keys, and
through the SQLite directory itself.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcare.identity.blocking import name_keys, pair_hashes
from socialcare.identity.matching import ACCEPT, MARGIN
from socialcare.identity.names import Name, key_pairs
from socialcare.identity.similarity import lcs, score
from socialcare.identity.sqlite_crm import SqliteCrm
from socialcare_cli.synthetic_crm import Generator, as_written, look_alike, respell

VOWELS = "aeiouyæøå"


def typo(name: str, rng: random.Random) -> str:
    """A vowel dropped, doubled or changed: a near spelling no Danish rule explains."""
    spots = [i for i, ch in enumerate(name) if ch.lower() in VOWELS and i > 0]
    if not spots:
        return name
    i = rng.choice(spots)
    change = rng.choice(("drop", "double", "swap"))
    if change == "drop":
        return name[:i] + name[i + 1 :]
    if change == "double":
        return name[:i] + name[i] + name[i:]
    return name[:i] + rng.choice("aeiouy") + name[i + 1 :]


@st.composite
def directories(draw: st.DrawFn) -> tuple[list[str], str]:
    """Some 10-60 names around a few seeds (namesakes, look-alikes, typos, strangers) and
    a query written like one of them."""
    seed = draw(st.integers(0, 2**32 - 1))
    gen = Generator(seed)
    rng = random.Random(seed)
    seeds = gen.names(draw(st.integers(1, 4)))
    names = list(seeds)
    for _ in range(draw(st.integers(5, 50))):
        base = rng.choice(names)
        how = rng.random()
        if how < 0.4:
            names.append(look_alike(base, gen)[0])
        elif how < 0.55:
            names.append(typo(base, rng))
        elif how < 0.65:
            names.append(base)
        else:
            names.append(gen.name())
    target = rng.choice(names)
    query = rng.choice(
        [target, as_written(target, rng), typo(target, rng), look_alike(target, gen)[0]]
    )
    return names, query


def rated(query: Name, names: list[str]) -> set[int]:
    """What a full scan rates within MARGIN of the best, when the best is accepted."""
    scores = [score(query, Name.parse(n)) for n in names]
    best = max(scores, default=0.0)
    if best < ACCEPT:
        return set()
    return {i for i, s in enumerate(scores) if s >= best - MARGIN}


def indexed(query: Name, names: list[str]) -> set[int]:
    index: dict[str, set[int]] = defaultdict(set)
    for i, n in enumerate(names):
        for k in name_keys(Name.parse(n)):
            index[k].add(i)
    return set().union(*(index[k] for k in name_keys(query)))


@settings(max_examples=400, deadline=None)
@given(directories())
def test_indexed_candidates_include_every_rival_a_full_scan_sees(
    case: tuple[list[str], str],
) -> None:
    names, text = case
    query = Name.parse(text)
    if not query.usable:
        return
    assert rated(query, names) <= indexed(query, names)
    # Stronger, and what the proof says: everyone the rule rates above 0 at all.
    positive = {i for i, n in enumerate(names) if score(query, Name.parse(n)) > 0}
    assert positive <= indexed(query, names)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(directories())
def test_the_sqlite_directory_returns_every_rival(
    tmp_path: Path, case: tuple[list[str], str]
) -> None:
    names, text = case
    query = Name.parse(text)
    path = tmp_path / f"{uuid.uuid4().hex}.db"  # one per example
    crm = SqliteCrm(path, create=True)
    crm.upsert({"id": f"C-{i:03d}", "name": n} for i, n in enumerate(names))
    found = {int(c.id[2:]) for c in crm.find_by_name(text, len(names))}
    crm.close()
    assert rated(query, names) <= found


def test_key_pairs_are_the_units_keys() -> None:
    """The directory's fast key computation agrees with the units the score pairs."""
    for text in Generator(3).names(3_000):
        name = Name.parse(text)
        units = [
            tuple(sorted((a.key, b.key)))
            for i, a in enumerate(name.units)
            for b in name.units[i + 1 :]
            if not set(a.span) & set(b.span)
        ]
        assert key_pairs(name.full) == frozenset(units), text
        assert len(pair_hashes(name.full)) <= len(units)


@given(st.text("abcdeøå", max_size=12), st.text("abcdeøå", max_size=12))
def test_bit_parallel_lcs_is_the_textbook_one(a: str, b: str) -> None:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    assert lcs(a, b) == table[-1][-1]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Frederik Christensen", "Frederik Kristensen"),
        ("Camilla Jensen", "Kamilla Jensen"),
        ("Christian Hansen", "Kristian Hansen"),
        ("Ole Christensen", "Ole Kristensen"),
        ("Per Kjeldsen-Holm", "Per Kjeldsen"),
        ("Mette Pedersen", "Mette Petersen"),
        ("Ib Lauridsen", "Ib Lauritsen"),
        ("Jens Jakobsen", "Jens Jacobsen"),
        ("Lone Klausen", "Lone Clausen"),
    ],
)
def test_look_alikes_of_the_issue_share_a_name_key(a: str, b: str) -> None:
    assert name_keys(Name.parse(a)) & name_keys(Name.parse(b))


def test_respell_makes_another_spelling_or_none() -> None:
    assert respell("Bo", random.Random(1)) is None  # no Danish respelling applies
    spellings = {respell("Kristensen", random.Random(s)) for s in range(40)}
    assert "Christensen" in spellings and "Kristensen" not in spellings
