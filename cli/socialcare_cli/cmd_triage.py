"""`socialcare triage [--brand NAME] [FILE]`: classify posts from JSON Lines, offline.

Reads `{"id": ..., "text": ..., "lang": optional, "addressed": optional, "stars":
optional}` per line from FILE (or standard input when FILE is absent or `-`); `post_id`
may stand for `id`, so `socialcare parse` output reads as it is. Writes one JSON line per
input, the id echoed as given: `{"id": ..., "language": "da",
"complaint": true, "score": 0.93, "topics": ["outage"], "reasons": ["problem cue: nede"]}`.
`addressed` (true/false, default false) says the post sits where it is directed at the
brand (a review on its page, a comment under its post), so it need not name it; `stars`
(1-5, default none) is a review's rating. A bad line gets an error on stderr naming its
line number and field; the other lines still go through, and the exit code is 1 at the
end. A summary goes to stderr at the end, and progress while it runs on a terminal.

It is the tool a company uses to backtest the classifier on an export of last month's
posts before turning outreach on. `--brand any` counts complaints addressed to any
company (generic data such as public benchmarks); `--brand NAME` overrides the
configured brand's name, keeping the rest of the brand file. Without `--model`, the
learned model shipped in the layer answers (as the function does without TRIAGE_MODEL);
`--model DIR` uses one trained with `socialcare train`, `--model rules` the cue rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import IO, Any, Literal

from socialcare_cli.jsonl import (
    LINE_ERRORS,
    FieldError,
    open_lines,
    placement,
    post_id,
    read_object,
    skipped,
)
from socialcare_cli.options import add_brand_option, load_cli_brand
from socialcare_cli.progress import tracked

PROG = "socialcare triage"

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
    add_brand_option(cmd)
    add_model_options(cmd)
    cmd.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    cmd.set_defaults(func=run)


def add_model_options(cmd: Any) -> None:
    """--model, shared with `socialcare decide`."""
    cmd.add_argument(
        "--model",
        metavar="DIR",
        default="",
        help="a directory from `socialcare train`, or 'rules' for the cue rules "
        "(default: the model shipped in the layer)",
    )


def named_brand(brand_name: str | None, brand_file: str | None = None) -> Any:
    """The brand file's brand; `brand_name` replaces its names and handles (competitors
    and the language stay). Validated anew: model_copy would keep the cached pattern."""
    from socialcare.brand import Brand

    brand = load_cli_brand(brand_file, PROG)
    if brand_name and brand_name.lower() != ANY:
        fields = brand.model_dump()
        fields.update(name=brand_name, aliases=[], products=[], own_accounts={})
        brand = Brand.model_validate(fields)
    return brand


def build_classifier(
    brand_name: str | None,
    brand_file: str | None = None,
    *,
    model: str = "",
    brand: Any = None,
) -> Any:
    """The classifier `model` selects (learned.select_classifier), for `brand` if given,
    else the named brand."""
    from socialcare.triage.learned import select_classifier

    mode: Literal["brand", "any"] = "any" if (brand_name or "").lower() == ANY else "brand"
    return select_classifier(brand or named_brand(brand_name, brand_file), model, mode=mode)


BATCH = 256  # lines classified together (see LearnedClassifier.classify_many)
# json.dumps with an option builds a new encoder per call: one for the whole run
_encode = json.JSONEncoder(ensure_ascii=False).encode


def triage_lines(
    lines: Iterable[str], classifier: Any, out: IO[str], err: IO[str]
) -> tuple[int, int]:
    """Classify each JSON line; returns (lines written, bad lines)."""
    written = bad = 0
    ids: list[Any] = []
    posts: list[tuple[str, str | None, bool, int | None]] = []
    for number, line in enumerate(tracked(lines, err, PROG), 1):
        if not line.strip():
            continue
        try:
            item = read_object(line)
            given_id = post_id(item)
            text = item.get("text")
            if not isinstance(text, str):
                raise FieldError("text", "must be a string")
            lang = item.get("lang")
            if lang is not None and not isinstance(lang, str):
                raise FieldError("lang", "must be a string")
            addressed, stars = placement(item)
        except LINE_ERRORS as exc:
            bad += 1
            skipped(err, PROG, number, exc)
            continue
        ids.append(given_id)
        posts.append((text, lang, addressed, stars))
        if len(posts) == BATCH:
            written += _write(ids, posts, classifier, out)
    return written + _write(ids, posts, classifier, out), bad


def _write(ids: list[Any], posts: list[Any], classifier: Any, out: IO[str]) -> int:
    """Classify and write a batch, then empty it; returns how many lines were written."""
    many = getattr(classifier, "classify_many", None)  # the cue rules have none
    verdicts = (
        many(posts)
        if many
        else [classifier.classify(t, h, addressed=a, stars=s) for t, h, a, s in posts]
    )
    out.writelines(
        _encode({"id": given_id, **verdict.model_dump()}) + "\n"
        for given_id, verdict in zip(ids, verdicts, strict=True)
    )
    done = len(posts)
    ids.clear()
    posts.clear()
    return done


def run(args: argparse.Namespace) -> int:
    classifier = build_classifier(args.brand, args.brand_file, model=args.model)
    lines = open_lines(args.file, sys.stderr, PROG)
    written, bad = triage_lines(lines, classifier, sys.stdout, sys.stderr)
    print(f"{PROG}: {written} posts classified; {bad} unreadable lines", file=sys.stderr)
    return 1 if bad else 0
