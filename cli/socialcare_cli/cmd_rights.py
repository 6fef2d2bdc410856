"""`socialcare optout | forget | export`: a person's requests, against the deployed stack.

- `optout --email X | --customer-id ID` adds them to the opt-out register by hand.
- `forget --email X | --customer-id ID` erases their cooldown keys, the mailer's
  idempotency records and their place in a pilot audience, and keeps their opt-out (an
  e-mail is looked up in the CRM).
- `export --email X | --customer-id ID` prints what is held about them, by hash: opt-outs,
  cooldown keys, idempotency records, pilot entries and the log lines that carry their
  hash.

Results go to stdout as JSON Lines, one per item; a summary to stderr. Every request is
written as one line, hashes only, to the stack's data-subject log (docs/dpo.md, *Rights*).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from socialcare.errors import ConfigError
from socialcare.hashing import Hasher
from socialcare.keyring import derived_secret, read_hash_keys
from socialcare_cli import rights
from socialcare_cli.deployed import describe, stack_log_groups, stack_outputs, stack_parameter
from socialcare_cli.options import add_aws_options, aws_session

ACTIONS: dict[str, tuple[str, Callable[[rights.Stack, rights.Subject], list[dict[str, Any]]]]] = {
    "optout": ("add a person to the opt-out register by hand", rights.opt_out),
    "forget": ("erase what is kept about a person, keeping their opt-out", rights.forget),
    "export": ("print what is held about a person, by hash", rights.export),
}


def register(sub: Any) -> None:
    for name, (summary, _) in ACTIONS.items():
        cmd = sub.add_parser(
            name,
            help=summary,
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        who = cmd.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", metavar="ADDRESS", help="the person's e-mail address")
        who.add_argument("--customer-id", metavar="ID", help="the person's CRM customer id")
        cmd.add_argument(
            "--stack", help="the deployed stack (table, key, logs and CRM from its Outputs)"
        )
        cmd.add_argument("--table", help="the state table (instead of --stack)")
        cmd.add_argument("--secret-id", help="the hash-key secret (instead of --stack)")
        cmd.add_argument(
            "--requests-log",
            metavar="GROUP",
            help="the data-subject log group, where the request is recorded (instead of --stack)",
        )
        if name != "optout":
            cmd.add_argument(
                "--log-group",
                action="append",
                default=[],
                metavar="GROUP",
                help="a log group to search for the person's hash (repeatable; with --stack: "
                "all of the stack's)",
            )
            cmd.add_argument(
                "--crm",
                metavar="URL",
                help="the CRM that finds the customer behind --email (default: the stack's "
                "CrmUrl; token from $SOCIALCARE_CRM_TOKEN or the stack's CRM token secret)",
            )
        add_aws_options(cmd)
        cmd.set_defaults(func=run)


def open_stack(args: argparse.Namespace, session: Any) -> rights.Stack:
    cfn = session.client("cloudformation")
    pilot = None
    if args.stack:
        table, secret, requests_log = stack_outputs(
            args.stack, ("StateTableName", "HashKeySecretArn", "DataSubjectLogGroupName"), cfn
        )
        log_groups = stack_log_groups(args.stack, cfn)
        stack = describe(args.stack, cfn)
        pilot = stack.outputs.get("PilotParameterName") if stack else None
    else:
        given = {"--table": args.table, "--secret-id": args.secret_id}
        given["--requests-log"] = args.requests_log
        missing = [option for option, value in given.items() if not value]
        if missing:
            raise ConfigError(f"give --stack, or {' and '.join(missing)}")
        table, secret, requests_log = args.table, args.secret_id, args.requests_log
        log_groups = [*getattr(args, "log_group", []), requests_log]
    keys = read_hash_keys(session.client("secretsmanager"), secret)
    previous = derived_secret(keys[1], "hash") if len(keys) > 1 else None
    return rights.Stack(
        dynamodb=session.client("dynamodb"),
        table=table,
        hasher=Hasher(derived_secret(keys[0], "hash"), previous),
        logs=session.client("logs"),
        log_groups=sorted(set(log_groups)),
        requests_log=requests_log,
        ssm=session.client("ssm"),
        pilot=pilot,
        operator=session.client("sts").get_caller_identity()["Arn"],
    )


def crm(args: argparse.Namespace, session: Any) -> Any:
    """The CRM that knows which customers an e-mail address belongs to."""
    from socialcare.identity.crm import crm_from_url

    cfn = session.client("cloudformation")
    url = args.crm or (stack_parameter(args.stack, "CrmUrl", cfn) if args.stack else None)
    if not url:
        raise ConfigError("give --crm: an e-mail address is looked up in the CRM")
    token = os.environ.get("SOCIALCARE_CRM_TOKEN", "")
    if not token and args.stack and url.startswith(("http://", "https://")):
        (secret,) = stack_outputs(args.stack, ("CrmTokenSecretArn",), cfn)
        token = session.client("secretsmanager").get_secret_value(SecretId=secret)
        token = token["SecretString"]
    return crm_from_url(url, token)


def subject_of(args: argparse.Namespace, session: Any, prog: str) -> rights.Subject:
    if args.customer_id:
        return rights.Subject([args.customer_id])
    if args.command == "optout":  # the address itself is registered; no CRM needed
        return rights.Subject([], args.email)
    customers = [c.id for c in crm(args, session).find_by_email(args.email)]
    if not customers:
        print(f"{prog}: the CRM has no customer with this address", file=sys.stderr)
    elif len(customers) > 1:
        print(f"{prog}: the CRM has {len(customers)} customers with this address", file=sys.stderr)
    return rights.Subject(customers, args.email)


def run(args: argparse.Namespace) -> int:
    prog = f"socialcare {args.command}"
    session = aws_session(args)
    stack = open_stack(args, session)
    subject = subject_of(args, session, prog)
    by = "customer_id" if args.customer_id else "email"
    rights.begin_request(stack, args.command)
    outcome = "failed"
    try:
        rows = ACTIONS[args.command][1](stack, subject)
        outcome = "done"
    finally:
        rights.record_request(stack, args.command, by, subject, outcome)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False, default=str))
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(stack.counts.items())) or "nothing"
    print(f"{prog}: {counts}; recorded in {stack.requests_log}", file=sys.stderr)
    if args.command == "forget":
        for note in forget_notes(stack):
            print(f"{prog}: {note}", file=sys.stderr)
    return 0


def forget_notes(stack: rights.Stack) -> list[str]:
    notes = [
        "log lines with the person's hash stay until their log group's retention ends them; "
        "seen-post keys name posts, not people, and expire with their TTL; the CRM's "
        "social_outreach interactions are erased in the CRM"
    ]
    if not stack.counts["kept optout"]:
        notes.append(
            "no opt-out is registered: a new complaint may e-mail this person again "
            "(socialcare optout registers one)"
        )
    return notes
