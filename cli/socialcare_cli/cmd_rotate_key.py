"""`socialcare rotate-key`: a new hash key that keeps the opt-out register.

Puts a new random value into the hash-key secret; Secrets Manager keeps the old one as
AWSPREVIOUS. The functions re-read the secret within five minutes, write under the new
key, look opt-outs and cooldowns up under both and re-key an opt-out when they meet it
(identity/policy.py). Only one previous key is kept, so a second rotation would orphan
what is still under the first one: it is refused while opt-outs remain under the
previous key, or while links signed with it can still be used (their 90 days). Prints
the new and the previous key's fingerprints as a JSON line.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcare.errors import ConfigError
from socialcare.hashing import Hasher
from socialcare.keyring import derived_secret, read_hash_keys
from socialcare.outreach.unsubscribe import make_token
from socialcare_cli.deployed import stack_outputs
from socialcare_cli.options import add_aws_options, aws_session

LINK_LIFETIME = timedelta(
    seconds=inspect.signature(make_token).parameters["ttl_s"].default
) + timedelta(days=1)


def register(sub: Any) -> None:
    cmd = sub.add_parser("rotate-key", help="rotate the hash key, keeping the opt-out register")
    cmd.add_argument("--stack", help="the deployed stack (secret and table from its Outputs)")
    cmd.add_argument("--secret-id", help="the hash-key secret (instead of --stack)")
    cmd.add_argument("--table", help="the state table (instead of --stack)")
    cmd.add_argument(
        "--force",
        action="store_true",
        help="rotate even if opt-outs or links under the previous key would be orphaned",
    )
    add_aws_options(cmd)
    cmd.set_defaults(func=run)


def targets(args: argparse.Namespace, cloudformation: Any = None) -> tuple[str, str]:
    if args.secret_id and args.table:
        return str(args.secret_id), str(args.table)
    if not args.stack:
        raise ConfigError("give --stack, or both --secret-id and --table")
    secret, table = stack_outputs(
        args.stack, ("HashKeySecretArn", "StateTableName"), cloudformation
    )
    return secret, table


def kid(root_key: str) -> str:
    """The fingerprint stored with an opt-out made under this root key (Hasher.kids)."""
    return Hasher(derived_secret(root_key, "hash")).kids[0]


def not_current(dynamodb: Any, table: str, current_kid: str) -> int:
    """Opt-outs not (yet) under the current key: under the previous one, or from before
    opt-outs carried a kid. Reads keys and kids only."""
    count = 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(pk, :optout)",
        "ProjectionExpression": "pk, kid",
        "ExpressionAttributeValues": {":optout": {"S": "optout#"}},
    }
    while True:
        page = dynamodb.scan(**kwargs)
        count += sum(1 for i in page["Items"] if i.get("kid", {}).get("S") != current_kid)
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def current_since(secrets: Any, secret_id: str) -> datetime | None:
    versions = secrets.list_secret_version_ids(SecretId=secret_id)["Versions"]
    dates = [v["CreatedDate"] for v in versions if "AWSCURRENT" in v.get("VersionStages", [])]
    return dates[0] if dates else None


def run(args: argparse.Namespace) -> int:
    session = aws_session(args)
    secret_id, table = targets(args, session.client("cloudformation"))
    secrets = session.client("secretsmanager")
    keys = read_hash_keys(secrets, secret_id)
    if len(keys) > 1 and not args.force:
        left = not_current(session.client("dynamodb"), table, kid(keys[0]))
        since = current_since(secrets, secret_id)
        links_until = since + LINK_LIFETIME if since else datetime.min.replace(tzinfo=UTC)
        if left or datetime.now(UTC) < links_until:
            why = []
            if left:
                why.append(f"{left} opt-outs are still under the previous key")
            if datetime.now(UTC) < links_until:
                why.append(f"opt-out links signed with it work until {links_until:%Y-%m-%d}")
            raise ConfigError(
                "; ".join(why) + ". Rotating again drops that key and with it those opt-outs "
                "(docs/operations.md, Rotating the hash key); --force does it anyway"
            )
    new = secrets.get_random_password(PasswordLength=48, ExcludePunctuation=True)["RandomPassword"]
    secrets.put_secret_value(SecretId=secret_id, SecretString=new)
    print(json.dumps({"rotated": True, "current_kid": kid(new), "previous_kid": kid(keys[0])}))
    print(
        f"socialcare rotate-key: hash key rotated: current {kid(new)}, previous {kid(keys[0])}. "
        "The functions use it within 5 minutes; opt-outs under the previous key are re-keyed "
        "as they are met.",
        file=sys.stderr,
    )
    return 0
