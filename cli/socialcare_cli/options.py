"""Options several commands share, read the same way everywhere: the AWS account and
region (`--region`, `--profile`), the brand file (`--brand-file`) and the e-mail language.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from socialcare.brand import Brand


def add_aws_options(cmd: Any) -> None:
    cmd.add_argument(
        "--region",
        help="AWS region of the stack (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's)",
    )
    cmd.add_argument(
        "--profile", help="AWS profile from ~/.aws/config (default: $AWS_PROFILE, else default)"
    )


def aws_session(args: argparse.Namespace) -> Any:
    """A boto3 session for `--profile`/`--region`; unset, the variables the AWS CLI reads
    apply: AWS_REGION (which boto3 alone ignores), then boto3's own chain (AWS_PROFILE,
    AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, the profile's region, instance roles)."""
    import boto3

    return boto3.Session(
        profile_name=getattr(args, "profile", None) or None,
        region_name=getattr(args, "region", None) or os.environ.get("AWS_REGION") or None,
    )


def add_brand_option(cmd: Any) -> None:
    cmd.add_argument(
        "--brand-file",
        metavar="TOML",
        help="the brand configuration (default: $SOCIALCARE_BRAND_FILE, else the bundled demo)",
    )


def is_demo(brand: Brand) -> bool:
    """The bundled brand is fictional: its website is under .example (RFC 2606), a name no
    real company can have, so an edited copy stops counting as the demo."""
    host = urlsplit(brand.website).hostname or ""
    return host == "example" or host.endswith(".example")


def load_cli_brand(path: str | None, prog: str) -> Brand:
    """The brand for a command; says so on stderr when it is the demo brand, so a dry run
    against the wrong brand cannot pass for a real one."""
    from socialcare.brand import load_brand
    from socialcare.errors import ConfigError
    from socialcare_cli.jsonl import cannot_read

    try:
        brand = load_brand(path)
    except ConfigError as exc:
        if isinstance(exc.__cause__, OSError):  # worded as every other file we cannot read
            named = path or os.environ.get("SOCIALCARE_BRAND_FILE", "brand.toml")
            raise cannot_read(named, exc.__cause__) from exc
        raise
    if is_demo(brand):
        print(
            f"{prog}: using the demo brand {brand.name!r}; give --brand-file or set "
            "SOCIALCARE_BRAND_FILE for yours",
            file=sys.stderr,
        )
    return brand


def email_languages() -> list[str]:
    from socialcare.triage.language import EMAIL_LANGUAGES

    return sorted(EMAIL_LANGUAGES)
