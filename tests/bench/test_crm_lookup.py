"""Lookup speed on a large SQLite CRM directory (200,000 generated customers).

Run with `pytest tests/bench --benchmark-only` (pytest-benchmark; `make bench` is the
harness of docs/bench.md). The directory indexes handles, e-mails and folded name keys,
so a lookup reads posting lists, never the whole table; a name match includes
the scoring of its candidates in matching.by_name (the million-customer figures come from
socialcare_cli.bench_identity). Names are drawn Zipf-like
from common Danish first, middle and last names (so "Hansen" has thousands of holders),
generated here, not real data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from socialcare.identity.matching import by_name
from socialcare.identity.sqlite_crm import SqliteCrm
from socialcare.models import Mention

SIZE = 200_000


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Søren Jens Peter Lars Michael Henrik Thomas Jørgen Hans Anders Niels Christian Martin "
    "Rasmus Mads Jesper Morten Ole Per Kim Mikkel Frederik Jonas Emil Kasper Anne Kirsten "
    "Mette Hanne Anna Helle Susanne Lene Maria Marianne Inge Karen Lone Bente Camilla Pia "
    "Louise Charlotte Ida Julie Sofie Emma Birgitte Tove Ane Aase Åse Bodil Grethe Ellen "
    "Malene Trine Dorthe Lotte Jytte Gitte Rikke Signe Freja Laura Astrid Asger Bjørn Øjvind "
    "Ærling Poul Knud Erik Finn Carsten Torben Bo Flemming Johannes Benjamin Noah Oscar"
)
MIDDLE = _words("Ærø Møller Holm Kjær Bach Dahl Lund Skov Vang Krogh Friis Juul Brix Høj Aagaard")
LAST = _words(
    "Nielsen Jensen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen "
    "Jørgensen Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen "
    "Møller Mortensen Knudsen Jakobsen Jacobsen Mikkelsen Olesen Frederiksen Laursen "
    "Henriksen Lund Schmidt Eriksen Holm Kristiansen Clausen Simonsen Svendsen Andreasen "
    "Iversen Jeppesen Mogensen Jespersen Nissen Lauridsen Frandsen Østergaard Jepsen Kjær "
    "Carlsen Vestergaard Jessen Nørgaard Dahl Christoffersen Skov Søndergaard Bertelsen "
    "Bruun Lassen Bach Gregersen Friis Johnsen Steffensen Kjeldsen Bech Krogh Lauritsen "
    "Danielsen Mathiesen Andresen Brandt Winther Toft Ravn Mathiasen Dam Ærø-Hansen Aagaard"
)
CITIES = _words(
    "København Aarhus Odense Aalborg Esbjerg Randers Kolding Horsens Vejle Roskilde Herning "
    "Silkeborg Næstved Fredericia Viborg Køge Holstebro Taastrup Slagelse Hillerød Sønderborg"
)
PLATFORMS = ("x", "bluesky", "mastodon", "instagram")


def _zipf(items: list[str], rng: random.Random, n: int) -> list[str]:
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(items))]
    return rng.choices(items, weights=weights, k=n)


def generate(n: int, seed: int = 6) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    first, last = _zipf(FIRST, rng, n), _zipf(LAST, rng, n)
    customers = []
    for i in range(n):
        parts = [first[i]]
        if rng.random() < 0.2:
            parts.append(rng.choice(MIDDLE))
        parts.append(last[i])
        handles = [f"{rng.choice(PLATFORMS)}:user{i}"] if rng.random() < 0.5 else []
        customers.append(
            {
                "id": f"B-{i:06d}",
                "name": " ".join(parts),
                "email": f"user{i}@example.net",
                "city": rng.choice(CITIES),
                "handles": handles,
            }
        )
    return customers


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteCrm]:
    path = Path(tmp_path_factory.mktemp("bench")) / "crm.db"
    crm = SqliteCrm(path, create=True)
    customers = generate(SIZE)
    customers.append(  # one of a kind: its folded spelling must find it among 200,000
        {"id": "B-TARGET", "name": "Øjvind Bækgaard-Ålund", "email": "t@x.net", "city": "Odense"}
    )
    assert crm.upsert(customers) == SIZE + 1
    yield crm
    crm.close()


def mention(display_name: str, location: str) -> Mention:
    return Mention(
        source="x",
        post_id="1",
        handle="someone",
        display_name=display_name,
        location=location,
        text="nede",
        created_at=datetime.now(UTC),
    )


def test_handle_lookup(benchmark: Any, directory: SqliteCrm) -> None:
    found = benchmark(directory.find_by_handle, "x", "user123456")
    assert len(found) <= 1


def test_email_lookup(benchmark: Any, directory: SqliteCrm) -> None:
    found = benchmark(directory.find_by_email, "User4242@example.net")
    assert [c.id for c in found] == ["B-004242"]


def test_name_match_common_name(benchmark: Any, directory: SqliteCrm) -> None:
    """The worst case: the most common first and last names, hundreds of namesakes."""
    who = benchmark(by_name, mention("Søren Nielsen", "Aarhus"), directory)
    assert who.customer is None and who.reason is not None


def test_name_match_folded_spelling(benchmark: Any, directory: SqliteCrm) -> None:
    who = benchmark(by_name, mention("Oejvind Baekgaard Aalund", "Odense"), directory)
    assert who.customer is not None and who.customer.id == "B-TARGET"
