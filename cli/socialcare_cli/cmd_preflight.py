"""`socialcare preflight [--config-env NAME] [--brand-file F]`: refuse to go live with demo
values. Prints one line per blocker, each saying how to fix it, and exits 1; exits 0 with
a summary when nothing blocks (docs/deploy.md, Go-live checklist)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from socialcare.brand import load_brand
from socialcare_cli import deployed, preflight, samconfig
from socialcare_cli.template import TEMPLATE, load_template


def register(sub: Any) -> None:
    cmd = sub.add_parser("preflight", help="check a deploy configuration is ready to go live")
    cmd.add_argument("--config-env", default="default", help="samconfig.toml environment")
    cmd.add_argument("--config-file", type=Path, help="default: samconfig.toml by the template")
    cmd.add_argument("--brand-file", type=Path, help="default: the brand.toml the layer ships")
    cmd.add_argument("--template", type=Path, default=TEMPLATE, help="default: template.yaml")
    cmd.add_argument("--no-aws", action="store_true", help="check the configuration only")
    cmd.add_argument("--region", help="AWS region (default: the samconfig environment's)")
    cmd.add_argument(
        "--profile", help="AWS profile from ~/.aws/config (default: $AWS_PROFILE, else default)"
    )
    cmd.set_defaults(func=run)


def shown(path: Path) -> str:
    """A path as short as it is clear: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def shipped_brand(template: Path, spec: dict[str, Any]) -> Path:
    """The brand.toml inside the layer's ContentUri: the one the functions read (one
    folder, built once per architecture)."""
    layers = [r for r in spec["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    layer = layers[0]["Properties"]["ContentUri"]
    return template.parent / layer / "socialcare" / "brand.toml"


def load_config(
    args: argparse.Namespace, report: preflight.Report
) -> tuple[preflight.Config, samconfig.DeployConfig]:
    spec = load_template(args.template)
    config = samconfig.read(
        args.config_file or args.template.parent / "samconfig.toml", args.config_env
    )
    declared = spec["Parameters"]
    for name in sorted(set(config.overrides) - set(declared)):
        report.block(name, f"not a parameter of {args.template.name}", f"fix {config.section}")
    params = {name: str(p.get("Default", "")) for name, p in declared.items()}
    params.update({k: v for k, v in config.overrides.items() if k in declared})
    shipped = shipped_brand(args.template, spec)
    brand_file = args.brand_file or shipped
    if brand_file.resolve() != shipped.resolve() and (
        not shipped.is_file() or shipped.read_bytes() != brand_file.read_bytes()
    ):
        report.block(
            "brand file",
            f"the layer ships {shown(shipped)}, not {shown(brand_file)}",
            f"cp {shown(brand_file)} {shown(shipped)}",
        )
    return preflight.Config(
        env=config.env,
        section=config.section,
        stack_name=config.stack_name,
        params=params,
        brand=load_brand(brand_file),
        brand_file=shown(brand_file),
    ), config


def aws_access(
    args: argparse.Namespace, config: samconfig.DeployConfig, report: preflight.Report
) -> preflight.Aws | None:
    if args.no_aws:
        report.fact("AWS", "not checked (--no-aws)")
        return None
    import boto3

    session = boto3.Session(
        profile_name=args.profile or None, region_name=args.region or config.region
    )
    if session.get_credentials() is None or not session.region_name:
        report.fact("AWS", "not checked: no credentials or region (SES, secrets, DKIM)")
        return None
    stack = deployed.describe(config.stack_name, session.client("cloudformation"))
    where = f"stack {config.stack_name} in {session.region_name}"
    if stack is None:
        report.fact("AWS", f"{where} not deployed yet: its SES identity and secrets come next")
    else:
        report.fact("AWS", f"{where}: SES account, identity, secrets and routes checked")
    return preflight.Aws(session, stack)


def run(args: argparse.Namespace) -> int:
    report = preflight.Report()
    cfg, config = load_config(args, report)
    aws = aws_access(args, config, report)
    checked = preflight.run(cfg, aws, os.environ.get("SOCIALCARE_CRM_TOKEN", ""))
    report.blockers += checked.blockers
    report.facts = checked.facts + report.facts
    print(f"socialcare preflight: {config.section}, stack {cfg.stack_name}")
    if report.blockers:
        for blocker in report.blockers:
            print(f"BLOCKED {blocker}")
        print(f"{len(report.blockers)} blockers: not ready to go live (docs/deploy.md)")
        return 1
    print("ready to go live:")
    for label, text in report.facts:
        print(f"  {label:<12} {text}")
    return 0
