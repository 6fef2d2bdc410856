"""The `socialcare` command: local tools around the deployed functions.

Each subcommand lives in its own module with `register(subparsers)`; add new ones to
COMMANDS.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from socialcare.errors import SocialcareError

COMMANDS = [
    "socialcare_cli.cmd_demo",
    "socialcare_cli.cmd_preview",
    "socialcare_cli.cmd_incident",
    "socialcare_cli.cmd_redrive",
    "socialcare_cli.cmd_rotate_key",
    "socialcare_cli.cmd_privacy",
    "socialcare_cli.cmd_decide",
    "socialcare_cli.cmd_crm_import",
    "socialcare_cli.cmd_crm_serve",
    "socialcare_cli.cmd_crm_check",
    "socialcare_cli.cmd_name_keys",
    "socialcare_cli.cmd_triage",
    "socialcare_cli.cmd_train",
    "socialcare_cli.cmd_parse",
    "socialcare_cli.cmd_pilot",
    "socialcare_cli.cmd_preflight",
    "socialcare_cli.cmd_rights",
    "socialcare_cli.cmd_cost",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialcare",
        description="socialcare: local tools (demo, checks, dry runs) for the SAM application",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


@contextlib.contextmanager
def logs_to_stderr() -> Iterator[None]:
    """The library's log lines (an unreadable post item, a retried CRM call) are
    diagnostics: a command's stdout holds only its output (JSON Lines, e-mails)."""
    from socialcare.observability import logger

    handlers = [
        h
        for h in logging.getLogger(logger.service).handlers
        if isinstance(h, logging.StreamHandler)
    ]
    before = [h.stream for h in handlers]
    for handler in handlers:
        handler.stream = sys.stderr  # not setStream: it would flush a stream maybe closed
    try:
        yield
    finally:
        for handler, stream in zip(handlers, before, strict=True):
            handler.stream = stream


def aws_problem(exc: BotoCoreError | ClientError) -> str:
    """What to do about the usual set-up mistakes, in the options' own words."""
    if isinstance(exc, NoRegionError):
        return "no region: give --region, or set AWS_REGION or a profile's region"
    if isinstance(exc, NoCredentialsError):
        return "no credentials: give --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID"
    if isinstance(exc, ProfileNotFound):
        return f"{exc} (--profile or AWS_PROFILE; profiles are in ~/.aws/config)"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with logs_to_stderr():
            return int(args.func(args))
    except SocialcareError as exc:
        print(f"socialcare {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:  # AWS said no, or could not be reached
        print(f"socialcare {args.command}: AWS: {aws_problem(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or directory the user named, a refused connection
        print(f"socialcare {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
