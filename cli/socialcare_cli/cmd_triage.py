"""`socialcare triage [--brand NAME] [FILE]`: classify posts from JSON Lines, offline.

Reads `{"id": ..., "text": ..., "lang": optional, "addressed": optional, "stars":
optional}` per line from FILE (or standard input when FILE is absent or `-`) and writes
one JSON line per input, `id` echoed as given: `{"id": ..., "language": "da",
"complaint": true, "score": 0.93, "topics": ["outage"], "reasons": ["problem cue: nede"]}`.
`addressed` (true/false, default false) says the post sits where it is directed at the
brand (a review on its page, a comment under its post), so it need not name it; `stars`
(1-5, default none) is a review's rating. A bad line gets an error on stderr naming its
line number; the other lines still go through, and the exit code is 1 at the end.

It is the tool a company uses to backtest the classifier on an export of last month's
posts before turning outreach on. `--brand any` counts complaints addressed to any
company (generic data such as public benchmarks); `--brand NAME` overrides the
configured brand's name, keeping the rest of the brand file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import IO, Any

from socialcare import safejson
from socialcare_cli.jsonl import open_lines

ANY = "any"


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "triage",
        help="classify posts from JSON Lines (complaint?, language, topics)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument(
        "--brand",
        metavar="NAME",
        help="brand name to look for (default: the brand file's); 'any' = any company",
    )
    cmd.add_argument("--brand-file", metavar="TOML", help="brand configuration file")
    cmd.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    cmd.set_defaults(func=run)


def build_classifier(brand_name: str | None, brand_file: str | None = None) -> Any:
    from socialcare.brand import Brand, load_brand
    from socialcare.triage.classifier import RuleClassifier

    brand = load_brand(brand_file)
    if brand_name and brand_name.lower() == ANY:
        return RuleClassifier(brand, mode="any")
    if brand_name:
        # The given name replaces the configured names and handles; competitors and the
        # language stay. Validated anew: model_copy would keep the cached name pattern.
        fields = brand.model_dump()
        fields.update(name=brand_name, aliases=[], products=[], own_accounts={})
        brand = Brand.model_validate(fields)
    return RuleClassifier(brand)


def placement(item: dict[str, Any]) -> tuple[bool, int | None]:
    """The optional `addressed` and `stars` of an input line; absent or null is the
    default (lines written before these fields read as before)."""
    addressed = item.get("addressed")
    if addressed is not None and not isinstance(addressed, bool):
        raise ValueError('"addressed" must be true or false')
    stars = item.get("stars")
    if stars is not None and (
        isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5
    ):
        raise ValueError('"stars" must be a whole number from 1 to 5')
    return bool(addressed), stars


def triage_lines(
    lines: Iterable[str], classifier: Any, out: IO[str], err: IO[str]
) -> tuple[int, int]:
    """Classify each JSON line; returns (lines written, bad lines)."""
    written = bad = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = safejson.loads(line)
            if not isinstance(item, dict):
                raise ValueError("expected a JSON object")
            if "id" not in item:
                raise ValueError('missing "id"')
            text = item.get("text")
            if not isinstance(text, str):
                raise ValueError('"text" must be a string')
            lang = item.get("lang")
            if lang is not None and not isinstance(lang, str):
                raise ValueError('"lang" must be a string')
            addressed, stars = placement(item)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            bad += 1
            print(f"socialcare triage: line {number}: {exc}", file=err)
            continue
        verdict = classifier.classify(text, lang, addressed=addressed, stars=stars)
        out.write(json.dumps({"id": item["id"], **verdict.model_dump()}, ensure_ascii=False))
        out.write("\n")
        written += 1
    return written, bad


def run(args: argparse.Namespace) -> int:
    classifier = build_classifier(args.brand, args.brand_file)
    try:
        lines = open_lines(args.file, sys.stderr, "socialcare triage")
    except OSError as exc:
        print(f"socialcare triage: {exc}", file=sys.stderr)
        return 2
    _, bad = triage_lines(lines, classifier, sys.stdout, sys.stderr)
    return 1 if bad else 0
