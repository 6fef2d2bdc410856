"""`socialcare demo --out DIR`: the whole pipeline locally on built-in sample data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from socialcare_cli.cmd_crm_serve import KINDS


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="run the whole pipeline locally on sample data")
    demo.add_argument("--out", default="demo-out", help="where outbox/ and decisions go")
    demo.add_argument(
        "--mode",
        default="live",
        choices=["shadow", "review", "live"],
        help="the outreach mode the mailer runs in (default: live, against the emulator)",
    )
    demo.add_argument(
        "--incident-alarm",
        metavar="TOPIC",
        default=None,
        help="inject the complaint-spike alarm for TOPIC (e.g. outage) before triage",
    )
    demo.add_argument(
        "--platforms",
        action="store_true",
        help="also read X, Bluesky and Trustpilot sample pages through their real sources",
    )
    demo.add_argument(
        "--crm-kind",
        default="",
        choices=("", *KINDS),
        metavar="KIND",
        help=f"the sample CRM as a vendor's stand-in: {', '.join(KINDS)} (default: the contract)",
    )
    demo.add_argument(
        "--digest",
        action="store_true",
        help="also send the agents' shadow digest (ShadowDigest=daily) to DIR/digest.eml",
    )
    demo.add_argument(
        "--approve",
        metavar="all|N",
        default=None,
        type=_approve,
        help="with --mode review: follow the Approve link of all (or the first N) review "
        "e-mails as an agent would, then run the mailer again",
    )
    demo.set_defaults(func=run)


def _approve(value: str) -> str:
    if value != "all" and not (value.isdigit() and int(value) >= 0):
        raise argparse.ArgumentTypeError("all or a number")
    return value


def run(args: argparse.Namespace) -> int:
    from socialcare_cli.demo import print_funnel, run_demo

    if args.approve and args.mode != "review":
        print("socialcare demo: --approve needs --mode review", file=sys.stderr)
        return 2

    result = run_demo(
        Path(args.out),
        mode=args.mode,
        progress=lambda msg: print(msg, file=sys.stderr),
        incident_alarm=args.incident_alarm,
        platforms=args.platforms,
        crm_kind=args.crm_kind,
        digest=args.digest,
        approve=args.approve,
    )
    print_funnel(result)
    return 0
