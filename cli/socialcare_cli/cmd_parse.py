"""`socialcare parse --source NAME FILE`: the mentions in one recorded API response body.

The tool to run when a platform changes its payloads: it reads one response body (JSON;
`-` reads stdin) with the same code the fetch function uses and prints one JSON line per
post item: `post_id` and the other Mention fields, among them where the post sits
(`addressed`: directed at us; `stars`: a review's 1-5). Unknown keys are ignored; what the
payload does not carry is null. A recorded exchange (an object with `request`, `status`
and `body`) is read as its `body`; an annotated sample (with `_origin`, as in the shared
fixtures) as its one `payload`, `change` or `body`, else as itself without `_origin`.
Unreadable post items are counted and named (position, field) on stderr; stdout holds
only the JSON Lines. A file that is not a page of posts (not JSON, an error object, wrong
types) ends with a clear error and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from socialcare.errors import BadInputError
from socialcare_cli.jsonl import loads, read_text
from socialcare_cli.options import add_brand_option, load_cli_brand

EXCLUDED = {"fetch_id", "deferred"}  # per fetch and per wait: not what a payload says


def register(sub: Any) -> None:
    from socialcare.sources import PLATFORMS

    parser = sub.add_parser(
        "parse",
        help="print the mentions in a recorded API response body as JSON Lines",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument(
        "--source", required=True, choices=sorted(PLATFORMS), help="the platform that answered"
    )
    parser.add_argument("file", help="a response body (JSON), or - for stdin")
    add_brand_option(parser)
    parser.set_defaults(func=run)


def read_body(file: str) -> Any:
    text = read_text(file)
    try:
        body = loads(text)
    except ValueError as exc:
        start = text.lstrip()[:15].replace("\n", " ")
        raise BadInputError(f"{file} is not JSON ({exc}); it starts with {start!r}") from exc
    if isinstance(body, dict) and {"request", "status", "body"} <= body.keys():
        return body["body"]  # a recorded exchange: the response body is what the API said
    if isinstance(body, dict) and "_origin" in body:  # an annotated sample (shared fixtures)
        inner = [k for k in ("payload", "change", "body") if k in body]
        if len(inner) == 1:
            return body[inner[0]]
        return {k: v for k, v in body.items() if k != "_origin"}  # an annotated page
    return body


# A Meta notification names its platform: parsed as the other one it would read as empty.
WEBHOOK_OBJECTS = {"page": "facebook", "instagram": "instagram"}


def check_platform(source: str, body: Any) -> None:
    meant = WEBHOOK_OBJECTS.get(str(body.get("object"))) if isinstance(body, dict) else None
    if meant and meant != source:
        raise BadInputError(
            f"this is a {meant} notification (object={body['object']!r}); use --source {meant}"
        )


def run(args: argparse.Namespace) -> int:
    from socialcare.sources import parse_page

    body = read_body(args.file)
    check_platform(args.source, body)
    own = load_cli_brand(args.brand_file, "socialcare parse").own_accounts.get(args.source, [])
    mentions, invalid = parse_page(args.source, body, [a.lower().lstrip("@") for a in own])
    for mention in mentions:
        line = mention.model_dump(mode="json", exclude=EXCLUDED)
        print(json.dumps(line, ensure_ascii=False))
    print(
        f"socialcare parse: {len(mentions)} mentions, {invalid} unreadable post items "
        f"({args.source})",
        file=sys.stderr,
    )
    return 0
