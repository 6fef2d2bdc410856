"""Generated customer directories with a Danish name distribution, and planted look-alikes.

For the identity tests and the bench, never for the deployed system. The shape follows
Statistics Denmark's published name counts (January 2024: Nielsen ~229k and Jensen ~226k
holders of 5.9M, Anne ~44k of 2.98M women, Peter ~46k of 2.95M men; about half of all
surnames end in -sen; Møller the first that does not): the common names below carry
approximate holder counts in thousands, and a long tail of rarer surnames (place-name
compounds and patronymics of rarer given names) and given names takes the rest, so a
million customers have hundreds of thousands of distinct names, not a few thousand.
About 22 % have a middle name (mostly a surname, as in Denmark), 12 % two given names,
3 % a hyphenated surname; 95 % an e-mail address and 22 % a linked handle.

Look-alikes are made by the operations a Danish reader would call "the same name": a
respelling of one part (c/k/ch, ph/f, th/t, double letters, aa/å, ø/oe, æ/ae, -dsen/-tsen,
i/j), a middle name added or dropped, a second surname, a second given name. They are
defined here, independently of the matching rule they test.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any


def _words(text: str) -> list[str]:
    return text.split()


def _weighted(text: str) -> tuple[list[str], list[float]]:
    """ "Name:count Name:count ..." -> names, counts (thousands of holders)."""
    pairs = [item.rsplit(":", 1) for item in text.split()]
    return [n for n, _ in pairs], [float(c) for _, c in pairs]


SURNAMES = _weighted(
    "Nielsen:229 Jensen:226 Hansen:193 Andersen:140 Pedersen:139 Christensen:104 Larsen:101 "
    "Sørensen:98 Rasmussen:82 Jørgensen:80 Petersen:66 Madsen:57 Kristensen:56 Olsen:45 "
    "Thomsen:38 Christiansen:35 Poulsen:31 Johansen:30 Møller:30 Mortensen:28 Knudsen:24 "
    "Jakobsen:21 Mikkelsen:20 Olesen:20 Frederiksen:19 Laursen:18 Jacobsen:17 Henriksen:17 "
    "Lund:16 Holm:15 Schmidt:15 Eriksen:14 Kristiansen:13 Clausen:12 Simonsen:12 Svendsen:12 "
    "Andreasen:11 Iversen:10 Jeppesen:10 Mogensen:10 Jespersen:9.5 Nissen:9.3 Lauridsen:9 "
    "Østergaard:9 Kjær:8.9 Jepsen:8.8 Frandsen:8.5 Carlsen:8 Vestergaard:8 Jessen:7.8 "
    "Nørgaard:7.7 Søndergaard:7.5 Dahl:7.3 Bertelsen:7.2 Skov:7 Christoffersen:6.9 Bach:6.8 "
    "Bruun:6.7 Lassen:6.6 Gregersen:6.4 Friis:6.3 Johnsen:6.1 Steffensen:6 Kjeldsen:5.9 "
    "Bech:5.8 Krogh:5.7 Lauritsen:5.6 Danielsen:5.5 Mathiesen:5.4 Andresen:5.3 Brandt:5.2 "
    "Winther:5.1 Toft:5 Ravn:4.9 Mathiasen:4.8 Dam:4.7 Holst:4.6 Nilsson:4.5 Lind:4.4 "
    "Berg:4.3 Schou:4.2 Overgaard:4.1 Kristoffersen:4 Nygaard:3.9 Klausen:3.8 Karlsen:3.7 "
    "Thygesen:3.6 Pallesen:3.5 Enevoldsen:3.4 Mølgaard:3.3 Hedegaard:3.2 Bak:3.2 Juhl:3.1 "
    "Jønsson:3 Koch:3 Mouritsen:2.9 Kaas:2.9 Hviid:2.8 Bisgaard:2.8 Svensson:2.7 Gravesen:2.7 "
    "Kofoed:2.6 Bisgård:1 Nguyen:4 Ahmed:3.5 Ali:3.3 Hussain:2.5 Khan:2.3 "
    "Yilmaz:2.2 Kaya:1.8 Demir:1.7 Kowalski:1.2 Nowak:1.5 Schultz:2 Wagner:1.8 Vinther:2.2 "
    "Smidt:2.4 Skou:2 Krog:2.1 Dal:1.6 Hanssen:0.8 Kjærgaard:3 Kærgaard:0.6"
)
_TAIL_HEADS = _words(
    "Bjerre Kirke Sand Lille Ny Vester Øster Nør Sønder Bro Eng Hede Skov Mølle Stor Fjord "
    "Bak Dal Sten Vind Lyng Birke Ege Aske Bøge Hvid Sort Rød Grøn Lang Kors Strand Holme "
    "Kilde Ager Mose Bund Bred Vad Tofte Ravns Ørne Ulv Lærke Svane Hjorte Rosen Lunde"
)
_TAIL_TAILS = _words(
    "gaard gård holm lund dal berg bæk by strup rup skov høj bjerg toft vang mark kær"
)
_RARE_PATRONYMS = _words(
    "Ebbe Tyge Bonde Asmus Lave Palle Troels Mads Hjalmar Esben Bent Ejnar Ib Gunnar Harald "
    "Valde Oluf Mogens Egon Aage Holger Svend Bendt Vagn Eskild Kresten Sakse Gorm Trane"
)

FEMALE = _weighted(
    "Anne:44 Kirsten:40 Mette:38 Hanne:37 Anna:33 Helle:33 Susanne:30 Lene:30 Maria:29 "
    "Marianne:28 Lone:27 Camilla:26 Pia:25 Louise:25 Charlotte:24 Inge:24 Bente:23 Tina:22 "
    "Karen:21 Gitte:20 Jette:20 Birgitte:19 Julie:19 Sofie:18 Ida:18 Emma:18 Rikke:17 "
    "Malene:17 Tove:16 Christina:16 Dorthe:15 Nina:15 Ane:12 Trine:14 Else:14 Lotte:13 "
    "Kamilla:5 Laura:13 Mia:12 Cecilie:11 Freja:11 Katrine:11 Line:11 Signe:10 Astrid:9 "
    "Caroline:9 Karoline:4 Sara:10 Sarah:6 Hannah:5 Christine:8 Kristine:6 Vibeke:8 Jytte:9 "
    "Grethe:8 Ellen:8 Ruth:6 Birthe:9 Annette:9 Jeanette:7 Maja:9 Maya:3 Josefine:7 Clara:7 "
    "Klara:4 Alberte:6 Agnes:5 Frida:6 Nanna:7 Stine:8 Maiken:4 Heidi:7 Winnie:5 Yvonne:4 "
    "Ivonne:0.5 Dorte:5 Benedikte:3 Sophie:6 Ellinor:2 Asta:3 Gudrun:1.5 Åse:1 Aase:1.5"
)
MALE = _weighted(
    "Peter:46 Jens:44 Michael:41 Lars:40 Henrik:39 Thomas:38 Søren:36 Jan:34 Christian:33 "
    "Martin:32 Niels:31 Anders:30 Morten:29 Jesper:28 Mads:27 Hans:26 Jørgen:25 Per:24 "
    "Rasmus:24 Ole:23 Mikkel:21 Kim:20 Frederik:19 Poul:18 Torben:17 Kasper:17 Brian:16 "
    "Erik:16 Nikolaj:15 Flemming:15 Bo:14 John:14 Carsten:14 Jacob:13 Jakob:12 Allan:12 "
    "Claus:12 Klaus:5 Lasse:11 Emil:11 Jonas:11 Kristian:10 Steen:10 Kenneth:10 Tommy:9 "
    "Simon:9 Daniel:9 Alexander:9 Mathias:9 Matthias:3 Oliver:8 William:8 Lucas:8 Lukas:3 "
    "Magnus:8 Victor:7 Viktor:4 Philip:5 Filip:4 Benjamin:6 Sebastian:7 Tobias:7 Johan:6 "
    "Carl:6 Karl:6 Christoffer:6 Kristoffer:4 Sune:4 Keld:5 Kjeld:4 Kaj:5 Kai:1 Ib:3 Finn:6 "
    "Bent:6 Leif:6 Aage:2 Svend:5 Knud:5 Preben:5 Palle:3 Villy:2 Asger:3 Bjørn:4 Øjvind:0.5"
)
# Rare given names, none in the lists above and none a respelling of one: each planted
# person carrying one has no namesake, so must be found (the recall cases).
RARE_GIVEN = _words(
    "Thorvald Gudmund Ingolf Halfdan Sigvald Ragnvald Eyvind Torbjørn Hjalmar Osvald Adolf "
    "Valborg Ingeborg Sigrid Gunhild Ragnhild Svanhild Thyra Dagmar Herdis Tordis Alfhild "
    "Ludvig Valdemar Edvard Arnold Evald Herluf Orla Regnar Gorm Tage Vagn Ejler Helmer "
    "Magnhild Bodil Oda Edel Olga Vilma Petra Rigmor Solvej Henny Erna Ketty Lilly"
)
CITIES = _weighted(
    "København:650 Aarhus:290 Odense:180 Aalborg:120 Esbjerg:72 Randers:63 Kolding:62 "
    "Horsens:60 Vejle:60 Roskilde:52 Herning:51 Hørsholm:25 Helsingør:47 Silkeborg:48 "
    "Næstved:44 Fredericia:41 Viborg:41 Køge:38 Holstebro:37 Taastrup:33 Slagelse:34 "
    "Hillerød:33 Sønderborg:28 Svendborg:27 Hjørring:25 Holbæk:29 Frederikshavn:23 "
    "Nørresundby:22 Ringsted:23 Haderslev:22 Skive:21 Nykøbing:16 Thisted:13 Ribe:8"
)
PLATFORMS = ("x", "bluesky", "mastodon", "instagram")


class _Pick:
    """Weighted draws from one list (cumulative weights once, bisection per draw)."""

    def __init__(self, names: list[str], weights: list[float]) -> None:
        self.names = names
        self.cum = list(accumulate(weights))

    def __call__(self, rng: random.Random, k: int = 1) -> list[str]:
        return rng.choices(self.names, cum_weights=self.cum, k=k)


def _tail_surnames() -> tuple[list[str], list[float]]:
    """Some 2,000 rarer surnames, Zipf-weighted, holding about a third of all people."""
    compounds = [h + t for h in _TAIL_HEADS for t in _TAIL_TAILS]
    patronyms = [p + "sen" for p in _RARE_PATRONYMS] + [p + "s" for p in _RARE_PATRONYMS]
    names = compounds + patronyms
    random.Random(17).shuffle(names)
    total = 1_900.0  # thousands of holders, against ~2,900 in SURNAMES
    raw = [1 / (rank + 10) ** 0.9 for rank in range(len(names))]
    scale = total / sum(raw)
    return names, [w * scale for w in raw]


@dataclass
class Generator:
    seed: int = 6

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        tail = _tail_surnames()
        self.surname = _Pick(SURNAMES[0] + tail[0], SURNAMES[1] + tail[1])
        self.female = _Pick(*FEMALE)
        self.male = _Pick(*MALE)
        self.city = _Pick(*CITIES)

    def names(self, n: int) -> list[str]:
        """n names, drawn in bulk (a million in a few seconds)."""
        rng = self.rng
        half = n // 2
        given = self.female(rng, half) + self.male(rng, n - half)
        rng.shuffle(given)
        female = set(FEMALE[0])
        surnames = iter(self.surname(rng, 2 * n))
        out = []
        for first in given:
            parts = [first]
            roll = rng.random()
            if roll < 0.12:  # two given names, some hyphenated
                second = (self.female if first in female else self.male)(rng)[0]
                if second != first:
                    parts = [f"{first}-{second}"] if roll < 0.04 else [first, second]
            if roll > 0.78:  # a middle name (22 %): in Denmark, mostly a surname
                parts.append(next(surnames))
            last = next(surnames)
            if rng.random() < 0.03:
                last = f"{last}-{self.surname(rng)[0]}"
            out.append(" ".join([*parts, last]))
        return out

    def name(self) -> str:
        return self.names(1)[0]

    def customers(self, n: int, prefix: str = "G") -> Iterator[dict[str, Any]]:
        rng = self.rng
        done = 0
        while done < n:
            size = min(20_000, n - done)
            cities = self.city(rng, size)
            for offset, name in enumerate(self.names(size)):
                i = done + offset
                yield {
                    "id": f"{prefix}-{i:07d}",
                    "name": name,
                    "email": f"kunde{i}@example.net" if rng.random() < 0.95 else None,
                    "city": cities[offset],
                    "handles": [f"{rng.choice(PLATFORMS)}:kunde{i}"] if rng.random() < 0.22 else [],
                }
            done += size


# ------------------------------------------------------------------ look-alikes

# Respellings Danes meet for one name ("Kristian"/"Christian", "Hansen"/"Hanssen",
# "Lauridsen"/"Lauritsen", "Vinther"/"Winther", "Andersen"/"Anderson"), on a lower-case part.
_RESPELL = tuple(
    (re.compile(pattern), spelling)
    for pattern, spelling in (
        (r"^ch", "k"),
        (r"^k(?=[ri])", "ch"),
        (r"^c", "k"),
        (r"^k(?=[alo])", "c"),
        (r"(?<=[aeiou])k(?=[aeiou])", "c"),
        (r"c(?=[aeiou])", "k"),
        (r"ph", "f"),
        (r"(?<=[aeiou])f(?=[aeiouy])", "ph"),
        (r"^th", "t"),
        (r"^t(?=[aeiouoø])", "th"),
        (r"(?<=.)th", "t"),
        (r"ss", "s"),
        (r"(?<=[nlr])s(?=en$)", "ss"),
        (r"([nltpk])\1", r"\1"),
        (r"(?<=[aeiou])([nt])(?=[aeiou])", r"\1\1"),
        (r"dsen$", "tsen"),
        (r"tsen$", "dsen"),
        (r"dersen$", "tersen"),
        (r"tersen$", "dersen"),
        (r"sen$", "son"),
        (r"iel", "il"),
        (r"aa", "å"),
        (r"å", "aa"),
        (r"ø", "oe"),
        (r"æ", "ae"),
        (r"aj$", "ai"),
        (r"ai$", "aj"),
        (r"w", "v"),
        (r"^v", "w"),
        (r"x", "ks"),
        (r"ks", "x"),
    )
)


def respell(part: str, rng: random.Random) -> str | None:
    """Another spelling of one name part, said alike; None if none applies."""
    lower = part.lower()
    options = list(_RESPELL)
    rng.shuffle(options)
    for pattern, spelling in options:
        new = pattern.sub(spelling, lower, count=1)
        if new != lower:
            return new[0].upper() + new[1:] if part[:1].isupper() else new
    return None


def look_alike(name: str, gen: Generator) -> tuple[str, str]:
    """A different person's name that a Danish reader would call the same, and how."""
    rng = gen.rng
    parts = name.replace("-", " - ").split()
    words = [i for i, p in enumerate(parts) if p != "-"]
    ways = ["respell", "respell", "middle", "second_surname", "second_given"]
    # a middle word that is not half of a hyphenated name
    middles = [i for i in words[1:-1] if parts[i - 1] != "-" and parts[i + 1] != "-"]
    if middles:
        ways.append("drop_middle")
    for way in rng.sample(ways, len(ways)):
        if way == "respell":
            for i in rng.sample(words, len(words)):
                new = respell(parts[i], rng)
                if new:
                    return " ".join([*parts[:i], new, *parts[i + 1 :]]).replace(" - ", "-"), way
        elif way == "middle":
            extra = gen.surname(rng)[0]
            return " ".join([*parts[:-1], extra, parts[-1]]).replace(" - ", "-"), way
        elif way == "second_surname":
            return f"{name}-{gen.surname(rng)[0]}", way
        elif way == "second_given":
            extra = (gen.female if parts[0] in FEMALE[0] else gen.male)(rng)[0]
            return " ".join([parts[0], extra, *parts[1:]]).replace(" - ", "-"), way
        elif way == "drop_middle":
            i = rng.choice(middles)
            return " ".join(parts[:i] + parts[i + 1 :]).replace(" - ", "-"), way
    raise AssertionError("unreachable: 'middle' always applies")


def as_written(name: str, rng: random.Random) -> str:
    """How the person might write their own name on a profile: ASCII Danish letters,
    lower case, or surname first with a comma; the spelling is theirs."""
    roll = rng.random()
    if roll < 0.25:
        return name.replace("ø", "oe").replace("æ", "ae").replace("å", "aa").replace("Ø", "Oe")
    if roll < 0.35:
        return name.lower()
    if roll < 0.45:
        *given, last = name.split()
        return f"{last}, {' '.join(given)}"
    return name


# ------------------------------------------------------------------ the done-when scenario

COMPLAINT = "@lynetbredbaand internettet er nede igen og routeren virker ikke"
COMMON_SURNAMES = SURNAMES[0][:10]


@dataclass
class Case:
    """One author to look up: `kind` is "lookalike" (two look-alikes planted in the
    author's city: nobody may be contacted), "unique" (a rare given name with a common
    surname, planted once: must be found) or "sampled" (a customer drawn at random)."""

    mention_id: str
    kind: str
    author: str  # customer id
    lookalikes: tuple[str, ...] = ()


@dataclass
class Scenario:
    size: int
    lookalike_cases: int = 200
    unique_cases: int = 100
    sampled_cases: int = 200
    seed: int = 6

    def __post_init__(self) -> None:
        self.gen = Generator(self.seed)
        self.cases: list[Case] = []
        self.mentions: list[dict[str, Any]] = []
        self.planted: list[dict[str, Any]] = []

    def customers(self) -> Iterator[dict[str, Any]]:
        """The generated directory, then the planted customers; cases and mentions are
        ready once this is exhausted."""
        rng = random.Random(self.seed + 1)
        wanted = self.lookalike_cases + self.sampled_cases
        picks = dict.fromkeys(rng.sample(range(self.size), wanted))
        kinds = ["lookalike"] * self.lookalike_cases + ["sampled"] * self.sampled_cases
        rng.shuffle(kinds)
        chosen = dict(zip(picks, kinds, strict=True))
        for i, customer in enumerate(self.gen.customers(self.size)):
            if i in chosen:
                self._case(chosen[i], customer, rng)
            yield customer
        rare = len(RARE_GIVEN)  # each rare given name once per common surname
        for k in range(min(self.unique_cases, rare * len(COMMON_SURNAMES))):
            person = {
                "id": f"U-{k:04d}",
                "name": f"{RARE_GIVEN[k % rare]} {COMMON_SURNAMES[k // rare]}",
                "email": f"unik{k}@example.net",
                "city": self.gen.city(rng)[0],
                "handles": [],
            }
            self._case("unique", person, rng)
            self.planted.append(person)
        yield from self.planted

    def _case(self, kind: str, author: dict[str, Any], rng: random.Random) -> None:
        number = len(self.cases)
        alikes: list[str] = []
        if kind == "lookalike":
            for j in range(2):
                name, _how = look_alike(author["name"], self.gen)
                alike = {
                    "id": f"L-{number:05d}-{j}",
                    "name": name,
                    "email": f"ligner{number}.{j}@example.net",
                    "city": author["city"],
                    "handles": [],
                }
                self.planted.append(alike)
                alikes.append(alike["id"])
        mention_id = f"m-{number:05d}"
        self.cases.append(Case(mention_id, kind, author["id"], tuple(alikes)))
        where = author["city"] if rng.random() < 0.7 else f"{author['city']}, Danmark"
        self.mentions.append(
            {
                "id": mention_id,
                "source": "x",
                "handle": f"bruger{number}x",
                "display_name": as_written(author["name"], rng),
                "location": where,
                "text": COMPLAINT,
            }
        )


@dataclass
class Outcome:
    """What `socialcare decide` did with a scenario's mentions."""

    lookalikes_contacted: int = 0  # a planted look-alike identified (contacted or not)
    lookalike_authors_identified: int = 0  # the author taken although look-alikes exist
    wrong_people: int = 0  # anyone identified who is not the author
    found: int = 0  # unique and sampled authors identified
    findable: int = 0  # unique authors, and sampled ones without a rival (see `judge`)

    @property
    def recall(self) -> float:
        return self.found / self.findable if self.findable else 0.0


def judge(cases: list[Case], decisions: dict[str, dict[str, Any]], rivals: set[str]) -> Outcome:
    """Score decide's output lines (by mention id) against the cases. `rivals` holds the
    sampled authors whose name has a look-alike in the directory anyway (they count for
    wrong people, not for recall)."""
    out = Outcome()
    for case in cases:
        row = decisions[case.mention_id]
        who = row["customer_id"] if row["match"] == "name" else None
        if who is not None and who != case.author:
            out.wrong_people += 1
        if case.kind == "lookalike":
            out.lookalikes_contacted += who in case.lookalikes
            out.lookalike_authors_identified += who == case.author
        elif case.kind == "unique" or case.author not in rivals:
            out.findable += 1
            out.found += who == case.author
    return out
