"""`socialcare redrive --queue mentions|outreach`: DLQ back to the source queue, with a
count and a progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from socialcare.errors import ConfigError
from socialcare_cli.deployed import stack_outputs
from socialcare_cli.redrive import redrive

OUTPUTS = {
    "mentions": ("MentionsQueueUrl", "MentionsDeadLetterQueueUrl"),
    "outreach": ("OutreachQueueUrl", "OutreachDeadLetterQueueUrl"),
}


def register(sub: Any) -> None:
    cmd = sub.add_parser("redrive", help="move messages from a DLQ back to its queue")
    cmd.add_argument("--queue", required=True, choices=sorted(OUTPUTS))
    cmd.add_argument("--stack", help="the deployed stack (queue URLs from its Outputs)")
    cmd.add_argument("--source-url", help="the source queue URL (instead of --stack)")
    cmd.add_argument("--dlq-url", help="the dead-letter queue URL (instead of --stack)")
    cmd.add_argument("--max", type=int, default=None, help="move at most this many")
    cmd.set_defaults(func=run)


def queue_urls(args: argparse.Namespace, cloudformation: Any = None) -> tuple[str, str]:
    if args.source_url and args.dlq_url:
        return str(args.source_url), str(args.dlq_url)
    if not args.stack:
        raise ConfigError("give --stack, or both --source-url and --dlq-url")
    source, dlq = stack_outputs(args.stack, OUTPUTS[args.queue], cloudformation)
    return source, dlq


def bar(moved: int, total: int) -> None:
    width = 30
    filled = width if total <= 0 else min(width, width * moved // total)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {moved}/{total}")
    sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    import boto3

    source_url, dlq_url = queue_urls(args)
    result = redrive(boto3.client("sqs"), dlq_url, source_url, progress=bar, max_messages=args.max)
    sys.stderr.write("\n")
    print(
        f"moved {result.moved} messages from the {args.queue} DLQ back to its queue "
        f"({result.method})"
        + (f"; {result.failed} not accepted, left on the DLQ" if result.failed else "")
    )
    return 0 if not result.failed else 1
