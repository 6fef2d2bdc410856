"""`socialcare redrive --queue mentions|outreach`: DLQ back to the source queue. Prints
the result as a JSON line, a progress bar on a terminal and a summary on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from socialcare.errors import ConfigError
from socialcare_cli.deployed import stack_outputs
from socialcare_cli.options import add_aws_options, aws_session
from socialcare_cli.progress import Bar
from socialcare_cli.redrive import redrive

OUTPUTS = {
    "mentions": ("MentionsQueueUrl", "MentionsDeadLetterQueueUrl"),
    "outreach": ("OutreachQueueUrl", "OutreachDeadLetterQueueUrl"),
}


def register(sub: Any) -> None:
    cmd = sub.add_parser("redrive", help="move messages from a DLQ back to its queue")
    cmd.add_argument(
        "--queue", required=True, choices=sorted(OUTPUTS), help="which DLQ to move back"
    )
    cmd.add_argument("--stack", help="the deployed stack (queue URLs from its Outputs)")
    cmd.add_argument("--source-url", help="the source queue URL (instead of --stack)")
    cmd.add_argument("--dlq-url", help="the dead-letter queue URL (instead of --stack)")
    cmd.add_argument("--max", type=int, default=None, help="move at most this many")
    add_aws_options(cmd)
    cmd.set_defaults(func=run)


def queue_urls(args: argparse.Namespace, cloudformation: Any = None) -> tuple[str, str]:
    if args.source_url and args.dlq_url:
        return str(args.source_url), str(args.dlq_url)
    if not args.stack:
        raise ConfigError("give --stack, or both --source-url and --dlq-url")
    source, dlq = stack_outputs(args.stack, OUTPUTS[args.queue], cloudformation)
    return source, dlq


def run(args: argparse.Namespace) -> int:
    session = aws_session(args)
    source_url, dlq_url = queue_urls(args, session.client("cloudformation"))
    bar = Bar(sys.stderr, "socialcare redrive")
    try:
        result = redrive(
            session.client("sqs"), dlq_url, source_url, progress=bar, max_messages=args.max
        )
    finally:
        bar.close()
    row = {"queue": args.queue, "moved": result.moved, "failed": result.failed}
    print(json.dumps({**row, "method": result.method}))
    print(
        f"socialcare redrive: moved {result.moved} messages from the {args.queue} DLQ back "
        f"to its queue ({result.method})"
        + (f"; {result.failed} not accepted, left on the DLQ" if result.failed else ""),
        file=sys.stderr,
    )
    return 0 if not result.failed else 1
