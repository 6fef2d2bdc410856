"""Every source parser under hostile pages built from the recorded-shape payloads in
tests/data/platforms: mutated, cut, wrong-typed, oversized, huge-number and deeply nested
answers are read or refused with SourcePayloadError, never anything else; one bad post
item never takes the good ones beside it down; and the sweep sources read such answers
over real HTTP from the platform stand-ins the way FetchMentions does."""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcare import safejson
from socialcare.errors import SourcePayloadError
from socialcare.hashing import Hasher
from socialcare.models import Mention
from socialcare.sources import PLATFORMS, parse_page
from socialcare.sources.sweep import digest
from socialcare_cli import servers
from tests.conftest import TESTS
from tests.fuzz.hostile import SCALARS, mutated, wire
from tests.fuzz.report import cases, run
from tests.integration.platform_cases import BY_NAME, CASES

DATA = TESTS / "data" / "platforms"
FETCH_TIMEOUT_S = 120  # FetchMentionsFunction
HASHER = Hasher("fuzz-hash-key-0123456789")
FIXTURES = {name: sorted((DATA / name).glob("*.json")) for name in PLATFORMS}


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def read(source: str, raw: bytes) -> tuple[list[Mention], int]:
    """What a fetch does with an answer body: JSON, then the platform's parser."""
    try:
        body = safejson.loads(raw)
    except ValueError as exc:
        raise SourcePayloadError(source, "not JSON") from exc
    return parse_page(source, body)


def onward(mentions: list[Mention]) -> None:
    """What happens next to every mention: queued as JSON, hashed, digested in a cursor."""
    for mention in mentions:
        Mention.model_validate_json(mention.model_dump_json())
        HASHER.mention(mention.key)
        digest(mention.post_id)


@pytest.mark.parametrize("source", sorted(PLATFORMS))
@settings(max_examples=cases(1))
@given(data=st.data())
def test_a_hostile_answer_is_read_or_refused_typed(source: str, data: st.DataObject) -> None:
    raw = data.draw(wire(load(data.draw(st.sampled_from(FIXTURES[source])))))
    out = run(f"parse {source}", FETCH_TIMEOUT_S, lambda: read(source, raw), (SourcePayloadError,))
    if not isinstance(out, BaseException):
        mentions, invalid = out
        assert invalid >= 0
        onward(mentions)


def items(source: str, page: Any) -> list[Any] | None:
    """The list of post items of a page, if it is one."""
    path = {
        "reddit": ("data", "children"),
        "bluesky": ("posts",),
        "trustpilot": ("reviews",),
        "google": ("reviews",),
    }
    node = page
    if source == "mastodon" and isinstance(page, dict):
        node = page.get("statuses")
    elif source != "mastodon":
        for key in path.get(source, ("data",)):
            node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, list) and node else None


LISTS = {s: [p for p in FIXTURES[s] if items(s, load(p))] for s in PLATFORMS}


@pytest.mark.parametrize("source", sorted(PLATFORMS))
@settings(max_examples=cases(0.5))
@given(data=st.data())
def test_one_bad_item_never_takes_its_page_down(source: str, data: st.DataObject) -> None:
    page = load(data.draw(st.sampled_from(LISTS[source])))
    listed = items(source, page)
    assert listed is not None
    index = data.draw(st.integers(0, len(listed) - 1))
    without = deepcopy(page)
    listed_without = items(source, without)
    assert listed_without is not None
    listed_without.pop(index)
    expected = len(parse_page(source, without)[0]) if listed_without else 0
    listed[index] = data.draw(mutated(listed[index]) | SCALARS)
    wired = safejson.loads(json.dumps(page))  # as it comes off the wire
    mentions, _ = run(f"item {source}", FETCH_TIMEOUT_S, lambda: parse_page(source, wired))
    assert len(mentions) >= expected, "a bad item took good ones down"
    onward(mentions)


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_the_sweep_reads_hostile_answers_over_http(name: str) -> None:
    case = BY_NAME[name]
    fake = case.fake([load(DATA / name / page) for page in case.pages])
    pages = [load(p) for p in FIXTURES[name] if "error" not in p.name]
    with servers.serve(fake) as url:
        source = case.source(url)

        @settings(max_examples=cases(0.25))
        @given(data=st.data())
        def answer(data: st.DataObject) -> None:
            raw = data.draw(wire(data.draw(st.sampled_from(pages))))
            fake.fail_next = [(200, {"Content-Type": "application/json"}, raw)]
            out = run(
                f"fetch {name} (HTTP)",
                FETCH_TIMEOUT_S,
                lambda: source.fetch_page(None),
                (SourcePayloadError,),
            )
            if not isinstance(out, BaseException):
                onward(out.mentions)
                json.loads(out.cursor or "null")  # a cursor the next run can read

        answer()
