"""`socialcare crm-serve --kind KIND --data crm.json --port N`: a local stand-in for a CRM or
help desk, in the vendor's request and answer shapes, loaded with the JSON
`socialcare crm-import` takes (`{"token", "customers", "interactions"}`).

Kinds: `http` (the socialcare contract), `hubspot`, `zendesk`, `salesforce`, and the
composites `hubspot+zendesk`, `salesforce+zendesk`: both APIs on one port (their paths do
not collide), the interactions in the help desk only. The credential is the JSON's
`token`, presented the vendor's way (a HubSpot bearer token; Zendesk `<any agent
e-mail>/token` Basic; for Salesforce the client secret of the client-credentials flow,
which the stand-in exchanges for an access token). `--index-lag` delays new records in
search, as the vendors' indexes do; `--budget 100/10` answers 429 with Retry-After
beyond 100 requests in 10 s. Point `decide`, `crm-check` or the demo at the URL it prints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

from socialcare_cli import servers

KINDS = ("http", "hubspot", "zendesk", "salesforce", "hubspot+zendesk", "salesforce+zendesk")


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "crm-serve",
        help="serve a local stand-in for a CRM or help desk (HubSpot, Zendesk, ...)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument(
        "--kind",
        required=True,
        choices=KINDS,
        help="the vendor API(s) to serve: " + ", ".join(KINDS),
    )
    cmd.add_argument("--data", required=True, type=Path, help="customers and interactions (JSON)")
    cmd.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    cmd.add_argument("--index-lag", type=float, default=0.0, metavar="S", help="search index lag")
    cmd.add_argument("--budget", default="", metavar="N/S", help="N requests per S seconds")
    cmd.set_defaults(func=run)


def standin(
    kind: str,
    data: dict[str, Any],
    *,
    index_lag_s: float = 0.0,
    budget: tuple[int, float] | None = None,
) -> Any:
    """The stand-in of a kind, ready for `servers.serve`. Its `ids` map the data's
    customer ids to the CRM's own (decisions name the CRM's)."""
    from socialcare_cli.standin_hubspot import HubSpotStandIn
    from socialcare_cli.standin_salesforce import SalesforceStandIn
    from socialcare_cli.standin_zendesk import ZendeskStandIn

    if kind == "http":
        crm = servers.ContractCrm(data["customers"], data.get("interactions"), data["token"])
        crm.ids = {c["id"]: c["id"] for c in data["customers"]}  # type: ignore[attr-defined]
        return crm
    options: dict[str, Any] = {"index_lag_s": index_lag_s, "budget": budget}
    crms = {"hubspot": HubSpotStandIn, "salesforce": SalesforceStandIn}
    if kind in crms:
        return crms[kind](data, **options)
    if kind == "zendesk":
        return ZendeskStandIn(data, **options)
    crm_kind, _, desk = kind.partition("+")
    assert crm_kind in crms and desk == "zendesk", kind
    part = crms[crm_kind](data, interactions=False, **options)
    composite = servers.Composite(part, ZendeskStandIn(data, **options))
    composite.ids = part.ids  # type: ignore[attr-defined]
    return composite


def run(args: argparse.Namespace) -> int:
    data = json.loads(args.data.read_text())
    budget = None
    if args.budget:
        count, _, seconds = args.budget.partition("/")
        budget = (int(count), float(seconds or 1))
    route = standin(args.kind, data, index_lag_s=args.index_lag, budget=budget)
    with servers.serve(route, port=args.port) as url:
        for part in getattr(route, "parts", [route]):
            if hasattr(part, "base_url"):
                part.base_url = url  # absolute next_page links, as Zendesk gives
        print(f"{args.kind} stand-in on {url} ({len(data.get('customers', []))} customers)")
        print(f"  socialcare decide --crm-kind {args.kind} --crm {url} ...", file=sys.stderr)
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0
