"""`socialcare crm-import FILE --to sqlite:///path`: build a SQLite CRM directory.

FILE is JSON shaped like the demo's sample CRM (cli/socialcare_cli/sample/crm.json):
`{"customers": [Customer], "interactions": {"<customer id>": [Interaction]}}`; an
interaction may give `hours_ago` instead of `at`. Customers already in the directory are
replaced (same id); interactions are added.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "crm-import",
        help="build or update a SQLite CRM directory from JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("file", help="JSON file shaped like sample/crm.json")
    cmd.add_argument("--to", required=True, metavar="URL", help="sqlite:///path of the directory")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from socialcare.errors import BadInputError
    from socialcare.identity.sqlite_crm import import_directory, path_of

    path = path_of(args.to)
    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(f"cannot read {args.file}: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise BadInputError(f"{args.file} is not a JSON object with customers")
    count = import_directory(path, data)
    print(f"{count} customers in {path}", file=sys.stderr)
    return 0
