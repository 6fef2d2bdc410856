"""`socialcare crm-check --crm-kind KIND --crm URL`: a read-only smoke test of a CRM (and a
composite's help desk) before going live: the credential works, the custom properties or
fields socialcare reads exist, and a test contact the operator names is found once and
its conversations can be read. One line per check; nothing is written.

    SOCIALCARE_CRM_TOKEN=... socialcare crm-check --crm-kind hubspot \\
        --crm https://api.hubapi.com --email test.person@example.com

Exit code 0 when every check passed, 1 otherwise (each failure on its own line).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcare.errors import SocialcareError
from socialcare_cli import crm_args


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "crm-check",
        help="read-only smoke test of a CRM before going live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    crm_args.add(cmd)
    cmd.add_argument("--email", help="a test contact's e-mail address")
    cmd.add_argument("--handle", metavar="PLATFORM:HANDLE", help="a test contact's handle")
    cmd.add_argument("--name", help="a test contact's full name (the name-key search)")
    cmd.set_defaults(func=run)


def _parts(crm: Any) -> list[Any]:
    """The adapters behind the port: a composite's CRM and help desk, or the one."""
    return [crm.crm, crm.helpdesk] if hasattr(crm, "helpdesk") else [crm]


def checks(crm: Any, args: argparse.Namespace) -> Iterator[tuple[str, str | None]]:
    """(what was checked, the problem or None)."""
    for part in _parts(crm):
        if hasattr(part, "check"):
            yield from part.check()
    lookups: list[tuple[str, Callable[[], list[Any]]]] = []
    if args.email:
        lookups.append(("by e-mail", lambda: crm.find_by_email(args.email)))
    if args.handle:
        platform, _, handle = args.handle.partition(":")
        lookups.append(("by handle", lambda: crm.find_by_handle(platform, handle)))
    if args.name:
        lookups.append(("by name", lambda: crm.find_by_name(args.name, 2)))
    for how, lookup in lookups:
        try:
            found = lookup()
        except Exception as exc:  # CRM errors, TooManyCandidates: each check says why
            yield f"test contact {how}", f"{type(exc).__name__}: {exc}"
            continue
        if len(found) != 1:
            yield f"test contact {how}", f"found {len(found)} customers, expected 1"
            continue
        yield f"test contact {how} (id {found[0].id})", None
        try:
            crm.interactions(found[0].id, datetime.now(UTC) - timedelta(days=30))
            yield f"conversations of the test contact {how}", None
        except SocialcareError as exc:
            yield f"conversations of the test contact {how}", f"{type(exc).__name__}: {exc}"


def run(args: argparse.Namespace) -> int:
    crm = crm_args.build(args)
    failed = 0
    for what, problem in checks(crm, args):
        if problem is None:
            print(f"ok    {what}")
        else:
            failed += 1
            print(f"FAIL  {what}: {problem}")
    if not (args.email or args.handle or args.name):
        print("note  no test contact named (--email, --handle, --name): lookups not checked")
    print(f"{failed} failed", file=sys.stderr)
    return 1 if failed else 0
