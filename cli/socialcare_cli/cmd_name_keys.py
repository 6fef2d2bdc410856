"""`socialcare name-keys [FILE]`: the name keys a CRM stores for the contract's name search.

Reads JSON Lines of customers (`{"id": ..., "name": ...}`; FILE, or standard input when
FILE is absent or "-") and writes one line per customer: `{"id": ..., "name_keys":
["1:hnsn+srn", ...]}`. A proxy in front of a CRM whose search is exact-only stores these
beside each customer (a column, a custom field) and answers `GET /customers?name_key=K`
with every customer holding K (docs/crm-api.yaml). socialcare asks for each key of an
author's name and scores the answers itself. Run it again for every new or renamed
customer, and for all after an upgrade that changes the version prefix.

`--tokens` adds `"tokens"`: the keys as the one text value a vendor CRM's custom field
holds (HubSpot, Zendesk, Salesforce: `socialcare_name_keys`), each key one plain word
that the vendor's search matches exactly (identity/vendor.py: key_token).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from socialcare_cli.jsonl import open_lines


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "name-keys",
        help="the name keys of customers, for a CRM behind the HTTP contract",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("file", nargs="?", default="-", help="JSON Lines of customers (- = stdin)")
    cmd.add_argument(
        "--tokens", action="store_true", help="also the value of a vendor CRM's name-keys field"
    )
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from socialcare.identity.blocking import KEYS_VERSION, name_keys
    from socialcare.identity.names import Name
    from socialcare.identity.vendor import key_tokens

    bad = 0
    for number, line in enumerate(open_lines(args.file, sys.stderr, "socialcare name-keys"), 1):
        if not line.strip():
            continue
        try:
            customer = json.loads(line)
            found = name_keys(Name.parse(customer["name"]))
            row = {"id": customer["id"], "name_keys": sorted(f"{KEYS_VERSION}:{k}" for k in found)}
            if args.tokens:
                row["tokens"] = key_tokens(found)
        except (ValueError, KeyError, TypeError, AttributeError):
            print(f"line {number}: not a customer with an id and a name; skipped", file=sys.stderr)
            bad += 1
            continue
        print(json.dumps(row, ensure_ascii=False))
    return 1 if bad else 0
