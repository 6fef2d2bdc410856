"""`socialcare pilot add|remove|list|clear`: the pilot audience, without a redeploy.

While a stack has a pilot (template parameter PilotCustomers), only these customers are
e-mailed; everyone else is decided and audited `not_in_pilot`. The list holds keyed
hashes only: a customer is added by CRM id (`--customer`) or e-mail address (`--email`),
hashed here with the stack's hash key, so the ids never reach SSM.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Final, Literal

from socialcare.errors import ConfigError
from socialcare.hashing import Hasher
from socialcare.operations import pilot
from socialcare_cli import deployed
from socialcare_cli.options import add_aws_options, aws_session

# Standard parameters hold 4 KB (about 110 hashes); this tier grows past that by itself.
TIER: Final[Literal["Intelligent-Tiering"]] = "Intelligent-Tiering"


def register(sub: Any) -> None:
    cmd = sub.add_parser("pilot", help="add, remove or list the pilot audience's customers")
    cmd.add_argument(
        "action", choices=["add", "remove", "list", "clear"], help="what to do with the list"
    )
    where = cmd.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed stack (its PilotParameterName output)")
    where.add_argument("--parameter", help="the SSM parameter's name (PilotCustomers)")
    cmd.add_argument("--customer", action="append", default=[], help="a CRM customer id")
    cmd.add_argument("--email", action="append", default=[], help="an e-mail address")
    cmd.add_argument("--hash", action="append", default=[], help="remove: a hash from list")
    add_aws_options(cmd)
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    session = aws_session(args)
    ssm = session.client("ssm")
    stack = deployed.describe(args.stack, session.client("cloudformation")) if args.stack else None
    if args.stack and stack is None:
        raise ConfigError(f"no stack {args.stack} here (check the region: AWS_REGION)")
    name = args.parameter or (stack.outputs.get("PilotParameterName") if stack else None)
    if not name:
        raise ConfigError(
            f"stack {args.stack} has no pilot: deploy it with PilotCustomers=/{args.stack}/pilot"
        )
    current = pilot.parse(ssm.get_parameter(Name=name)["Parameter"]["Value"], name)
    if args.action == "list":
        print(describe(name, current))
        for value in current.customers:
            print(f"customer {value}")
        for value in current.emails:
            print(f"email    {value}")
        return 0
    if args.action == "clear":
        changed = pilot.PilotList()
    else:
        if not (args.customer or args.email or args.hash):
            raise ConfigError("name who: --customer ID and/or --email ADDRESS (or --hash)")
        hasher = Hasher(hash_key(stack, session))
        customers = [hasher.person(c.strip()) for c in args.customer]
        emails = [hasher.address(e) for e in args.email]
        changed = edit(current, args.action, customers, emails, args.hash)
    ssm.put_parameter(Name=name, Value=changed.to_json(), Type="String", Overwrite=True, Tier=TIER)
    print(f"{describe(name, changed)}; the functions read it within a minute")
    return 0


def edit(
    current: pilot.PilotList,
    action: str,
    customers: list[str],
    emails: list[str],
    hashes: list[str],
) -> pilot.PilotList:
    if action == "add":
        return pilot.PilotList(
            customers=sorted(set(current.customers) | set(customers)),
            emails=sorted(set(current.emails) | set(emails)),
        )
    gone_customers, gone_emails = {*customers, *hashes}, {*emails, *hashes}
    return pilot.PilotList(
        customers=[c for c in current.customers if c not in gone_customers],
        emails=[e for e in current.emails if e not in gone_emails],
    )


def hash_key(stack: deployed.DeployedStack | None, session: Any = None) -> str:
    """The key the functions hash with: SOCIALCARE_HASH_KEY, else the stack's secret."""
    from socialcare.wiring import derived_secret

    key = os.environ.get("SOCIALCARE_HASH_KEY", "")
    if not key:
        if stack is None:
            raise ConfigError("hashing needs the stack's key: use --stack or SOCIALCARE_HASH_KEY")
        import boto3

        secrets = (session or boto3).client("secretsmanager")
        key = secrets.get_secret_value(SecretId=stack.resource("HashKeySecret"))["SecretString"]
    return derived_secret(key, "hash")


def describe(name: str, audience: pilot.PilotList) -> str:
    people = f"{len(audience.customers)} customers, {len(audience.emails)} e-mail addresses"
    if not (audience.customers or audience.emails):
        people = "empty: nobody is e-mailed"
    return f"pilot {name}: {people}"
