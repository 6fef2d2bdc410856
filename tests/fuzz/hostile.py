"""Hostile inputs, built from the recorded-shape payloads: numbers no clock holds, text
that breaks encoders and headers, wrong types, deep and huge values, cut documents."""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from hypothesis import strategies as st

NUMBERS = (
    st.sampled_from(
        [1e308, -1e308, -1e20, 1e20, 1e400, float("nan"), -0.0, 10**40, -(10**40), 2**63, 2**64]
    )
    | st.sampled_from([-1, 0, 1, 9007199254740993, 1_700_000_000_000, 4_102_444_800])
    | st.integers()
    | st.floats()
)

SPECIAL_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\r\n",
        "a\r\nBcc: all@evil.example",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "\u202eevil\u202c",  # RTL override
        "\u200f\u200e\u200b",  # RTL/LTR marks, zero width space
        "\x00\x07\x1b[31m",
        "\ud83d",  # a lone surrogate: a cut emoji
        "cut \udc00 here",
        "ø" * 10_000,
        "a" * 10_000,
        "9" * 40,
        "-1e20",
        "1e308",
        "NaN",
        "0000-00-00T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-23:59",
        "2026-11-27T12:00:00.123456789123Z",
        "undisclosed-recipients:;",
        "a:b@c.dk;",
        "at://did:plc:x/app.bsky.feed.post/\ud800",
        "https://evil.example/\r\nX: y",
        "null",
    ]
)
# Any code point, lone surrogates (category Cs) included, which st.text leaves out.
CHARACTERS = st.characters() | st.characters(categories=["Cs"])
TEXT = SPECIAL_TEXT | st.text(CHARACTERS, max_size=40) | st.text(max_size=200)
WRONG_TYPES = st.sampled_from(
    [None, True, False, [], {}, [[]], {"": {}}, [None], {"id": None}]
).map(deepcopy)  # fresh containers: edits must not change what the next case draws


def deep(levels: int) -> Any:
    """Nested lists, built without recursion (json.dumps still handles a few hundred)."""
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


SCALARS = NUMBERS | TEXT | WRONG_TYPES | st.integers(50, 400).map(deep)


def paths(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a document, found without recursion."""
    found: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            found.append((node, key))
            if isinstance(value, dict | list) and value:
                stack.append(value)
    return found


@st.composite
def mutated(draw: st.DrawFn, doc: Any, max_edits: int = 3) -> Any:
    """`doc` with 1 to `max_edits` edits: a value replaced by a hostile one, a key deleted,
    a list made huge, a container turned into another type."""
    doc = deepcopy(doc)
    grown = False  # one growth per document: two compound (a 20 MB string in a list x200)
    for _ in range(draw(st.integers(1, max_edits))):
        where = paths(doc) if isinstance(doc, dict | list) else []
        if not where:
            return draw(SCALARS)
        node, key = draw(st.sampled_from(where))
        edit = draw(st.sampled_from(["replace", "replace", "delete", "grow", "retype"]))
        if edit == "grow" and grown:
            edit = "replace"
        grown = grown or edit == "grow"
        if edit == "delete" and isinstance(node, dict):
            del node[key]
        elif edit == "grow" and isinstance(node[key], list) and node[key]:
            node[key] = node[key] * draw(st.integers(2, 200))
        elif edit == "grow" and isinstance(node[key], str):
            node[key] = node[key] * draw(st.integers(2, 2000))
        elif edit == "retype":
            node[key] = draw(WRONG_TYPES)
        else:
            node[key] = draw(SCALARS)
    return doc


@st.composite
def wire(draw: st.DrawFn, doc: Any) -> bytes:
    """What a server could answer for `doc`: mutated, cut short, nested 100,000 deep, or
    bytes that are not UTF-8 at all. Lone surrogates go out as JSON escapes."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "cut", "deep", "bytes"]))
    if kind == "deep":
        levels = draw(st.integers(1_000, 100_000))
        return b'{"data": ' + b"[" * levels + b"]" * levels + b"}"
    if kind == "bytes":
        return draw(st.binary(max_size=2_000))
    text = json.dumps(draw(mutated(doc)) if kind == "mutated" else doc).encode()
    if kind == "cut":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    return text
