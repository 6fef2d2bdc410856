"""`socialcare incident on|off|status`: the incident switch, by hand.

During an outage the affected topics get a status page instead of individual e-mails:
triage skips them with reason `incident_mode` until the switch expires or is cleared.
Each action prints the switch as it now stands, one JSON line; `on` and `off` also say
so on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from socialcare.errors import ConfigError
from socialcare.models import TOPICS
from socialcare.operations import incident
from socialcare_cli.options import add_aws_options, aws_session, load_cli_brand


def register(sub: Any) -> None:
    cmd = sub.add_parser("incident", help="turn incident mode on or off, or show it")
    cmd.add_argument("action", choices=["on", "off", "status"], help="turn it on, off, or show it")
    where = cmd.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed stack's name (parameter /STACK/incident)")
    where.add_argument("--parameter", help="the SSM parameter's name")
    cmd.add_argument(
        "--topics",
        default="outage",
        help=f"comma-separated topics to hold back ({', '.join(TOPICS)})",
    )
    cmd.add_argument("--hours", type=float, default=4.0, help="expires after this (default 4)")
    cmd.add_argument("--status-url", default=None, help="default: status_url in brand.toml")
    add_aws_options(cmd)
    cmd.set_defaults(func=run)


def parameter_name(args: argparse.Namespace) -> str:
    return str(args.parameter or f"/{args.stack}/incident")


def state(name: str, switch: incident.Incident) -> dict[str, Any]:
    active = sorted(switch.active_topics(datetime.now(UTC)))
    return {
        "parameter": name,
        "active": bool(active),
        "topics": active,
        "expires_at": str(switch.expires_at) if active else None,
        "status_url": switch.status_url,
        "set_by": switch.set_by,
    }


def run(args: argparse.Namespace) -> int:
    ssm = aws_session(args).client("ssm")
    name = parameter_name(args)
    if args.action == "status":
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        print(json.dumps(state(name, incident.parse(value))))
        return 0
    if args.action == "off":
        ssm.put_parameter(Name=name, Value=incident.OFF, Type="String", Overwrite=True)
        print(json.dumps(state(name, incident.parse(incident.OFF))))
        print(f"socialcare incident: off ({name})", file=sys.stderr)
        return 0
    topics = [t.strip() for t in args.topics.split(",") if t.strip()]
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown or not topics:
        raise ConfigError(f"unknown topics {unknown}; choose from {', '.join(TOPICS)}")
    status_url = args.status_url or load_cli_brand(None, "socialcare incident").status_url
    declared = incident.declare(topics, args.hours, status_url, set_by="cli")
    # Added to what is active (e.g. topics the spike alarm turned on), not written over it.
    try:
        current = incident.parse(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        current = incident.parse(incident.OFF)  # a new parameter: nothing to add to
    merged = incident.merge(current, declared)
    if args.status_url:  # the operator's own status page wins
        merged = merged.model_copy(update={"status_url": args.status_url})
    ssm.put_parameter(Name=name, Value=merged.to_json(), Type="String", Overwrite=True)
    print(json.dumps(state(name, merged)))
    print(
        f"socialcare incident: on for {', '.join(merged.topics)} until "
        f"{merged.expires_at:%Y-%m-%d %H:%M} UTC ({name})",
        file=sys.stderr,
    )
    return 0
