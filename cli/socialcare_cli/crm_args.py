"""The CRM options the commands that talk to a CRM share (decide, crm-check): the same
kinds, URLs and credentials as the functions' settings (identity/crm.py)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from socialcare.identity.crm import KINDS


def add(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--crm",
        required=True,
        help="the CRM's URL: http(s)://... (the contract or a vendor's API) or sqlite:///path",
    )
    cmd.add_argument(
        "--crm-kind",
        choices=("", *KINDS),
        default=os.environ.get("CRM_KIND", ""),
        metavar="KIND",
        help=f"{', '.join(KINDS)} (default: $CRM_KIND, else chosen by the URL)",
    )
    cmd.add_argument(
        "--help-desk",
        default=os.environ.get("HELP_DESK_URL", ""),
        metavar="URL",
        help="a composite kind's help desk (default: the --crm URL serves both)",
    )
    cmd.add_argument(
        "--crm-options",
        default=os.environ.get("CRM_OPTIONS", ""),
        metavar="JSON",
        help='per-vendor options, {"hubspot": {...}} (default: $CRM_OPTIONS)',
    )
    cmd.add_argument("--timeout", type=float, default=5.0, help="CRM request timeout, seconds")


def build(args: argparse.Namespace) -> Any:
    """The CRM port the options name. Credentials: SOCIALCARE_CRM_TOKEN, and
    SOCIALCARE_HELPDESK_TOKEN for a composite's help desk (else the same token)."""
    from socialcare.identity.crm import CrmConfig, build_crm, parse_options

    return build_crm(
        CrmConfig(
            url=args.crm,
            kind=args.crm_kind,
            token=os.environ.get("SOCIALCARE_CRM_TOKEN", ""),
            help_desk_url=args.help_desk,
            help_desk_token=os.environ.get("SOCIALCARE_HELPDESK_TOKEN", ""),
            options=parse_options(args.crm_options),
            timeout_s=args.timeout,
            backoff_s=float(os.environ.get("HTTP_BACKOFF_S", "0.3")),  # as the functions read it
        )
    )
