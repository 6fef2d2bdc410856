"""`socialcare crm-import FILE --to sqlite:///path`: build a SQLite CRM directory.

FILE (or "-" for standard input) is read as a stream, so a million customers fit in a
small, constant amount of memory. Two shapes:

- JSON, shaped like the demo's sample CRM (cli/socialcare_cli/sample/crm.json):
  `{"customers": [Customer], "interactions": {"<customer id>": [Interaction]}}`;
- JSON Lines (`.jsonl`, `.ndjson`, or `--format jsonl`): one Customer per line, which may
  carry its own `"interactions": [Interaction]`.

An interaction may give `hours_ago` instead of `at`. Customers already in the directory
are replaced (same id); interactions are added. A new directory is built beside the
target and moved into place when complete; `--replace` builds a new one in place of an
existing file (also one of an older schema). Bad input stops the import with the
customer's position, never its content, and leaves the directory as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from socialcare import safejson
from socialcare.errors import BadInputError
from socialcare_cli.jsonl import open_lines

Interactions = dict[str, list[dict[str, Any]]]


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "crm-import",
        help="build or update a SQLite CRM directory from JSON or JSON Lines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("file", help="JSON shaped like sample/crm.json, or JSON Lines; - = stdin")
    cmd.add_argument("--to", required=True, metavar="URL", help="sqlite:///path of the directory")
    cmd.add_argument(
        "--format",
        choices=("auto", "json", "jsonl"),
        default="auto",
        help="auto: JSON Lines for .jsonl/.ndjson files, else JSON",
    )
    cmd.add_argument(
        "--replace", action="store_true", help="build a new directory in place of an existing one"
    )
    cmd.set_defaults(func=run)


@contextmanager
def _opened(file: str) -> Iterator[IO[bytes]]:
    if file == "-":
        yield sys.stdin.buffer
        return
    with Path(file).open("rb", buffering=1 << 20) as stream:  # OSError: main() reports it
        yield stream


def json_lines(lines: Iterable[str], interactions: Interactions) -> Iterator[dict[str, Any]]:
    """Customers from JSON Lines; each line's own interactions go into `interactions`."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            customer = safejson.loads(line)
        except ValueError as exc:  # also a line nested too deeply
            raise BadInputError(f"line {number} is not JSON") from exc
        if not isinstance(customer, dict):
            raise BadInputError(f"line {number} is not a JSON object")
        own = customer.pop("interactions", None)
        if own:
            interactions.setdefault(str(customer.get("id")), []).extend(own)
        yield customer


def json_document(stream: IO[bytes], interactions: Interactions) -> Iterator[dict[str, Any]]:
    """Customers from `{"customers": [...], "interactions": {...}}`, one at a time (ijson's
    event stream, so the document is never held whole)."""
    import ijson

    events = ijson.parse(stream, use_float=True)

    def build(prefix: str, event: str, value: Any) -> Any:
        builder = ijson.ObjectBuilder()
        builder.event(event, value)
        for where, kind, item in events:
            builder.event(kind, item)
            if where == prefix and kind in ("end_map", "end_array"):
                break
        return builder.value

    try:
        first = next(events, None)
        if not first or first[1] != "start_map":
            raise BadInputError("the file is not a JSON object with customers")
        for prefix, event, value in events:
            if prefix == "customers.item":
                if event != "start_map":
                    raise BadInputError("a customer is not a JSON object")
                yield build(prefix, event, value)
            elif prefix.startswith("interactions.") and event == "start_array":
                customer_id = prefix.removeprefix("interactions.")
                interactions.setdefault(customer_id, []).extend(build(prefix, event, value))
    except ijson.JSONError as exc:
        raise BadInputError(f"not valid JSON ({type(exc).__name__})") from exc


def _progress(err: IO[str]) -> Callable[[int], None] | None:
    """A count on stderr, rewritten in place, when stderr is a terminal."""
    if not err.isatty():
        return None
    started = time.monotonic()

    def show(count: int) -> None:
        elapsed = time.monotonic() - started
        print(f"\r{count:,} customers read ({elapsed:.0f} s)", end="", file=err, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    from socialcare.identity.sqlite_crm import build, path_of

    path = path_of(args.to)
    lines = args.format == "jsonl" or (
        args.format == "auto" and args.file.endswith((".jsonl", ".ndjson"))
    )
    interactions: Interactions = {}
    progress = _progress(sys.stderr)
    with contextlib.ExitStack() as stack:
        if lines:
            text = open_lines(args.file, sys.stderr, "socialcare crm-import")
            customers = json_lines(text, interactions)
        else:
            customers = json_document(stack.enter_context(_opened(args.file)), interactions)
        count = build(path, customers, interactions, replace=args.replace, progress=progress)
    if progress:
        print(file=sys.stderr)
    print(f"{count} customers in {path}", file=sys.stderr)
    return 0
